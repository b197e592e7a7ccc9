"""What the queue wait reads from and adds to the records (SQLite and PostgreSQL): a queue's handle time measured
on its bridged warm transfers (joined → call ended; blind transfers ignored), and the `handoff.queued` event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.call_results.store import CallStart, CallStore
from bot.handoff.context import HandoffReason
from bot.handoff.queue_records import QueueRecords
from bot.handoff.queue_wait import QueueWait
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.storage.models import Call, Handoff, WebhookEvent


async def handed_off(db, call_id: str, queue: str, talk_after_join: float, warm: bool) -> int:
    """A call handed to `queue`, joined, and ended `talk_after_join` seconds after the join."""
    store = CallStore(db)
    await store.started(
        CallStart(call_id, "inbound", caller="+79161234567", called="4950001122", script="offer")
    )
    await store.answered(call_id)
    records = HandoffRecords(db)
    request = HandoffRequest(call_id, queue, "2001", HandoffReason.REQUESTED, None, {}, {})
    handoff_id = (await records.requested(request)).handoff_id
    await records.completed(handoff_id, 4.0, {"mode": "warm", "legs": []} if warm else None)
    with db.session() as session:
        handoff = session.get(Handoff, handoff_id)
        call = session.scalar(select(Call).where(Call.call_id == call_id))
        call.ended_at = handoff.finished_at + timedelta(seconds=talk_after_join)
    return handoff_id


async def test_the_handle_time_is_the_mean_bridged_call_of_the_queues_warm_transfers(db) -> None:
    await handed_off(db, "c-1", "sales", 100, warm=True)
    await handed_off(db, "c-2", "sales", 200, warm=True)
    await handed_off(db, "c-3", "sales", 900, warm=False)  # blind: the robot left at the REFER, tells nothing
    await handed_off(db, "c-4", "support", 50, warm=True)
    queues = QueueRecords(db)
    assert round(await queues.handle_seconds("sales")) == 150
    assert round(await queues.handle_seconds("support")) == 50
    assert await queues.handle_seconds("orders") is None  # none yet: the queue's handle_seconds setting


async def test_a_customer_starting_to_wait_emits_handoff_queued(db) -> None:
    handoff_id = await handed_off(db, "c-5", "sales", 10, warm=True)
    started = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    wait = QueueWait(started, place=2, expected_seconds=240, message="…")
    await QueueRecords(db).queued(handoff_id, wait)
    with db.session() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "handoff.queued")).one()
        payload = event.payload
    assert payload == {
        "handoff_id": handoff_id,
        "call_id": "c-5",
        "queue": "sales",
        "queued_at": started.isoformat(),
        "place": 2,
        "expected_seconds": 240,
    }
