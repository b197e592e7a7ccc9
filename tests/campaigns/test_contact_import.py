"""CSV import as Russian Excel exports it: encodings, delimiters, bad rows, duplicates, column mapping."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
import xlsxwriter
from sqlalchemy import select

from bot.campaigns import service
from bot.contacts import importer, xlsx
from bot.contacts.errors import TableProblem
from bot.contacts.importer import ColumnMapping, CsvFormatError, parse_contacts, read_table
from bot.contacts.regions import SUBJECTS, region_zones
from bot.contacts.upload_check import CampaignFacts, IssueKind, check_table
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.dashboard.contacts import suggest_mapping
from bot.storage.db import Database
from bot.storage.models import Contact

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)
RU = PhoneNormalizer("RU")


def test_phone_formats_normalise_to_e164_with_zones() -> None:
    for raw in ("8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "8-916-123-45-67", "+7(916)1234567"):
        assert RU.normalize(raw).e164 == "+79161234567"
    assert RU.normalize("8 383 212-34-56").timezones == ("Asia/Novosibirsk",)
    assert RU.normalize("+1 212 555 0100").timezones == ("America/New_York",)
    for bad in ("", "12345", "8 (000) 000-00-00", "телефон", "+7 916 123 45 67 89"):
        with pytest.raises(PhoneError):
            RU.normalize(bad)


def test_cached_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(5)
    numbers = [f"8{rng.randrange(3_000_000_000, 9_999_999_999)}" for _ in range(2000)]
    numbers += [f"+{cc}{rng.randrange(10**8, 10**10)}" for cc in (1, 44, 49, 380, 375) for _ in range(100)]
    fast = PhoneNormalizer("RU")
    for raw in numbers:
        parsed = phonenumbers.parse(raw, "RU")
        expected = (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(parsed)
            else None
        )
        try:
            got = fast.normalize(raw).e164
        except PhoneError:
            got = None
        assert got == expected, raw


def test_cp1251_semicolons_russian_headers_bad_rows_and_duplicates() -> None:
    text = (
        "ФИО;Телефон;Сумма;Часовой пояс\n"
        "Иванов Иван;8 (916) 123-45-67;1500;\n"
        "Петров Пётр;не знаю;200;\n"
        "Сидорова Анна;+7 383 212 34 56;300;МСК+4\n"
        "Лишний;8 916 000 00 01;1;2;3\n"
        "\n"
        "Иванов И.;+79161234567;1700;\n"
        "Кто-то;89161112233;5;Марс/Олимп\n"
    )
    contacts, report = parse_contacts(text.encode("cp1251"), ColumnMapping(), RU)
    assert report.rows == 6
    assert [(e.row, e.reason.split(":")[0]) for e in report.errors] == [
        (3, "not a phone number"),
        (5, "expected 4 columns, found 5"),
        (8, "unknown time zone 'Марс/Олимп'"),
    ]
    assert report.merged == 1
    assert contacts["+79161234567"]["name"] == "Иванов И."
    assert contacts["+79161234567"]["variables"] == {"Сумма": "1700"}
    assert contacts["+73832123456"]["timezones"] == "Etc/GMT-7"


def test_utf8_bom_commas_and_explicit_mapping() -> None:
    text = "\ufeffclient,msisdn,amount,due,zone\nJohn,+12125550100,10,2025-03-01,America/Chicago\n"
    mapping = ColumnMapping(phone="msisdn", name="client", timezone="zone", variables={"amount": "amount"})
    contacts, report = parse_contacts(text.encode("utf-8"), mapping, RU)
    assert not report.errors
    assert contacts["+12125550100"] == {
        "phone": "+12125550100",
        "name": "John",
        "timezones": "America/Chicago",
        "variables": {"amount": "10"},
        "consent_given_at": None,
        "consent_channel": "",
        "consent_source": "",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name;amount\nIvan;10\n", "no phone column"),
        (b"\x00\x01\x02binary", "not a text file"),
        ("телефон\n".encode("cp1251") + b"\x98\x98\n", "not a text file"),  # 0x98 is no Windows-1251 letter
        (b"phone\n" + bytes(range(1, 9)) * 20, "not a text file"),  # control characters, no NUL
        (b"PK\x03\x04 a broken archive", "not an XLSX file"),
        (b'name,"phone\nIvan,"8916', "malformed CSV at line 1"),  # a quote closed mid-field
    ],
)
def test_unusable_files_are_rejected_whole(data: bytes, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        parse_contacts(data, ColumnMapping(), RU)


def test_mapping_to_a_missing_column_is_an_error() -> None:
    with pytest.raises(CsvFormatError, match="no column 'tel'"):
        parse_contacts(b"phone\n89161234567\n", ColumnMapping(phone="tel"), RU)


def test_import_into_a_campaign_merges_with_existing_contacts(db: Database) -> None:
    with db.session() as session:
        campaign = service.create(
            session, service.CampaignSpec(name="c", script="reminder"), {"reminder"}, NOW
        ).id
    first = service.import_contacts(db, campaign, b"phone;sum\n89161234567;10\n", ColumnMapping(), RU, NOW)
    second = service.import_contacts(
        db, campaign, b"phone;sum;name\n+79161234567;20;Ivan\n89031112233;5;\n", ColumnMapping(), RU, NOW
    )
    assert (first.created, second.created, second.merged) == (1, 1, 1)
    with db.session() as session:
        rows = {c.phone: c for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign))}
    assert rows["+79161234567"].variables == {"sum": "20"}
    assert rows["+79161234567"].name == "Ivan"
    assert rows["+79031112233"].state == "pending"


def test_duplicates_across_pipelined_chunks_are_merged(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "CHUNK", 2)  # every two rows are parsed while the previous two are written
    with db.session() as session:
        campaign = service.create(
            session, service.CampaignSpec(name="c", script="reminder"), {"reminder"}, NOW
        ).id
    text = "phone;name;sum\n89161234567;A;1\n89031112233;B;2\n89260000001;C;3\n+79161234567;;4\n89031112233;Bee;\n"
    progress: list[tuple[int, int]] = []
    report = service.import_contacts(
        db,
        campaign,
        text.encode(),
        ColumnMapping(),
        RU,
        NOW,
        lambda done, total: progress.append((done, total)),
    )
    assert (report.rows, report.created, report.merged) == (5, 3, 2)
    assert progress[-1] == (5, 5)
    with db.session() as session:
        rows = {c.phone: (c.name, c.variables) for c in session.scalars(select(Contact))}
    assert rows == {
        "+79161234567": ("A", {"sum": "4"}),
        "+79031112233": ("Bee", {"sum": "2"}),
        "+79260000001": ("C", {"sum": "3"}),
    }


def test_region_column_gives_the_time_zone() -> None:
    text = (
        "телефон;регион;часовой пояс\n"
        "89161234567;Новосибирская обл.;\n"
        "89031112233;Респ. Саха (Якутия);\n"
        "89261112233;RU-KGD;UTC+5\n"
        "89851112233;Марс;\n"
    )
    contacts, report = parse_contacts(text.encode(), ColumnMapping(), RU)
    assert not report.errors
    zones = {phone: c["timezones"] for phone, c in contacts.items()}
    assert zones["+79161234567"] == "Asia/Novosibirsk"
    assert zones["+79031112233"] == "Asia/Yakutsk,Asia/Vladivostok,Asia/Srednekolymsk"
    assert zones["+79261112233"] == "Etc/GMT-5"  # an explicit time zone wins
    assert (
        zones["+79851112233"] == RU.normalize("89851112233").zone_list
    )  # unknown region: the number's zones
    assert "регион" not in contacts["+79161234567"]["variables"]


@pytest.mark.parametrize(
    ("region", "zones"),
    [
        ("Ханты-Мансийский АО — Югра", "Asia/Yekaterinburg"),
        ("Ямало-Ненецкий автономный округ", "Asia/Yekaterinburg"),
        ("Ненецкий АО", "Europe/Moscow"),
        ("Сахалинская область", "Asia/Sakhalin"),
        ("Республика Алтай", "Asia/Barnaul"),
        ("г. Москва", "Europe/Moscow"),
        ("Нижегородская область", "Europe/Moscow"),
        ("Камчатский край", "Asia/Kamchatka"),
        ("ru-nvs", "Asia/Novosibirsk"),
        ("Атлантида", None),
    ],
)
def test_region_names_and_codes(region: str, zones: str | None) -> None:
    assert region_zones(region) == zones


def test_every_region_zone_exists() -> None:
    for _code, zones, _stems in SUBJECTS:
        for name in zones.split(","):
            ZoneInfo(name)


def _workbook(
    rows: list[list], merge: str = "", formula: tuple[int, int, str, object] | None = None
) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    dated = book.add_format(
        {"num_format": "dd.mm.yyyy hh:mm"}
    )  # Excel keeps dates as numbers in a date format
    for index, row in enumerate(rows):
        for column, value in enumerate(row):
            sheet.write(index, column, value, dated if isinstance(value, datetime) else None)
    if formula:
        sheet.write_formula(*formula[:3], None, formula[3])
    if merge:
        sheet.merge_range(merge, "merged")
    book.close()
    return out.getvalue()


def test_xlsx_cells_read_as_text_a_person_sees_with_blank_rows_kept_as_line_numbers() -> None:
    data = _workbook(
        [
            ["Телефон", "ФИО", "Сумма", "Срок", None],
            [89161234567, "Иван", 1500, datetime(2026, 12, 20), None],
            [],
            ["+7 916 123 45 68", "Пётр", 99.5, datetime(2026, 12, 21, 10, 30)],
        ],
        formula=(3, 2, "=C2*2", 3000),
    )
    header, rows = read_table(data)
    assert header == ["Телефон", "ФИО", "Сумма", "Срок"]  # trailing empty header cells dropped
    assert rows == [
        ["89161234567", "Иван", "1500", "2026-12-20"],
        [],
        ["+7 916 123 45 68", "Пётр", "3000", "2026-12-21 10:30:00"],  # the formula's cached value
    ]
    contacts, report = parse_contacts(data, ColumnMapping(variables={"amount": "Сумма"}), RU)
    assert report.errors == [] and report.rows == 2
    assert contacts["+79161234568"]["variables"] == {"amount": "3000"}


@pytest.mark.parametrize(
    ("data", "problem", "detail"),
    [
        (_workbook([["phone"], ["+79161234567"]], merge="A3:C3"), TableProblem.MERGED_CELLS, "A3:C3"),
        (_workbook([[], ["phone"], ["+79161234567"]]), TableProblem.EMPTY, ""),
    ],
)
def test_xlsx_with_merged_cells_or_no_header_is_refused(
    data: bytes, problem: TableProblem, detail: str
) -> None:
    with pytest.raises(CsvFormatError) as refused:
        read_table(data)
    assert (refused.value.problem, refused.value.detail) == (problem, detail)


def test_an_xlsx_unpacking_past_the_limit_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _workbook([["phone"], *([f"+7916{n:07d}"] for n in range(2000))])
    monkeypatch.setattr(xlsx, "MAX_UNPACKED", 20_000)
    with pytest.raises(CsvFormatError, match="unpacks to") as refused:
        read_table(data)
    assert refused.value.problem is TableProblem.TOO_LARGE


def test_cell_names_as_a_spreadsheet_writes_them() -> None:
    assert [xlsx.cell_name(0, 0), xlsx.cell_name(3, 1), xlsx.cell_name(9, 25), xlsx.cell_name(0, 27)] == [
        "A1",
        "B4",
        "Z10",
        "AB1",
    ]


CHECKED = (
    "ФИО;Телефон;Сумма;Пояс\n"
    "Иван;8 916 123-45-67;100;\n"  # 2: already in the campaign
    "Пётр;не знаю;200;\n"  # 3: bad number
    "Анна;+7 383 212 34 56;;Марс/Олимп\n"  # 4: bad zone
    ";8 916 765-43-21;;\n"  # 5: no name, no amount
    "Иван И.;89161234567;150;\n"  # 6: repeats row 2
    "Олег;+7 916 000 11 22;300;МСК+1\n"  # 7: on the do-not-call list
    "Лишний;+7 916 000 11 23;1;2;3\n"  # 8: too many cells
    ";;;\n"  # 9: blank
).encode("cp1251")


def test_the_validation_report_names_every_row_and_reason() -> None:
    table = importer.open_table(CHECKED, ColumnMapping(timezone="Пояс", variables={"amount": "Сумма"}))
    facts = CampaignFacts(
        required=frozenset({"name", "amount", "company"}),
        campaign_variables=frozenset({"company"}),
        existing=frozenset({"+79161234567"}),
        blocked=frozenset({"+79160001122"}),
    )
    report = check_table(table, RU, facts)
    assert [(issue.row, issue.kind, issue.value) for issue in report.issues] == [
        (2, IssueKind.ALREADY_IN_CAMPAIGN, "+79161234567"),
        (3, IssueKind.BAD_PHONE, "не знаю"),
        (4, IssueKind.BAD_TIMEZONE, "Марс/Олимп"),
        (5, IssueKind.MISSING_VARIABLES, "amount, name"),
        (6, IssueKind.DUPLICATE, "2"),
        (7, IssueKind.DO_NOT_CALL, "+79160001122"),
        (8, IssueKind.WRONG_COLUMNS, "5/4"),
    ]
    assert (report.rows, report.imported) == (7, 4)
    # the importer agrees on what is skipped
    _, imported = parse_contacts(CHECKED, ColumnMapping(timezone="Пояс", variables={"amount": "Сумма"}), RU)
    assert sorted(error.row for error in imported.errors) == [3, 4, 8] and imported.rows == 7


def test_an_empty_mapping_field_means_no_such_column_not_a_guess() -> None:
    data = "ФИО;Телефон\nИван;89161234567\n".encode()
    guessed, _ = parse_contacts(data, ColumnMapping(), RU)
    unnamed, _ = parse_contacts(data, ColumnMapping(name="", variables={}), RU)
    assert guessed["+79161234567"]["name"] == "Иван" and unnamed["+79161234567"]["name"] == ""


def test_the_suggested_mapping_is_the_remembered_one_while_the_file_has_its_columns() -> None:
    header = ["Телефон", "ФИО", "amount", "Срок"]
    remembered = {
        "phone": "Телефон",
        "name": "",
        "timezone": "",
        "region": "",
        "variables": {"due_date": "Срок"},
    }
    assert suggest_mapping(header, ["amount", "due_date"], remembered) == remembered
    fresh = suggest_mapping(header, ["amount", "due_date"], {**remembered, "phone": "Номер"})
    assert fresh == {
        "phone": "Телефон",
        "name": "ФИО",
        "timezone": "",
        "region": "",
        "consent_at": "",
        "consent_channel": "",
        "consent_source": "",
        "variables": {"amount": "amount"},
    }
