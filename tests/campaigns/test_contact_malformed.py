"""Contact files with every malformation we could think of: each is either refused whole with a problem that says
what is wrong (and where), or its bad rows are reported with their reasons and the good rows imported."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import xlsxwriter
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.api.auth import Scope, create_key
from bot.campaigns import service
from bot.config import PathsSettings, Settings
from bot.contacts.errors import TableProblem
from bot.contacts.importer import ColumnMapping, CsvFormatError, parse_contacts
from bot.core.phones import PhoneNormalizer
from bot.storage.db import Database
from bot.storage.models import Contact
from bot.web import create_app

RU = PhoneNormalizer("RU")
NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)
GOOD = "+79161234567;Иван\n+79161234568;Пётр\n"


@dataclass(frozen=True)
class Refused:
    problem: TableProblem
    says: str  # in the message


@dataclass(frozen=True)
class Imported:
    phones: frozenset[str]
    errors: tuple[tuple[int, str], ...] = ()  # (row, part of the reason)
    names: tuple[tuple[str, str], ...] = ()  # (phone, its name as stored)


def _workbook(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    for n, row in enumerate(rows):
        sheet.write_row(n, 0, row)
    book.close()
    return out.getvalue()


def _with_declared_size(data: bytes, member: str, size: int) -> bytes:
    """The archive with `member`'s uncompressed size, in its local header and the central directory, set to
    `size`: a zip bomb that says what it unpacks to, or one that lies about it."""
    out, name = bytearray(data), member.encode()
    at = out.find(name)
    while at >= 0:
        if out[at - 30 : at - 26] == b"PK\x03\x04":
            struct.pack_into("<I", out, at - 30 + 22, size)
        if out[at - 46 : at - 42] == b"PK\x01\x02":
            struct.pack_into("<I", out, at - 46 + 24, size)
        at = out.find(name, at + 1)
    return bytes(out)


def _sheet_padded(pad: int) -> bytes:
    """A workbook whose sheet XML carries `pad` bytes of whitespace (compressing to almost nothing)."""
    src = zipfile.ZipFile(io.BytesIO(_workbook([["phone"], ["+79161234567"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<sheetData>", b"<sheetData>" + b" " * pad)
            archive.writestr(info.filename, content)
    return out.getvalue()


def _not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "a zip, not a workbook")
    return out.getvalue()


WIDE = 10_000
CASES = {
    "utf8 with BOM": (
        b"\xef\xbb\xbf" + f"phone;name\n{GOOD}".encode(),
        Imported(frozenset({"+79161234567", "+79161234568"}), names=(("+79161234567", "Иван"),)),
    ),
    "utf8 and windows-1251 lines mixed": (
        "phone;name\n+79161234567;Иван\n".encode() + "+79161234568;Пётр\n".encode("cp1251"),
        Imported(
            frozenset({"+79161234567", "+79161234568"}),
            names=(("+79161234567", "Иван"), ("+79161234568", "Пётр")),
        ),
    ),
    "NUL byte in a cell": (
        f"phone;name\n{GOOD}{'x' * 5000};y\n+79161234569;Ol\x00ga\n".encode(),
        Imported(
            frozenset({"+79161234567", "+79161234568"}),
            errors=((4, "not a phone number"), (5, "NUL character")),
        ),
    ),
    "NUL bytes throughout (binary)": (
        b"phone;name\n+79161234567;I\x00v\x00a\x00n\n",
        Refused(TableProblem.NOT_A_TABLE, "not a text file"),
    ),
    "UTF-16 (Excel's Unicode text)": (
        f"phone\tname\r\n{GOOD}".encode("utf-16"),
        Refused(TableProblem.NOT_A_TABLE, "UTF-16"),
    ),
    "a line of 300 000 characters": (
        f"phone;name\n{GOOD}+79161234569;{'a' * 300_000}\n".encode(),
        Refused(TableProblem.MALFORMED, "line 4: field larger than field limit"),
    ),
    "a quote opened and never closed": (
        'phone;name\n+79161234567;"Иван\n+79161234568;Пётр\n'.encode(),
        Refused(TableProblem.MALFORMED, "line 2: unexpected end of data"),
    ),
    "text after a closing quote": (
        f'phone;name\n{GOOD}+79161234569;"Ольга" Петровна\n'.encode(),
        Refused(TableProblem.MALFORMED, "line 4:"),
    ),
    "quotes inside an unquoted cell": (
        f'phone;name\n{GOOD}+79161234569;Ольга "Оля"\n'.encode(),
        Imported(
            frozenset({"+79161234567", "+79161234568", "+79161234569"}),
            names=(("+79161234569", 'Ольга "Оля"'),),
        ),
    ),
    f"{WIDE} columns": (
        (
            ";".join(["phone", *(f"v{i}" for i in range(WIDE))])
            + "\n"
            + ";".join(["+79161234567", *("x" * WIDE)])
            + "\n"
        ).encode(),
        Imported(frozenset({"+79161234567"})),
    ),
    f"a row of {WIDE} columns under a 2-column header": (
        (f"phone;name\n{GOOD}" + ";".join(["+79161234569", *("x" * WIDE)]) + "\n").encode(),
        Imported(
            frozenset({"+79161234567", "+79161234568"}),
            errors=((4, f"expected 2 columns, found {WIDE + 1}"),),
        ),
    ),
    "empty file": (b"", Refused(TableProblem.EMPTY, "empty")),
    "blank lines only": (b"\r\n\n  \n", Refused(TableProblem.EMPTY, "empty")),
    "only a header": (b"phone;name\n", Imported(frozenset())),
    "delimiters only": (b";;;\n;;;\n", Refused(TableProblem.NO_PHONE_COLUMN, "no phone column")),
    "old Mac line ends (CR only)": (
        GOOD.replace("\n", "\r").join(["phone;name\r", ""]).encode(),
        Imported(frozenset({"+79161234567", "+79161234568"})),
    ),
    "rows of the wrong width and a bad phone among good ones": (
        f"phone;name\n{GOOD}+79161234569\n+79161234570;a;b\nне номер;x\n".encode(),
        Imported(
            frozenset({"+79161234567", "+79161234568"}),
            errors=(
                (4, "expected 2 columns, found 1"),
                (5, "expected 2 columns, found 3"),
                (6, "not a phone number"),
            ),
        ),
    ),
    "XLSX signature, not a zip": (
        b"PK\x03\x04" + b"garbage" * 50,
        Refused(TableProblem.NOT_A_TABLE, "broken ZIP"),
    ),
    "a zip that is no workbook": (
        _not_a_workbook(),
        Refused(TableProblem.NOT_A_TABLE, "not a readable XLSX"),
    ),
    "zip bomb (says it unpacks to 4 GB)": (
        _with_declared_size(_sheet_padded(0), "xl/worksheets/sheet1.xml", 4_000_000_000),
        Refused(TableProblem.TOO_LARGE, "unpacks to"),
    ),
    "zip bomb lying about its size": (
        _with_declared_size(_sheet_padded(20_000_000), "xl/worksheets/sheet1.xml", 1000),
        Refused(TableProblem.NOT_A_TABLE, "larger than its declared"),
    ),
}


@pytest.mark.parametrize(("data", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_malformed_contact_file(data: bytes, expected: Refused | Imported) -> None:
    if isinstance(expected, Refused):
        with pytest.raises(CsvFormatError) as refused:
            parse_contacts(data, ColumnMapping(), RU)
        assert refused.value.problem is expected.problem
        assert expected.says in str(refused.value), str(refused.value)
        return
    contacts, report = parse_contacts(data, ColumnMapping(), RU)
    assert set(contacts) == expected.phones
    assert len(report.errors) == len(expected.errors), report.errors
    for error, (row, says) in zip(report.errors, expected.errors, strict=True):
        assert error.row == row and says in error.reason, error
    for phone, name in expected.names:
        assert contacts[phone]["name"] == name


def test_damaged_rows_never_reach_the_database(db: Database) -> None:
    """A NUL in a cell (which PostgreSQL cannot store) and mixed encodings, imported into a campaign."""
    with db.session() as session:
        campaign = service.create(
            session, service.CampaignSpec(name="c", script="reminder"), {"reminder"}, NOW
        ).id
    data = (
        f"phone;name;note\n+79161234567;Иван;{'a long note ' * 20}\n".encode()  # one NUL in 300 bytes is text
        + "+79161234568;Пётр;\n".encode("cp1251")
        + b"+79161234569;O\x00lga;\n"
    )
    report = service.import_contacts(db, campaign, data, ColumnMapping(), RU, NOW)
    assert report.created == 2 and [(e.row, e.reason) for e in report.errors] == [
        (4, "a NUL character in the name, a variable or the consent source (a damaged file?)")
    ]
    with db.session() as session:
        names = {
            c.phone: c.name for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign))
        }
    assert names == {"+79161234567": "Иван", "+79161234568": "Пётр"}


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory):
    """POST a file to a campaign's contacts as the dashboard and API clients do (multipart), over SQLite."""
    root = tmp_path_factory.mktemp("upload")
    (root / "dialogs").mkdir()
    (root / "dialogs" / "reminder.yml").write_text("steps: {}\n", encoding="utf-8")
    app = create_app(Settings(paths=PathsSettings(data_dir=root / "var", dialogs_dir=root / "dialogs")))
    with app.state.db.session() as session:
        headers = {"X-API-Key": create_key(session, "upload", [Scope.ADMIN], datetime.now(UTC))[1]}
    with TestClient(app, raise_server_exceptions=False) as client:

        def post(data: bytes):
            campaign = client.post(
                "/api/v1/campaigns", json={"name": "c", "script": "reminder"}, headers=headers
            )
            url = f"/api/v1/campaigns/{campaign.json()['id']}/contacts"
            return client.post(url, files={"file": ("contacts.csv", data)}, headers=headers)

        yield post
    app.state.db.dispose()


@pytest.mark.parametrize(("data", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_malformed_contact_file_uploaded(upload, data: bytes, expected: Refused | Imported) -> None:
    """The same files through the API: a 422 that says what is wrong, or the good rows imported and the bad
    ones listed; never a 500."""
    answer = upload(data)
    if isinstance(expected, Refused):
        assert answer.status_code == 422, answer.text
        assert expected.says in answer.json()["detail"][0]["msg"]
        return
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["created"] == len(expected.phones)
    got = [(error["row"], error["reason"]) for error in body["errors"]]
    assert len(got) == len(expected.errors), got
    for (row, reason), (want_row, says) in zip(got, expected.errors, strict=True):
        assert row == want_row and says in reason, (row, reason)
