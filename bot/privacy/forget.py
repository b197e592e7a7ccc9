"""`forget`: erase one person. What only describes them goes (recordings, transcripts' words, slots' texts, CRM
outbox events, callback tasks, Rasa conversations); what the counts need stays, cut loose from them: their contact,
attempt and call rows keep state, outcome, times and numeric answers, with the number replaced by one random token
(`anon-…`, the same in all their rows, so per-person counts stay right). A do-not-call entry stays as the number's
hash, so the opt-out is still honoured. One audit entry names the person only by that hash."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from sqlalchemy import delete, select, text

from bot.audit import AuditAction, record
from bot.config import Settings
from bot.core.errors import Conflict
from bot.privacy import tracker
from bot.privacy.person import PersonRecords, find_person, national_digits, phone_hash
from bot.storage.db import Database
from bot.storage.models import CallbackTask, DoNotCall, WebhookEvent
from bot.storage.states import ContactState
from telephony import CallState

ANONYMOUS_PREFIX = "anon-"
FORGOTTEN_NOTE = "forgotten"


@dataclass
class ForgetReport:
    """What `forget` did, in counts (what the audit entry holds too)."""

    person: str  # the number's hash
    rows: dict[str, int]
    files_deleted: int = 0
    tracker_store: str = ""
    tracker_conversations: int = 0
    contacts_stopped: int = 0  # pending contacts that will no longer be called
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def statistics_only(values: dict[str, Any]) -> dict[str, Any]:
    """Slots or outcome data reduced to numbers and yes/no answers (ratings, amounts, counts): what metrics read,
    nothing that names or describes a person."""
    return {key: value for key, value in values.items() if isinstance(value, bool | int | float)}


def without_words(entries: list[Any], keys: tuple[str, ...] = ("text", "heard")) -> list[Any]:
    """Transcript lines or turns with their words blanked; speaker, step, intent, event and timings stay (the
    per-step script metrics count them)."""
    return [
        {**entry, **{k: "" for k in keys if k in entry}} if isinstance(entry, dict) else {}
        for entry in entries
    ]


def recording_files(settings: Settings, person: PersonRecords) -> list[Path]:
    """The person's calls' recordings and call files that exist (`<id>.wav`, `<id>.json`, stored paths)."""
    directory = settings.voice.recordings_dir
    paths = {directory / f"{call_id}{suffix}" for call_id in person.call_ids for suffix in (".wav", ".json")}
    for row in person.calls:
        if row.recording_path:
            stored = Path(row.recording_path)
            paths |= {stored, stored.with_suffix(".json")}
    return sorted(path for path in paths if path.is_file())


def _anonymise(person: PersonRecords, token: str, now: datetime) -> int:
    """Change the person's rows in their session; returns how many pending contacts stop being called."""
    digits = national_digits(person.phone)
    stopped = 0
    for contact in person.contacts:
        contact.phone, contact.name, contact.variables, contact.timezones = token, "", {}, ""
        contact.note = FORGOTTEN_NOTE
        if contact.state == ContactState.PENDING:
            contact.state, stopped = ContactState.FORGOTTEN, stopped + 1
    for attempt in person.attempts:
        attempt.phone, attempt.error, attempt.words_erased_at = token, "", now
    for call in person.calls:
        call.caller = token if digits in call.caller else call.caller
        call.called = token if digits in call.called else call.called
        call.slots, call.outcome_data = statistics_only(call.slots), statistics_only(call.outcome_data)
        call.transcript, call.turns = without_words(call.transcript), without_words(call.turns)
        call.recording_path, call.error = "", ""
        call.words_erased_at = now
    for handoff in person.handoffs:
        handoff.context, handoff.failure = {}, ""  # its service-level columns stay
    return stopped


def _forget_rows(
    db: Database, settings: Settings, e164: str, actor: str, now: datetime, erased: dict[str, Any]
) -> tuple[ForgetReport, list[Path]]:
    hashed = phone_hash(e164)
    with db.session() as session:
        if db.is_sqlite:  # what is deleted or overwritten is zeroed in the file, not left in free space
            session.execute(text("PRAGMA secure_delete=ON"))
        person = find_person(session, e164)
        files = recording_files(settings, person)
        report = ForgetReport(person=hashed, rows=person.counts(), files_deleted=len(files))
        report.tracker_store = erased["store"]
        report.tracker_conversations = len(erased["conversations"])
        report.contacts_stopped = _anonymise(person, ANONYMOUS_PREFIX + secrets.token_hex(6), now)
        session.execute(delete(CallbackTask).where(CallbackTask.id.in_([c.id for c in person.callbacks])))
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_([e.id for e in person.events])))
        for entry in person.do_not_call:
            scope = (
                DoNotCall.campaign_id.is_(None)
                if entry.campaign_id is None
                else DoNotCall.campaign_id == entry.campaign_id
            )
            twin = select(DoNotCall.id).where(DoNotCall.phone == hashed, scope, DoNotCall.id != entry.id)
            if entry.phone != hashed and session.scalar(twin) is not None:
                session.delete(entry)  # this scope holds the hash already (the number was forgotten before)
            else:
                entry.phone = hashed
        record(
            session, AuditAction.PRIVACY_FORGET, actor=actor, at=now, target=hashed, detail=report.as_dict()
        )
    if db.is_sqlite:  # the old page versions leave the write-ahead log now, not at some later checkpoint
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return report, files


class PersonInCall(Conflict):
    """The person has a call up (or being dialled) now: what it stores at its end would come back after forget."""


def call_ids_of(db: Database, e164: str) -> list[str]:
    """The conversation ids of the number's calls (blocking: call it on a thread)."""
    with db.session() as session:
        return find_person(session, e164).call_ids


def _idle_call_ids(db: Database, e164: str) -> list[str]:
    with db.session() as session:
        person = find_person(session, e164)
        live = [call for call in person.calls if call.state != CallState.ENDED]
        if live or any(contact.state == ContactState.IN_FLIGHT for contact in person.contacts):
            raise PersonInCall(
                "the number has a call up or being dialled now: forget it once the call has ended"
            )
        return person.call_ids


async def forget_person(
    db: Database, settings: Settings, e164: str, actor: str, now: datetime
) -> ForgetReport:
    """Erase the person with the number `e164` (normalised): Rasa conversations first, then the rows and the audit
    entry in one transaction, then the recording files. Running it again finishes what a failure left."""
    call_ids = await asyncio.to_thread(_idle_call_ids, db, e164)
    erased = await tracker.conversations(settings, call_ids, erase=True)
    report, files = await asyncio.to_thread(_forget_rows, db, settings, e164, actor, now, erased)
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            report.problems.append(f"{path.name}: {exc.strerror}")
            logger.warning(f"privacy: person {report.person}: {path} not deleted: {exc.strerror}")
    logger.info(f"privacy: person {report.person} forgotten ({report.rows}, {len(files)} files)")
    return report
