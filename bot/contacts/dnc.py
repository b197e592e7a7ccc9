"""The do-not-call list: global entries (campaign NULL) and per-campaign entries, checked at dial time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.contacts.importer import (
    PHONE_HEADERS,
    CsvFormatError,
    ImportReport,
    RowError,
    find_column,
    read_table,
)
from bot.contacts.phones import PhoneError, PhoneNormalizer
from bot.storage.models import Contact, DoNotCall


def add(
    session: Session, phone: str, now: datetime, campaign_id: int | None = None, reason: str = ""
) -> bool:
    """Add an E.164 number; False when it was already listed in that scope."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    if session.scalar(select(DoNotCall.id).where(DoNotCall.phone == phone, scope)) is not None:
        return False
    session.add(DoNotCall(phone=phone, campaign_id=campaign_id, reason=reason, created_at=now))
    session.flush()
    return True


def remove(session: Session, phone: str, campaign_id: int | None = None) -> bool:
    """Remove a number from one scope; False when it was not listed there."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    return session.execute(delete(DoNotCall).where(DoNotCall.phone == phone, scope)).rowcount > 0


def block_contacts(session: Session, phone: str, campaign_id: int | None = None) -> int:
    """Mark pending contacts with this number `dnc` (in one campaign, or in all with `campaign_id` None)."""
    query = update(Contact).where(Contact.phone == phone, Contact.state == "pending")
    if campaign_id is not None:
        query = query.where(Contact.campaign_id == campaign_id)
    return session.execute(query.values(state="dnc", note="do-not-call list")).rowcount


def is_blocked(session: Session, phone: str, campaign_id: int) -> bool:
    """True when the number may not be called in this campaign (global or campaign entry)."""
    query = select(DoNotCall.id).where(
        DoNotCall.phone == phone, or_(DoNotCall.campaign_id.is_(None), DoNotCall.campaign_id == campaign_id)
    )
    return session.scalar(query.limit(1)) is not None


def entries(
    session: Session, campaign_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[DoNotCall]:
    """Listed numbers, newest first; with `campaign_id` only that campaign's entries."""
    query = select(DoNotCall).order_by(DoNotCall.id.desc()).limit(limit).offset(offset)
    if campaign_id is not None:
        query = query.where(DoNotCall.campaign_id == campaign_id)
    return list(session.scalars(query))


def import_csv(
    session: Session,
    data: bytes,
    normalizer: PhoneNormalizer,
    now: datetime,
    campaign_id: int | None = None,
    phone_column: str | None = None,
) -> ImportReport:
    """Add every number of a CSV file (same formats as contact lists) to one scope and block its pending
    contacts; `created` counts new entries, `merged` numbers already listed, bad rows are reported."""
    header, rows = read_table(data)
    column = find_column(header, phone_column, PHONE_HEADERS, "the phone")
    if column is None:
        raise CsvFormatError(f"no phone column (name it 'phone' or 'телефон', or map it); columns: {header}")
    report = ImportReport(rows=len(rows))
    for index, row in enumerate(rows):
        if column >= len(row) or not row[column].strip():
            report.rows -= not any(cell.strip() for cell in row)
            if any(cell.strip() for cell in row):
                report.errors.append(RowError(index + 2, "no phone number"))
            continue
        try:
            phone = normalizer.normalize(row[column]).e164
        except PhoneError as exc:
            report.errors.append(RowError(index + 2, str(exc)))
            continue
        if add(session, phone, now, campaign_id, "imported"):
            report.created += 1
            block_contacts(session, phone, campaign_id)
        else:
            report.merged += 1
    return report
