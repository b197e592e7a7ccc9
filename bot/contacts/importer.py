"""Contact import: what Russian Excel exports (CSV in Windows-1251 or UTF-8, `;` or `,`, or XLSX), mapped to
contact fields.

Bad rows are reported (row number, reason) and skipped; the rest is imported. Duplicates, within the file or
against contacts already in the campaign, are merged: later non-empty values win, variables are combined.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.consent import Consent, ConsentChannel
from bot.contacts.errors import CsvFormatError, TableProblem
from bot.contacts.regions import region_zones
from bot.contacts.store import CONSENT_FIELDS, contact_ids, seen_phones, store_chunk
from bot.contacts.xlsx import is_xlsx, read_xlsx
from bot.core.phones import Phone, PhoneNormalizer

PHONE_HEADERS = ("phone", "телефон", "номер", "номер телефона", "msisdn", "number")
NAME_HEADERS = ("name", "имя", "фио", "full name", "клиент")
TIMEZONE_HEADERS = ("timezone", "time zone", "tz", "часовой пояс")
REGION_HEADERS = ("region", "регион", "область", "субъект", "субъект рф")
CONSENT_AT_HEADERS = ("consent_at", "consent given", "consent date", "согласие", "дата согласия")
CONSENT_CHANNEL_HEADERS = ("consent_channel", "consent channel", "канал согласия", "способ согласия")
CONSENT_SOURCE_HEADERS = ("consent_source", "consent source", "источник согласия")
CONSENT_HEADERS = {  # `ColumnMapping` field -> the headers it is found by
    "consent_at": CONSENT_AT_HEADERS,
    "consent_channel": CONSENT_CHANNEL_HEADERS,
    "consent_source": CONSENT_SOURCE_HEADERS,
}
# how a consent was given, as Russian lists write it
CHANNEL_WORDS = {
    "письменно": ConsentChannel.WRITTEN,
    "письменное": ConsentChannel.WRITTEN,
    "сайт": ConsentChannel.WEB,
    "приложение": ConsentChannel.APP,
    "смс": ConsentChannel.SMS,
    "звонок": ConsentChannel.CALL,
    "другое": ConsentChannel.OTHER,
}
CHUNK = 10_000  # rows parsed while the previous chunk is written

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ColumnMapping:
    """Which CSV columns hold what. Unset fields are guessed from common header names (Russian and English), an
    empty one means the file has no such column; with `variables` None every other column becomes a script
    variable under its header name."""

    phone: str | None = None
    name: str | None = None
    timezone: str | None = None
    region: str | None = None  # a Russian region (name or ISO code) gives the zone when no time zone is given
    variables: dict[str, str] | None = None  # variable name -> column header
    consent_at: str | None = None  # when the person consented (a date, or a date and time)
    consent_channel: str | None = None  # how (a `ConsentChannel`, or its Russian word)
    consent_source: str | None = None  # where the consent is kept


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line number in the file, the header being row 1
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    merged: int = 0
    errors: list[RowError] = field(default_factory=list)
    do_not_call: int = 0  # contacts this import found on the do-not-call list and stored as `dnc`
    blocked: dict[str, int] = field(default_factory=dict)  # contacts stored `blocked` per `BlockReason`


# A Cyrillic letter in UTF-8: pairs of bytes Windows-1251 text hardly has.
_UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251; a file of both (lists pasted together) line by line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        if _UTF8_CYRILLIC.search(data):
            text = "".join(_decode_line(line) for line in data.splitlines(keepends=True))
            return text.removeprefix("\ufeff")
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise CsvFormatError("not a text file", TableProblem.NOT_A_TABLE) from exc


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1251")


_CONTROL = {c for c in range(32) if chr(c) not in "\t\r\n"}


def read_table(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of an XLSX workbook's first sheet, or of a CSV file whose delimiter is `;` or `,`
    (whichever the header line has more of)."""
    if is_xlsx(data):
        return read_xlsx(data)
    head = data[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CsvFormatError(
            "UTF-16 text (Excel's 'Unicode text'): save the list as 'CSV UTF-8' or XLSX",
            TableProblem.NOT_A_TABLE,
        )
    if sum(byte in _CONTROL for byte in head) > len(head) // 100:
        raise CsvFormatError("not a text file", TableProblem.NOT_A_TABLE)
    text = decode(data)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise CsvFormatError("the file is empty or has no header line", TableProblem.EMPTY)
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1
    try:
        for row in reader:
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:  # an unclosed quote, a field over the size limit, text after a closing quote
        detail = f"line {start}: {exc}"
        raise CsvFormatError(f"malformed CSV at {detail}", TableProblem.MALFORMED, detail) from exc
    header = [h.strip() for h in rows[0]]
    return header, rows[1:]


def find_column(header: list[str], wanted: str | None, guesses: Iterable[str], what: str) -> int | None:
    lowered = [h.lower() for h in header]
    if wanted == "":
        return None
    if wanted is not None:
        if wanted.lower() not in lowered:
            raise CsvFormatError(
                f"no column {wanted!r} for {what}; columns: {', '.join(header)}",
                TableProblem.NO_COLUMN,
                wanted,
            )
        return lowered.index(wanted.lower())
    return next((lowered.index(g) for g in guesses if g in lowered), None)


def find_phone_column(header: list[str], wanted: str | None) -> int:
    """The index of the `wanted` column, else of one named like a phone; CsvFormatError when there is none."""
    column = find_column(header, wanted, PHONE_HEADERS, "the phone")
    if column is None:
        raise CsvFormatError(
            f"no phone column (name it 'phone' or 'телефон', or map it); columns: {header}",
            TableProblem.NO_PHONE_COLUMN,
            ", ".join(header),
        )
    return column


def _timezone(text: str) -> str:
    """An IANA zone name, or a fixed offset such as 'UTC+3', 'GMT-5', 'MSK+4' / 'МСК+4'."""
    value = text.strip()
    upper = value.upper().replace(" ", "")
    for prefix, base in (("UTC", 0), ("GMT", 0), ("MSK", 3), ("МСК", 3)):
        if upper.startswith(prefix):
            rest = upper[len(prefix) :] or "0"
            try:
                hours = base + int(rest.split(":")[0])
            except ValueError as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
            return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


@dataclass(frozen=True)
class ContactTable:
    """A CSV file read and its columns resolved: what remains is row-by-row work."""

    rows: list[list[str]]
    width: int
    phone_col: int
    name_col: int | None
    tz_col: int | None
    region_col: int | None
    var_cols: list[tuple[str, int]]
    consent_cols: tuple[int | None, int | None, int | None] = (None, None, None)  # when, how, source


def open_table(data: bytes, mapping: ColumnMapping) -> ContactTable:
    """Read the file and resolve the mapping; raises CsvFormatError when the file as a whole is unusable."""
    header, rows = read_table(data)
    phone_col = find_phone_column(header, mapping.phone)
    name_col = find_column(header, mapping.name, NAME_HEADERS, "the name")
    tz_col = find_column(header, mapping.timezone, TIMEZONE_HEADERS, "the time zone")
    region_col = find_column(header, mapping.region, REGION_HEADERS, "the region")
    consent_cols = (
        find_column(header, mapping.consent_at, CONSENT_AT_HEADERS, "the consent date"),
        find_column(header, mapping.consent_channel, CONSENT_CHANNEL_HEADERS, "the consent channel"),
        find_column(header, mapping.consent_source, CONSENT_SOURCE_HEADERS, "the consent source"),
    )
    if mapping.variables is None:
        used = {phone_col, name_col, tz_col, region_col, *consent_cols}
        var_cols = [(h, i) for i, h in enumerate(header) if i not in used and h]
    else:
        var_cols = [
            (var, find_column(header, col, (), f"variable {var}")) for var, col in mapping.variables.items()
        ]
    return ContactTable(rows, len(header), phone_col, name_col, tz_col, region_col, var_cols, consent_cols)


@dataclass(slots=True)  # not frozen: built once per CSV row, and frozen dataclasses are slow to build
class RawContact:
    """One contact as given: a CSV row's cells or a JSON object's fields, not yet validated."""

    phone: str
    name: str = ""
    timezone: str = ""  # IANA name or an offset ('UTC+3', 'МСК+4'); wins over the region
    region: str = ""  # a Russian region (name or ISO code); else the number's region gives the zones
    variables: dict[str, str] = field(default_factory=dict)
    consent_at: str = ""  # ISO date or date and time ('2025-03-01', '2025-03-01T10:00+03:00') or '01.03.2025'
    consent_channel: str = ""
    consent_source: str = ""


def _consent_time(text: str) -> datetime:
    """An ISO date or date-time, or a Russian 'DD.MM.YYYY'; without an offset it is read as UTC."""
    value = text.strip()
    try:
        parsed = datetime.strptime(value, "%d.%m.%Y") if "." in value else datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"consent date {value!r}: expected e.g. 2025-03-01, 01.03.2025 or an ISO time"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_consent(raw: RawContact) -> Consent | None:
    """The consent given with a contact, None when none is; ValueError when it is incomplete or unreadable."""
    if not raw.consent_at.strip():
        if raw.consent_channel.strip() or raw.consent_source.strip():
            raise ValueError("consent channel or source given without the consent date")
        return None
    word = raw.consent_channel.strip().lower()
    channel = CHANNEL_WORDS.get(word) or next((c for c in ConsentChannel if c.value == word), None)
    if channel is None:
        raise ValueError(
            f"consent channel {raw.consent_channel.strip()!r}: expected one of "
            f"{', '.join(ConsentChannel)} (or {', '.join(CHANNEL_WORDS)})"
        )
    return Consent(
        given_at=_consent_time(raw.consent_at), channel=channel, source=raw.consent_source.strip()[:200]
    )


def parse_contact(raw: RawContact, normalize: Callable[[str], Phone]) -> dict[str, Any]:
    """Validate and normalise one contact (the E.164 phone, its time zones); ValueError says what is wrong."""
    if "\x00" in raw.name or "\x00" in raw.consent_source or any("\x00" in v for v in raw.variables.values()):
        raise ValueError("a NUL character in the name, a variable or the consent source (a damaged file?)")
    phone = normalize(raw.phone)
    if raw.timezone.strip():
        zones = _timezone(raw.timezone)
    elif raw.region:
        zones = region_zones(raw.region) or phone.zone_list
    else:
        zones = phone.zone_list
    consent = parse_consent(raw)
    return {
        "phone": phone.e164,
        "name": raw.name.strip(),
        "timezones": zones,
        "variables": raw.variables,
        "consent_given_at": consent.given_at if consent else None,
        "consent_channel": consent.channel.value if consent else "",
        "consent_source": consent.source if consent else "",
    }


def merge_contact(contacts: dict[str, dict[str, Any]], contact: dict[str, Any]) -> bool:
    """Add a contact by phone; a duplicate merges into the earlier one (later non-empty values win, variables
    are combined). True when it was a duplicate."""
    existing = contacts.get(contact["phone"])
    if existing is None:
        contacts[contact["phone"]] = contact
        return False
    existing["name"] = contact["name"] or existing["name"]
    existing["timezones"] = contact["timezones"] or existing["timezones"]
    existing["variables"] = existing["variables"] | contact["variables"]
    if contact["consent_given_at"] is not None:
        existing.update({key: contact[key] for key in CONSENT_FIELDS})
    return True


def parse_rows(
    table: ContactTable, start: int, stop: int, normalizer: PhoneNormalizer, report: ImportReport
) -> dict[str, dict[str, Any]]:
    """Contacts of rows [start, stop) by E.164 phone, duplicates merged; bad rows go to `report`."""
    contacts: dict[str, dict[str, Any]] = {}
    normalize = normalizer.normalize
    width, phone_col, name_col, tz_col, region_col, var_cols = (
        table.width,
        table.phone_col,
        table.name_col,
        table.tz_col,
        table.region_col,
        table.var_cols,
    )
    consent_at_col, channel_col, source_col = table.consent_cols
    for index in range(start, min(stop, len(table.rows))):
        row = table.rows[index]
        if (len(row) != width or not row[phone_col].strip()) and not any(cell.strip() for cell in row):
            report.rows -= 1  # a blank line, or one of empty cells (';;;', as Excel writes blank rows)
            continue
        if len(row) != width:
            report.errors.append(RowError(index + 2, f"expected {width} columns, found {len(row)}"))
            continue
        raw = RawContact(
            phone=row[phone_col],
            name=row[name_col] if name_col is not None else "",
            timezone=row[tz_col] if tz_col is not None else "",
            region=row[region_col] if region_col is not None else "",
            variables={var: value for var, col in var_cols if (value := row[col].strip())},
            consent_at=row[consent_at_col] if consent_at_col is not None else "",
            consent_channel=row[channel_col] if channel_col is not None else "",
            consent_source=row[source_col] if source_col is not None else "",
        )
        try:
            contact = parse_contact(raw, normalize)
        except ValueError as exc:
            report.errors.append(RowError(index + 2, str(exc)))
            continue
        report.merged += merge_contact(contacts, contact)
    return contacts


def parse_contacts(
    data: bytes, mapping: ColumnMapping, normalizer: PhoneNormalizer
) -> tuple[dict[str, dict[str, Any]], ImportReport]:
    """All contacts of a file by E.164 phone (duplicates merged) and the report of bad rows."""
    table = open_table(data, mapping)
    report = ImportReport(rows=len(table.rows))
    return parse_rows(table, 0, len(table.rows), normalizer, report), report


def import_table(
    session: Session,
    campaign_id: int,
    table: ContactTable,
    normalizer: PhoneNormalizer,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Parse and store a table in the session's transaction. Each chunk is written by a worker thread while
    the next one is parsed (the database drivers release the GIL while they work)."""
    report = ImportReport(rows=len(table.rows))
    seen = seen_phones(session, campaign_id)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-import") as writer:
        writes = []
        for start in range(0, len(table.rows), CHUNK):
            if progress:
                progress(start, len(table.rows))
            contacts = parse_rows(table, start, start + CHUNK, normalizer, report)
            writes.append(writer.submit(store_chunk, session, campaign_id, contacts, now, seen))
        counts = [write.result() for write in writes]
    report.created += sum(created for created, _ in counts)
    report.merged += sum(merged for _, merged in counts)
    if progress:
        progress(len(table.rows), len(table.rows))
    return report


@dataclass(frozen=True)
class RecordResult:
    """What became of one record given to `import_records`."""

    index: int  # 0-based position in the records given
    status: Literal["created", "merged", "skipped"]
    phone: str = ""  # E.164, unless skipped
    contact_id: int | None = None
    reason: str = ""  # why it was skipped
    do_not_call: bool = False  # on the do-not-call list: this import stored it as `dnc`, it is never dialled
    blocked: str | None = None  # a `BlockReason`: why the dialer will not call it


def import_records(
    session: Session,
    campaign_id: int,
    records: Sequence[tuple[int, RawContact]],
    normalizer: PhoneNormalizer,
    now: datetime,
) -> list[RecordResult]:
    """Import contacts given one by one (the REST hook), validated as CSV rows are. Each record is `created`,
    `merged` into the contact with its phone (an earlier record or one already in the campaign: importing again
    is idempotent) or `skipped` with the reason. Results are in index order."""
    results: list[RecordResult] = []
    contacts: dict[str, dict[str, Any]] = {}
    accepted: list[tuple[int, str, bool]] = []  # index, phone, duplicate of an earlier record
    for index, raw in records:
        try:
            contact = parse_contact(raw, normalizer.normalize)
        except ValueError as exc:
            results.append(RecordResult(index, "skipped", reason=str(exc)))
            continue
        accepted.append((index, contact["phone"], merge_contact(contacts, contact)))
    known = contact_ids(session, campaign_id, list(contacts))
    store_contacts(session, campaign_id, dict(contacts), now, ImportReport())
    ids = known | contact_ids(session, campaign_id, [phone for phone in contacts if phone not in known])
    for index, phone, duplicate in accepted:
        status = "merged" if duplicate or phone in known else "created"
        results.append(RecordResult(index, status, phone, ids[phone]))
    return sorted(results, key=lambda result: result.index)


def store_contacts(
    session: Session,
    campaign_id: int,
    contacts: dict[str, dict[str, Any]],
    now: datetime,
    report: ImportReport,
) -> None:
    """Insert new contacts and merge into existing ones of the campaign (updating `report`)."""
    created, merged = store_chunk(session, campaign_id, contacts, now, seen_phones(session, campaign_id))
    report.created += created
    report.merged += merged
