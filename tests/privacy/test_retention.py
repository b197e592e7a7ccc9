"""Retention periods enforced on a moved clock (SQLite and PostgreSQL): words go after `transcripts_days`, numbers
and names after `numbers_days`, delivered outbox events and old callback tasks after theirs; counts in metrics stay;
each pass that erased something leaves one audit entry; the service's periodic task runs on the project's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from bot.api.auth import Scope, create_key
from bot.audit import SERVICE_ACTOR, AuditAction, entries
from bot.config import PathsSettings, PrivacySettings, RetentionSettings, Settings
from bot.core.clock import SimulatedClock
from bot.privacy.export import row_dict
from bot.privacy.retention import apply_retention, enforce_retention_periodically
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, CallbackTask, Campaign, Contact, WebhookDelivery, WebhookEvent
from bot.web import create_app
from tests.privacy.people import BYSTANDER, PERSON, database_bytes, metrics_of, write_history
from voice.config import VoiceSettings

DAY = timedelta(days=1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=tmp_path),
        voice=VoiceSettings(recordings_dir=tmp_path / "recordings"),
        privacy=PrivacySettings(retention=RetentionSettings(transcripts_days=90, numbers_days=365)),
    )


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(settings, db=db)
    with db.session() as session:
        key = create_key(session, "dpo", [Scope.ADMIN], datetime.now(UTC))[1]
    with TestClient(app) as test_client:
        yield test_client, {"X-API-Key": key}


def _people_rows(db: Database) -> str:
    with db.session() as session:
        rows = [row_dict(row) for table in (Call, Attempt, Contact) for row in session.scalars(select(table))]
    return str(rows)


def _texts(db: Database) -> list[str]:
    with db.session() as session:
        calls = session.scalars(select(Call).order_by(Call.id))
        return [line["text"] for call in calls for line in call.transcript]


async def test_each_kind_of_data_goes_after_its_period_and_the_counts_stay(
    client, db, settings, tmp_path
) -> None:
    test_client, admin = client
    history = await write_history(db, tmp_path / "recordings")
    with db.session() as session:  # the campaign ended; one event was delivered, the others still pending
        session.execute(update(Campaign).values(state="completed"))
        first = session.scalar(select(WebhookDelivery.id).order_by(WebhookDelivery.id))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == first).values(state="delivered"))
        events = session.scalar(select(func.count()).select_from(WebhookEvent))
    before = metrics_of(test_client, admin, history)
    now = datetime.now(UTC)

    assert apply_retention(db, settings, now + 10 * DAY) == {}  # nothing old enough yet
    assert any(_texts(db))

    moved = apply_retention(db, settings, now + 100 * DAY)
    assert moved == {"words_erased": 6, "webhook_events_deleted": 1, "callbacks_deleted": 2}
    assert not any(_texts(db)) and PERSON[1:] in database_bytes(db).decode("utf-8", "replace")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == events - 1
        assert session.scalar(select(func.count()).select_from(CallbackTask)) == 0
    assert apply_retention(db, settings, now + 101 * DAY) == {}  # a pass finds nothing twice

    numbers = apply_retention(db, settings, now + 400 * DAY)
    assert numbers["numbers_erased"] == 2 * 2 + 2 + 2  # the person's side of 4 calls, 2 attempts, 2 contacts
    text = _people_rows(db)  # the do-not-call list keeps its numbers, pending CRM events until delivered
    assert PERSON[2:] not in text and BYSTANDER[2:] not in text and "Иван Петров" not in text
    assert metrics_of(test_client, admin, history) == before

    with db.session() as session:
        purges = entries(session, action=AuditAction.RETENTION_PURGE)
    assert [(e.actor, e.detail) for e in purges] == [(SERVICE_ACTOR, numbers), (SERVICE_ACTOR, moved)]


async def test_the_service_applies_retention_on_its_clock_until_stopped(db, settings, tmp_path) -> None:
    await write_history(db, tmp_path / "recordings")
    clock, stop, passes = SimulatedClock(datetime.now(UTC) + 100 * DAY), asyncio.Event(), []

    def passed(done: dict[str, int]) -> None:
        passes.append(done)
        stop.set()

    await asyncio.wait_for(enforce_retention_periodically(db, settings, clock, stop, passed=passed), 30)
    assert passes and passes[0]["words_erased"] == 6 and not any(_texts(db))
