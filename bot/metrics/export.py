"""Metrics as CSV: rows of a table become columns (nested fields dotted), one object becomes metric,value lines.
Identifiers in text cells are masked (`bot.privacy`), except the call's own numbers (`ADDRESSES`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.privacy.redact import redact

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ADDRESSES = ("caller", "called", "phone")  # a call's own numbers, kept; other text has its identifiers masked


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}, "c": [x, y]}` → `{"a.b": 1, "c.0": x, "c.1": y}`."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
    return flat


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        if column not in ADDRESSES:
            value = redact(value, None).text
        return "'" + value if value.startswith(FORMULA_START) else value  # never a spreadsheet formula
    return str(value)


def table_csv(rows: Sequence[BaseModel], model: type[BaseModel]) -> str:
    """One CSV line per row; the columns are every field any row has, in first-seen order (without rows: the
    fields of `model`)."""
    flat = [flatten(row) for row in rows]
    columns = list(dict.fromkeys(key for row in flat for key in row)) or list(model.model_fields)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_cell(row.get(column), column) for column in columns])
    return out.getvalue()


def object_csv(item: BaseModel) -> str:
    """A `metric,value` line per (dotted) field of one object."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for key, value in flatten(item).items():
        writer.writerow([key, _cell(value, key)])
    return out.getvalue()
