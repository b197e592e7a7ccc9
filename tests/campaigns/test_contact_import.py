"""CSV import as Russian Excel exports it: encodings, delimiters, bad rows, duplicates, column mapping."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import select

from bot.campaigns import service
from bot.contacts import importer
from bot.contacts.importer import ColumnMapping, CsvFormatError, parse_contacts
from bot.contacts.phones import PhoneError, PhoneNormalizer
from bot.contacts.regions import SUBJECTS, region_zones
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
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name;amount\nIvan;10\n", "no phone column"),
        (b"\x00\x01\x02binary", "not a text file"),
        (b'name,"phone\nIvan,"8916', "no phone column"),
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
