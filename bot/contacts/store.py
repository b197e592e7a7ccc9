"""Contacts written to a campaign: new phones inserted in bulk, phones the campaign already has merged into its
contact (later non-empty values win, variables are combined, a consent given replaces the old one)."""

from __future__ import annotations

from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.models import Contact
from bot.storage.states import ContactState

BATCH = 5000  # phones per lookup query
ROWS_PER_INSERT = 100  # 1,100 parameters a statement: within SQLite's and PostgreSQL's limits
CONSENT_FIELDS = ("consent_given_at", "consent_channel", "consent_source")


def contact_ids(session: Session, campaign_id: int, phones: list[str]) -> dict[str, int]:
    """Ids of the campaign's contacts with these phones."""
    ids: dict[str, int] = {}
    for start in range(0, len(phones), BATCH):
        rows = session.execute(
            select(Contact.phone, Contact.id).where(
                Contact.campaign_id == campaign_id, Contact.phone.in_(phones[start : start + BATCH])
            )
        )
        ids.update((phone, contact_id) for phone, contact_id in rows)
    return ids


def seen_phones(session: Session, campaign_id: int) -> set[str] | None:
    """An empty set to track the phones an import stores when the campaign has no contacts yet (only those can
    be there already); None when every phone must be looked up in the database."""
    empty = session.scalar(select(Contact.id).where(Contact.campaign_id == campaign_id).limit(1)) is None
    return set() if empty else None


def store_chunk(
    session: Session,
    campaign_id: int,
    contacts: dict[str, dict[str, Any]],
    now: datetime,
    seen: set[str] | None,
) -> tuple[int, int]:
    """Store contacts (E.164 phone -> parsed contact); those already in the campaign are merged and taken out
    of `contacts`, phones inserted are added to `seen`. Returns (created, merged)."""
    lookup = list(contacts) if seen is None else [p for p in contacts if p in seen]
    merged = 0
    for start in range(0, len(lookup), BATCH):
        existing = session.execute(
            select(
                Contact.id,
                Contact.phone,
                Contact.name,
                Contact.timezones,
                Contact.variables,
                *(getattr(Contact, key) for key in CONSENT_FIELDS),
            ).where(Contact.campaign_id == campaign_id, Contact.phone.in_(lookup[start : start + BATCH]))
        ).all()
        updates = []
        for row in existing:
            new = contacts.pop(row.phone)
            consent = new if new["consent_given_at"] else row._mapping  # a consent given replaces the old one
            updates.append(
                {
                    "id": row.id,
                    "name": new["name"] or row.name,
                    "timezones": new["timezones"] or row.timezones,
                    "variables": row.variables | new["variables"],
                    **{key: consent[key] for key in CONSENT_FIELDS},
                }
            )
        if updates:
            session.execute(update(Contact), updates)
        merged += len(updates)
    if contacts:
        _insert_new(session, campaign_id, list(contacts.values()), now)
        if seen is not None:
            seen.update(contacts)
    return len(contacts), merged


_NEW_COLUMNS = (
    "campaign_id",
    "phone",
    "name",
    "timezones",
    "variables",
    "state",
    "attempts",
    "next_attempt_at",
    "consent_given_at",
    "consent_channel",
    "consent_source",
)


def _json_of_strings(values: dict[str, str]) -> str:
    """JSON of a str -> str mapping (what CSV cells give), several times faster than json.dumps."""
    return "{" + ", ".join(f"{encode_basestring(k)}: {encode_basestring(v)}" for k, v in values.items()) + "}"


def _insert_new(session: Session, campaign_id: int, fresh: list[dict[str, Any]], now: datetime) -> None:
    """Insert in phone order with multi-row VALUES through the driver: the ORM's per-row bookkeeping would cost
    more than the import itself. The time goes through the column's bind processor, as the ORM would store it."""
    connection = session.connection()
    dialect = connection.dialect
    table = Contact.__table__
    encode_time = table.c.next_attempt_at.type.bind_processor(dialect)
    due = encode_time(now) if encode_time else now
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    markers = [marker] * len(_NEW_COLUMNS)
    if dialect.name == "postgresql":
        markers[_NEW_COLUMNS.index("variables")] = "%s::json"
    values = f"({', '.join(markers)}, '', '')"
    head = f"INSERT INTO {table.name} ({', '.join(_NEW_COLUMNS)}, last_result, note) VALUES "
    rows = [
        (
            campaign_id,
            c["phone"],
            c["name"],
            c["timezones"],
            _json_of_strings(c["variables"]),
            ContactState.PENDING.value,
            0,
            due,
            encode_time(c["consent_given_at"])
            if encode_time and c["consent_given_at"]
            else c["consent_given_at"],
            c["consent_channel"],
            c["consent_source"],
        )
        for c in sorted(fresh, key=lambda c: c["phone"])
    ]
    full = len(rows) - len(rows) % ROWS_PER_INSERT
    if full:
        sql = head + ", ".join([values] * ROWS_PER_INSERT)
        connection.exec_driver_sql(
            sql,
            [
                tuple(v for row in rows[i : i + ROWS_PER_INSERT] for v in row)
                for i in range(0, full, ROWS_PER_INSERT)
            ],
        )
    if rows[full:]:
        connection.exec_driver_sql(head + values, rows[full:])
