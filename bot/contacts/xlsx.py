"""XLSX workbooks as tables of text: the first sheet of a contact list read (python-calamine), results written
(XlsxWriter). Formulas are read as the values Excel cached when it last saved the file; merged cells are refused
(a merged range holds one value for several cells, so which row or column it belongs to is a guess)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import python_calamine
import xlsxwriter

from bot.contacts.errors import CsvFormatError, TableProblem

MAGIC = b"PK\x03\x04"  # a ZIP archive, which every XLSX file is
MAX_UNPACKED = 400 * 1024 * 1024  # what the archive may expand to: a small file may unpack to gigabytes


def is_xlsx(data: bytes) -> bool:
    return data[:4] == MAGIC


def cell_name(row: int, column: int) -> str:
    """'B4' for the 0-based row 3, column 1."""
    letters, number = "", column + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def _text(value: Any) -> str:
    """A cell as the text a person sees: integral numbers without '.0' (phones typed as numbers), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows (as text, each as wide as the header) of the first sheet."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise CsvFormatError("not an XLSX file (a broken ZIP archive)", TableProblem.NOT_A_TABLE) from exc
    if unpacked > MAX_UNPACKED:
        raise CsvFormatError(
            f"the workbook unpacks to {unpacked} bytes (more than {MAX_UNPACKED})",
            TableProblem.TOO_LARGE,
            str(MAX_UNPACKED // (1024 * 1024)),
        )
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        merged = sheet.merged_cell_ranges or []
        values = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for every kind of broken workbook
        raise CsvFormatError(f"not a readable XLSX file: {exc}", TableProblem.NOT_A_TABLE) from exc
    if merged:
        ranges = ", ".join(f"{cell_name(*start)}:{cell_name(*end)}" for start, end in merged[:5])
        raise CsvFormatError(
            f"merged cells {ranges}: unmerge them and fill every cell", TableProblem.MERGED_CELLS, ranges
        )
    header = [_text(value) for value in values[0]] if values else []
    width = max((i + 1 for i, name in enumerate(header) if name), default=0)
    if not width:
        raise CsvFormatError("the sheet's first row (the header) is empty", TableProblem.EMPTY)
    body = []
    for values_row in values[1:]:
        row = [_text(value) for value in values_row[:width]]
        row += [""] * (width - len(row))
        body.append(row if any(row) else [])  # a blank row is skipped, as a blank CSV line
    return header[:width], body


def write_xlsx(header: list[str], rows: Iterable[list[Any]], sheet_name: str = "results") -> bytes:
    """A one-sheet workbook: a bold, frozen header and the rows (text stays text: no cell becomes a formula)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(sheet_name)
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, header, book.add_format({"bold": True}))
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    book.close()
    return out.getvalue()
