"""The do-not-call list: global entries (campaign NULL) and per-campaign entries, checked at import and at dial
time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.contacts.importer import (
    ImportReport,
    Progress,
    RowError,
    find_phone_column,
    read_table,
)
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.crm.outbox import EventType, emit
from bot.privacy.person import HASH_MARK, phone_hash
from bot.storage.models import Contact, DoNotCall
from bot.storage.states import ContactState

PROGRESS_EVERY = 1000  # rows between progress reports of a file import


class Source(StrEnum):
    """Who put a number on the list."""

    DIALOG = "dialog"  # the callee asked during a call
    API = "api"
    CLI = "cli"
    IMPORT = "import"  # a do-not-call CSV file (through the API or the CLI)


class DoNotCallAdded(BaseModel):
    """Data of the `contact.do_not_call` event: a number was put on the do-not-call list."""

    phone: str = Field(description="E.164")
    campaign_id: int | None = Field(description="null: the global list")
    reason: str
    source: Source
    contact_ids: list[int] = Field(description="contacts marked `dnc` because of it")
    call_id: str = Field("", description="the call in which the person asked (source `dialog`)")
    said_at: datetime | None = Field(None, description="the moment in that call the person asked")


@dataclass(frozen=True)
class Listing:
    added: bool  # False: the number was already listed in that scope
    contact_ids: list[int]  # contacts marked `dnc` now


def add(
    session: Session,
    phone: str,
    now: datetime,
    campaign_id: int | None = None,
    reason: str = "",
    source: Source = Source.API,
    contact_ids: Sequence[int] = (),
    call_id: str = "",
    said_at: datetime | None = None,
) -> Listing:
    """List an E.164 number in one scope (global with `campaign_id` None) and mark its pending contacts `dnc`.
    A new entry emits `contact.do_not_call` in the same transaction; `contact_ids` names contacts the caller
    already marked (the one whose call asked), `call_id` and `said_at` the call and moment of an opt-out said in
    a call."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    listed = session.scalar(select(DoNotCall.id).where(DoNotCall.phone == phone, scope)) is not None
    if not listed:
        entry = DoNotCall(
            phone=phone,
            campaign_id=campaign_id,
            reason=reason,
            created_at=now,
            call_id=call_id,
            said_at=said_at,
        )
        session.add(entry)
        session.flush()
    blocked = block_contacts(session, phone, campaign_id)
    if not listed:
        data = DoNotCallAdded(
            phone=phone,
            campaign_id=campaign_id,
            reason=reason,
            source=source,
            contact_ids=sorted({*contact_ids, *blocked}),
            call_id=call_id,
            said_at=said_at,
        )
        # the event is stamped by the wall clock: its delivery window runs in real time, whatever clock `now` is
        emit(session, EventType.CONTACT_DO_NOT_CALL, data.model_dump(mode="json"))
    return Listing(added=not listed, contact_ids=blocked)


def opt_out_moment(lines: Sequence[dict[str, Any]], answered_at: datetime) -> datetime | None:
    """When the person asked not to be called, from a call's transcript lines ({at, speaker, text, intent}): the
    first caller line understood as `dont_call` (not the yes of a confirmation), else the last caller line, `at`
    seconds after `answered_at`; None when no caller line has a time."""
    said = [line for line in lines if line.get("speaker") == "caller"]
    chosen = next((line for line in said if line.get("intent") == "dont_call"), None)
    chosen = chosen or (said[-1] if said else None)
    if chosen is None or not isinstance(chosen.get("at"), int | float):
        return None
    return answered_at + timedelta(seconds=chosen["at"])


def remove(session: Session, phone: str, campaign_id: int | None = None) -> bool:
    """Remove a number from one scope; False when it was not listed there."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    return session.execute(delete(DoNotCall).where(DoNotCall.phone == phone, scope)).rowcount > 0


def block_contacts(session: Session, phone: str, campaign_id: int | None = None) -> list[int]:
    """Mark pending contacts with this number `dnc` (in one campaign, or in all with `campaign_id` None); returns
    their ids."""
    query = update(Contact).where(Contact.phone == phone, Contact.state == ContactState.PENDING)
    if campaign_id is not None:
        query = query.where(Contact.campaign_id == campaign_id)
    values = query.values(state=ContactState.DNC, note="do-not-call list").returning(Contact.id)
    return sorted(session.scalars(values.execution_options(synchronize_session=False)))


def block_listed(session: Session, campaign_id: int) -> set[str]:
    """Mark the campaign's pending contacts whose numbers are listed (globally or for it) `dnc`, as an import
    does before anything is dialled; returns their phones."""
    listed = select(DoNotCall.phone).where(
        or_(DoNotCall.campaign_id.is_(None), DoNotCall.campaign_id == campaign_id)
    )
    query = update(Contact).where(
        Contact.campaign_id == campaign_id, Contact.state == ContactState.PENDING, Contact.phone.in_(listed)
    )
    values = query.values(state=ContactState.DNC, note="do-not-call list").returning(Contact.phone)
    blocked = set(session.scalars(values.execution_options(synchronize_session=False)))
    hashed = set(session.scalars(listed.where(DoNotCall.phone.startswith(HASH_MARK))))
    if hashed:  # numbers of forgotten people, kept as hashes
        pending = select(Contact.phone).where(
            Contact.campaign_id == campaign_id, Contact.state == ContactState.PENDING
        )
        matches = [phone for phone in session.scalars(pending) if phone_hash(phone) in hashed]
        if matches:
            query = update(Contact).where(Contact.campaign_id == campaign_id, Contact.phone.in_(matches))
            session.execute(
                query.values(state=ContactState.DNC, note="do-not-call list").execution_options(
                    synchronize_session=False
                )
            )
            blocked |= set(matches)
    return blocked


def is_blocked(session: Session, phone: str, campaign_id: int) -> bool:
    """True when the number may not be called in this campaign (global or campaign entry; a forgotten person's
    entry is the number's hash)."""
    query = select(DoNotCall.id).where(
        DoNotCall.phone.in_((phone, phone_hash(phone))),
        or_(DoNotCall.campaign_id.is_(None), DoNotCall.campaign_id == campaign_id),
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
    source: Source = Source.IMPORT,
    progress: Progress | None = None,
) -> ImportReport:
    """Add every number of a CSV or XLSX file (same formats as contact lists) to one scope and block its pending
    contacts; `created` counts new entries (each emits `contact.do_not_call`), `merged` numbers already listed,
    bad rows are reported."""
    header, rows = read_table(data)
    column = find_phone_column(header, phone_column)
    report = ImportReport(rows=len(rows))
    for index, row in enumerate(rows):
        if progress and index % PROGRESS_EVERY == 0:
            progress(index, len(rows))
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
        if add(session, phone, now, campaign_id, "imported", source).added:
            report.created += 1
        else:
            report.merged += 1
    if progress:
        progress(len(rows), len(rows))
    return report
