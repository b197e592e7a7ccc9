"""Compare openpyxl with python-calamine (reading) and XlsxWriter (writing) for contact lists and results.

Run in a venv holding all three: `python bench/xlsx/compare.py`. Prints what each reads of a sheet with a formula
and merged cells, and the time to write and read 10,000 rows of 6 columns.
"""

from __future__ import annotations

import io
import time

import openpyxl
import python_calamine
import xlsxwriter

ROWS = 10_000
HEADER = ["phone", "name", "amount", "due_date", "region", "note"]


def sample_rows(n: int) -> list[list[str]]:
    return [[f"+7916{i:07d}", f"Клиент {i}", str(1000 + i), "2026-12-20", "Москва", "—"] for i in range(n)]


def tricky_file() -> bytes:
    """A header, a formula without a cached value (as generators write it) and two merged cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "name", "amount"])
    sheet.append(["+79161234567", "Иван", 100])
    sheet.append(["+79161234568", "Пётр", "=C2*2"])
    sheet.append(["+79161234569", "Анна", 300])
    sheet.merge_cells("B4:C4")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(label: str, action) -> object:
    start = time.perf_counter()
    result = action()
    print(f"  {label:<48} {1000 * (time.perf_counter() - start):8.1f} ms")
    return result


def write_openpyxl(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_xlsxwriter(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    book.close()
    return out.getvalue()


def read_openpyxl(data: bytes) -> int:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    count = sum(1 for _ in book.active.iter_rows(values_only=True))
    book.close()
    return count


def read_calamine(data: bytes) -> int:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(1 for _ in book.get_sheet_by_index(0).iter_rows())


def main() -> None:
    data = tricky_file()
    print("a formula (=C2*2, no cached value) and merged B4:C4:")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    print("  openpyxl read_only, formulas:", [list(r) for r in book.active.iter_rows(values_only=True)][2])
    book.close()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    print(
        "  openpyxl read_only, cached values:", [list(r) for r in book.active.iter_rows(values_only=True)][2]
    )
    book.close()
    full = openpyxl.load_workbook(io.BytesIO(data))
    print("  openpyxl (not read_only) merged ranges:", [str(r) for r in full.active.merged_cells.ranges])
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    print("  calamine values:", sheet.to_python()[2], "merged:", sheet.merged_cell_ranges)

    rows = sample_rows(ROWS)
    print(f"{ROWS} rows x {len(HEADER)} columns:")
    by_openpyxl = timed("write openpyxl (write_only)", lambda: write_openpyxl(rows))
    by_xlsxwriter = timed("write XlsxWriter (constant_memory)", lambda: write_xlsxwriter(rows))
    print(f"  sizes: openpyxl {len(by_openpyxl)} B, XlsxWriter {len(by_xlsxwriter)} B")
    timed("read openpyxl (read_only)", lambda: read_openpyxl(by_openpyxl))
    timed("read calamine", lambda: read_calamine(by_openpyxl))


if __name__ == "__main__":
    main()
