"""Retention: personal data older than its period (`privacy.retention`, `bot/config.py`) erased by the
running service — words of ended calls, phone numbers and names, CRM outbox events, callback tasks, SQL tracker
conversations, old audit entries — with one audit entry per pass that changed anything. Counts in metrics stay:
rows are kept and cut loose from the person, as `forget` does (`bot/privacy/forget.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy import and_, create_engine, delete, exists, inspect, or_, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from bot.audit import SERVICE_ACTOR, AuditAction, record
from bot.config import Settings
from bot.core.clock import Clock
from bot.privacy import tracker
from bot.privacy.forget import ANONYMOUS_PREFIX, statistics_only, without_words
from bot.privacy.tracker import EVENTS_TABLE, sql_url
from bot.storage.db import Database
from bot.storage.models import (
    Attempt,
    AuditEntry,
    Call,
    CallbackTask,
    Campaign,
    Contact,
    Handoff,
    WebhookDelivery,
    WebhookEvent,
)
from bot.storage.states import FINAL_STATES
from telephony import CallDirection

BATCH = 500  # rows changed per statement batch


def _days(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def erase_words(session: Session, before: datetime, now: datetime) -> int:
    """Ended calls and finished attempts older than `before` (returns how many): words blanked, texts dropped from slots and outcome
    data, errors and hand-off context cleared (steps, intents, timings, outcomes and numeric answers stay)."""
    count = 0
    calls = select(Call).where(Call.ended_at < before, Call.words_erased_at.is_(None)).limit(BATCH)
    while batch := list(session.scalars(calls)):
        for call in batch:
            call.transcript, call.turns = without_words(call.transcript), without_words(call.turns)
            call.slots, call.outcome_data = statistics_only(call.slots), statistics_only(call.outcome_data)
            call.error, call.words_erased_at = "", now
        ids = [call.id for call in batch]
        # a hand-off's words go; its service-level columns stay
        session.execute(update(Handoff).where(Handoff.call_id.in_(ids)).values(context={}, failure=""))
        session.flush()
        count += len(batch)
    attempts = (
        select(Attempt).where(Attempt.finished_at < before, Attempt.words_erased_at.is_(None)).limit(BATCH)
    )
    while batch := list(session.scalars(attempts)):
        for attempt in batch:  # its call's words went above; the attempt keeps only its error's
            attempt.error, attempt.words_erased_at = "", now
        session.flush()
        count += len(batch)
    return count


def erase_numbers(session: Session, before: datetime) -> int:
    """Numbers and names older than `before` replaced by tokens, one per number within this pass: the person's side
    of ended calls (the caller inbound, the called number outbound), finished attempts, and the contacts of
    campaigns that ended before then. Returns the number of rows changed."""
    tokens: dict[str, str] = {}

    def token(number: str) -> str:
        return tokens.setdefault(number, ANONYMOUS_PREFIX + secrets.token_hex(6))

    def anonymous(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        return or_(column == "", column.startswith(ANONYMOUS_PREFIX))

    changed = 0
    for direction, side in ((CallDirection.INBOUND, Call.caller), (CallDirection.OUTBOUND, Call.called)):
        rows = (
            select(Call)
            .where(Call.ended_at < before, Call.direction == direction, ~anonymous(side))
            .limit(BATCH)
        )
        while batch := list(session.scalars(rows)):
            for call in batch:
                setattr(call, side.key, token(getattr(call, side.key)))
            session.flush()
            changed += len(batch)
    attempts = select(Attempt).where(Attempt.finished_at < before, ~anonymous(Attempt.phone)).limit(BATCH)
    while batch := list(session.scalars(attempts)):
        for attempt in batch:
            attempt.phone = token(attempt.phone)
        session.flush()
        changed += len(batch)
    ended = select(Campaign.id).where(
        Campaign.state.in_([s.value for s in FINAL_STATES]), Campaign.updated_at < before
    )
    contacts = select(Contact).where(Contact.campaign_id.in_(ended), ~anonymous(Contact.phone)).limit(BATCH)
    while batch := list(session.scalars(contacts)):
        for contact in batch:
            contact.phone, contact.name, contact.variables = token(contact.phone), "", {}
        session.flush()
        changed += len(batch)
    return changed


def delete_old_events(session: Session, before: datetime) -> int:
    """CRM outbox events created before `before` with no delivery still pending (their deliveries and log go with
    them)."""
    pending = exists().where(WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.state == "pending")
    query = delete(WebhookEvent).where(and_(WebhookEvent.created_at < before, ~pending))
    return session.execute(query.execution_options(synchronize_session=False)).rowcount


def _delete_tracker_events(store: str, before: datetime) -> int:
    engine = create_engine(sql_url(store))
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(EVENTS_TABLE):
                return 0
            query = text(f"DELETE FROM {EVENTS_TABLE} WHERE timestamp < :before")
            return connection.execute(query, {"before": before.timestamp()}).rowcount
    finally:
        engine.dispose()


def _recently_ended(db: Database, node: str, since: datetime, before: datetime) -> list[str]:
    with db.session() as session:
        query = select(Call.call_id).where(Call.node == node, Call.ended_at >= since, Call.ended_at < before)
        return list(session.scalars(query))


async def erase_memory_conversations(
    db: Database, settings: Settings, node: str, now: datetime, window: timedelta
) -> int:
    """With the in-memory tracker store: erase, in this worker's running Rasa, the conversations of its calls that
    ended within `window` before the `tracker_days` cutoff (older ones were erased by earlier passes, or went with a
    Rasa restart: the store lives only as long as its process). Returns the conversations that held events."""
    before = _days(settings.privacy.retention.tracker_days, now)
    if settings.rasa.tracker_store != "memory" or before is None:
        return 0
    call_ids = await asyncio.to_thread(_recently_ended, db, node, before - window, before)
    if not call_ids:
        return 0
    erased = await tracker.conversations(settings, call_ids, erase=True)
    return len(erased["conversations"])


def apply_retention(
    db: Database, settings: Settings, now: datetime, already: dict[str, int] | None = None
) -> dict[str, int]:
    """One pass of every retention period at `now` (blocking: run it on a thread); returns what it erased, with
    `already` (what the pass erased elsewhere first) in the same audit entry."""
    periods = settings.privacy.retention
    done: dict[str, int] = dict(already or {})
    with db.session() as session:
        if before := _days(periods.transcripts_days, now):
            done["words_erased"] = erase_words(session, before, now)
        if before := _days(periods.numbers_days, now):
            done["numbers_erased"] = erase_numbers(session, before)
        if before := _days(periods.webhook_events_days, now):
            done["webhook_events_deleted"] = delete_old_events(session, before)
        if before := _days(periods.callbacks_days, now):
            query = delete(CallbackTask).where(CallbackTask.due_at < before)
            done["callbacks_deleted"] = session.execute(query).rowcount
        if before := _days(periods.audit_days, now):
            done["audit_entries_deleted"] = session.execute(
                delete(AuditEntry).where(AuditEntry.at < before)
            ).rowcount
    if settings.rasa.tracker_store != "memory" and (before := _days(periods.tracker_days, now)):
        done["tracker_events_deleted"] = _delete_tracker_events(settings.rasa.tracker_store, before)
    done = {name: count for name, count in done.items() if count}
    if done:
        with db.session() as session:
            record(
                session,
                AuditAction.RETENTION_PURGE,
                actor=SERVICE_ACTOR,
                at=now,
                target="retention",
                detail=done,
            )
    return done


async def enforce_retention_periodically(
    db: Database,
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event,
    node: str = "",
    passed: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Apply the retention now and every `privacy.retention.every_minutes` until `stop` is set (database work on a
    thread; a failing pass is logged and retried at the next one); `node` names this worker's calls for its
    in-memory tracker store. `passed` sees each pass's counts (tests)."""
    every = settings.privacy.retention.every_minutes * 60
    window = timedelta(seconds=2 * every) + timedelta(hours=1)  # passes overlap: a late one misses nothing
    while not stop.is_set():
        try:
            now = clock.now()
            erased = await erase_memory_conversations(db, settings, node, now, window)
            already = {"tracker_conversations_erased": erased} if erased else {}
            done = await asyncio.to_thread(apply_retention, db, settings, now, already)
        except Exception as exc:  # the service goes on; the next pass retries
            logger.warning(f"data retention failed: {type(exc).__name__}: {exc}")
        else:
            if done:
                logger.info(f"data retention: {done}")
            if passed is not None:
                passed(done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
