"""A call's rows while the database is down: a real PostgreSQL cluster stopped at once (as a crash or fail-over)
while a call rings, is answered and ends; the call never waits, and its rows land, in order and with their own
times, once the database is back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import select

from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.calls.pending_writes import PendingWrites
from bot.storage.models import Call, WebhookEvent
from tests.chaos import ChaosRow, record


async def test_rows_written_while_the_database_is_down_land_when_it_is_back(own_postgres):
    cluster, db = own_postgres
    writes = PendingWrites(CallStore(db))
    cluster.stop()

    rang = datetime.now(UTC)
    await writes.write(
        "started", "c1", lambda s, at: s.started(CallStart("c1", "inbound", "+79161234567", "100"), at)
    )
    await writes.write("answered", "c1", lambda s, at: s.answered("c1", at))
    await asyncio.sleep(1.0)  # a second of talk
    end = CallResult(
        outcome="completed",
        ended_by="robot",
        transcript=[{"at": 0.4, "speaker": "robot", "text": "До свидания!"}],
    )
    await writes.write("ended", "c1", lambda s, at: s.ended("c1", end, at))
    ended = datetime.now(UTC)
    assert writes.pending == 3

    await asyncio.to_thread(cluster.start)
    back = time.monotonic()
    assert await writes.flush(60) == 0
    landed_in = time.monotonic() - back
    with db.session() as session:
        call = session.scalars(select(Call)).one()
        events = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    record(
        ChaosRow(
            fault="PostgreSQL down through a whole call (its rows)",
            calls_up=1,
            contacts=None,
            lost=int(call.outcome != "completed"),
            dialled_twice=None,
            events_lost=abs(3 - len(events)),
            calls_left_live=int(call.state != "ended"),
            seconds_to_recover=round(landed_in, 1),
        )
    )
    assert call.outcome == "completed" and call.ended_by == "robot"
    assert rang <= call.started_at.replace(tzinfo=UTC) <= call.answered_at.replace(tzinfo=UTC) < ended
    assert call.ended_at.replace(tzinfo=UTC) <= ended  # the call's own times, not when the rows landed
    assert [e.type for e in events] == ["call.started", "call.answered", "call.completed"]
    db.dispose()


async def test_a_write_the_database_refuses_for_another_reason_is_not_kept(own_postgres):
    _, db = own_postgres
    writes = PendingWrites(CallStore(db))
    start = CallStart("c2", "inbound", "+79161234567", "100")
    await writes.write("started", "c2", lambda s, at: s.started(start, at))
    began = time.monotonic()
    await writes.write("started", "c2", lambda s, at: s.started(start, at))  # the same row again: refused
    assert writes.pending == 0 and time.monotonic() - began < 5
    db.dispose()
