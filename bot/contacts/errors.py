"""Errors of reading a contact list as a whole."""

from __future__ import annotations

from enum import StrEnum


class TableProblem(StrEnum):
    """Why a file as a whole is no contact list (the dashboard says each in the reader's language)."""

    NOT_A_TABLE = "not_a_table"  # binary, or text in no encoding we read
    EMPTY = "empty"
    MALFORMED = "malformed"
    NO_PHONE_COLUMN = "no_phone_column"
    NO_COLUMN = "no_column"  # a mapped column is not in the header
    MERGED_CELLS = "merged_cells"
    TOO_LARGE = "too_large"


class CsvFormatError(ValueError):
    """The file as a whole cannot be read as a contact list (no header, no phone column, not a table). `problem`
    says which; `detail` is the part a message names (columns, cells)."""

    def __init__(
        self, message: str, problem: TableProblem = TableProblem.MALFORMED, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.problem, self.detail = problem, detail
