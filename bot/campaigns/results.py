"""A campaign's results, one row per contact: attempts, the outcome and slots of the last call, when it was, and a
link to its recording — as CSV or XLSX for the people who work the list afterwards. Identifiers in the slots are
masked (`bot.privacy`), as in every export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.campaigns import service
from bot.contacts.xlsx import write_xlsx
from bot.privacy.records import redact_value
from bot.storage.models import Attempt, Call, Contact

COLUMNS = ("contact_id", "phone", "name", "state", "attempts", "outcome", "slots", "last_call", "recording")


class ResultFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ResultFormat.CSV: "text/csv; charset=utf-8",
    ResultFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def contact_results(session: Session, campaign_id: int, base_url: str) -> Iterator[list[Any]]:
    """Rows of COLUMNS in contact order; `base_url` (e.g. 'https://robot.example/') makes recording links."""
    service.get(session, campaign_id)
    last = (
        select(Attempt.contact_id, func.max(Attempt.id).label("attempt_id"))
        .where(Attempt.campaign_id == campaign_id)
        .group_by(Attempt.contact_id)
        .subquery()
    )
    rows = session.execute(
        select(Contact, Attempt, Call)
        .outerjoin(last, last.c.contact_id == Contact.id)
        .outerjoin(Attempt, Attempt.id == last.c.attempt_id)
        .outerjoin(Call, Call.attempt_id == Attempt.id)
        .where(Contact.campaign_id == campaign_id)
        .order_by(Contact.id)
        .execution_options(yield_per=1000)
    )
    root = base_url.rstrip("/")
    for contact, attempt, call in rows:
        recorded = call is not None and call.recording_path
        link = f"{root}/api/v1/calls/{quote(call.call_id, safe='')}/recording" if recorded else ""
        yield [
            contact.id,
            contact.phone,
            contact.name,
            contact.state,
            contact.attempts,
            ((call.outcome if call else "") or attempt.result) if attempt else "",
            json.dumps(redact_value(call.slots, None), ensure_ascii=False) if call and call.slots else "",
            (attempt.finished_at or attempt.started_at).isoformat(timespec="seconds") if attempt else "",
            link,
        ]


FREE_TEXT = (COLUMNS.index("name"), COLUMNS.index("slots"))  # written by contact lists and callers


def _defused(row: list[Any]) -> list[Any]:
    """Free text that a spreadsheet would start as a formula (= + - @) gets a leading apostrophe."""
    for index in FREE_TEXT:
        if str(row[index])[:1] in ("=", "+", "-", "@"):
            row[index] = "'" + row[index]
    return row


def results_csv(rows: Iterator[list[Any]]) -> Iterator[str]:
    """CSV lines (UTF-8 with BOM so that Excel reads the Cyrillic, `,`), the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_defused(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def results_xlsx(rows: Iterator[list[Any]]) -> bytes:
    """The workbook (text cells stay text, so nothing a caller said becomes a formula)."""
    return write_xlsx(list(COLUMNS), rows)
