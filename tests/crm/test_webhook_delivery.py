"""Webhook delivery against a real HTTP receiver on loopback: every event arrives, signed, despite failures."""

from __future__ import annotations

import itertools
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from standardwebhooks import Webhook

from bot.core.clock import SimulatedClock
from bot.crm import signing
from bot.crm.delivery import DeliveryWorker
from bot.crm.outbox import DeliveryState, EventType, emit
from bot.storage.db import Database
from bot.storage.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.crm.conftest import Receiver

FAST = (0.05, 0.1, 0.2)


def subscribe(db: Database, url: str, secrets: list[str], events: list[str] | None = None) -> int:
    with db.session() as session:
        row = WebhookSubscription(
            url=url, event_types=events or ["*"], secrets=secrets, created_at=datetime.now(UTC)
        )
        session.add(row)
        session.flush()
        return row.id


def emit_events(db: Database, count: int, type: EventType = EventType.CALL_COMPLETED) -> list[str]:
    ids = []
    for n in range(count):
        with db.session() as session:
            ids.append(emit(session, type, {"attempt_id": n, "outcome": "agreed"}).event_id)
    return ids


async def deliver_all(worker: DeliveryWorker, seconds: float = 60.0) -> None:
    """Run the worker in real time until nothing is pending (`seconds` only guards against a hang)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + seconds
    while worker.next_due() is not None:
        assert asyncio.get_running_loop().time() < deadline, "deliveries still pending"
        if await worker.run_once() == 0:
            await asyncio.sleep(0.02)


def states(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state))
        return dict(rows.all())


async def test_every_event_arrives_despite_errors_timeouts_and_dropped_connections(
    db: Database, receiver: Receiver
) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    subscribe(db, receiver.url, [old, new])
    receiver.script = ["500", "500", "429", "timeout", "drop", "503", "500"]
    receiver.stall = 30.0  # "timeout" holds its request until the worker gives up
    ids = emit_events(db, 6)
    # Exactly the scripted failures fail only if every other answer reaches the worker within its timeout. The
    # receiver shares this process, so on a loaded 2-core machine an answer can take several tenths of a second
    # (0.3 s timed out "ok"s: 15 attempts instead of 13); one that times out is rightly retried (at-least-once).
    worker = DeliveryWorker(db, timeout=3.0, lease=4.0, retry_delays=FAST, rng=random.Random(1))

    await deliver_all(worker)

    assert receiver.delivered_ids() == set(ids)
    assert states(db) == {DeliveryState.DELIVERED: 6}
    by_id: dict[str, set[bytes]] = {}
    for request in receiver.requests:
        by_id.setdefault(request.headers["webhook-id"], set()).add(request.body)
        for secret in (old, new):  # either secret alone verifies: rotation without downtime
            assert Webhook(secret).verify(request.body, request.headers) == json.loads(request.body)
    assert all(len(bodies) == 1 for bodies in by_id.values()), "a retry carries the same id and body"
    assert len(receiver.requests) == 6 + 7
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 13


async def test_an_answer_trickling_past_the_timeout_is_a_timeout(db: Database, receiver: Receiver) -> None:
    """The timeout bounds the whole attempt, not each read: otherwise an attempt could outlast its claim's lease
    and a second worker would send the delivery meanwhile."""
    subscribe(db, receiver.url, [signing.new_secret()])
    receiver.script = ["trickle"]
    receiver.stall = 4.0  # 20 bytes, one every 0.2 s: each read well within the timeout, the answer not
    emit_events(db, 1)
    worker = DeliveryWorker(db, timeout=1.0, lease=2.0, retry_delays=FAST)

    assert await worker.run_once() == 1

    with db.session() as session:
        [attempt] = session.scalars(select(WebhookAttempt)).all()
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (attempt.result, attempt.status, attempt.error) == (
        "retry",
        None,
        "timeout after 1 s (TimeoutError)",
    )
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1


async def test_the_body_is_the_documented_envelope(db: Database, receiver: Receiver) -> None:
    secret = signing.new_secret()
    subscribe(db, receiver.url, [secret])
    [event_id] = emit_events(db, 1, EventType.LEAD_QUALIFIED)
    await deliver_all(DeliveryWorker(db, timeout=1, lease=2))
    body = Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert body["id"] == event_id and body["type"] == "lead.qualified"
    assert body["data"] == {"attempt_id": 0, "outcome": "agreed"}
    assert body["timestamp"].endswith("Z")


async def test_a_client_error_is_dead_at_once(db: Database, receiver: Receiver) -> None:
    subscribe(db, receiver.url, [signing.new_secret()])
    receiver.script = ["400"]
    emit_events(db, 1)
    await deliver_all(DeliveryWorker(db, timeout=1, lease=2, retry_delays=FAST))
    assert states(db) == {DeliveryState.DEAD: 1}
    assert len(receiver.requests) == 1
    with db.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.attempts, delivery.last_status) == (1, 400)


async def test_rolled_back_emit_sends_nothing(db: Database, receiver: Receiver) -> None:
    subscribe(db, receiver.url, [signing.new_secret()])
    try:
        with db.session() as session:
            emit(session, EventType.CONTACT_DO_NOT_CALL, {"phone": "+79990000000"})
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    worker = DeliveryWorker(db, timeout=1, lease=2)
    assert await worker.run_once() == 0
    assert receiver.requests == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_only_matching_active_subscriptions_get_a_delivery(db: Database, receiver: Receiver) -> None:
    calls = subscribe(db, receiver.url, [signing.new_secret()], ["call.completed"])
    subscribe(db, receiver.url + "/leads", [signing.new_secret()], ["lead.qualified"])
    paused = subscribe(db, receiver.url + "/off", [signing.new_secret()])
    with db.session() as session:
        session.get(WebhookSubscription, paused).active = False
    emit_events(db, 1, EventType.CALL_COMPLETED)
    with db.session() as session:
        assert session.scalars(select(WebhookDelivery.subscription_id)).all() == [calls]


async def test_retries_last_at_least_a_day_then_the_delivery_is_dead(
    db: Database, receiver: Receiver
) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    clock = SimulatedClock(start)
    subscribe(db, receiver.url, [signing.new_secret()])
    receiver.default = "503"
    with db.session() as session:
        emit(session, EventType.CALL_STARTED, {"attempt_id": 1}, now=start)
    worker = DeliveryWorker(db, clock, timeout=1, lease=2, rng=random.Random(7))

    while (due := worker.next_due()) is not None:
        clock.advance(max(due - clock.now(), timedelta(0)))
        await worker.run_once()

    with db.session() as session:
        times = [
            a.started_at for a in session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number))
        ]
        delivery = session.scalars(select(WebhookDelivery)).one()
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    expected = [5, 30, 120, 600, 1800] + [3600] * (len(gaps) - 5)
    assert all(0.8 * e <= g <= 1.2 * e for g, e in zip(gaps, expected, strict=True)), gaps
    assert times[-1] - start >= timedelta(hours=24) and times[-2] - start < timedelta(hours=24)
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == len(times) == len(receiver.requests)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_our_signature_is_the_standard_one() -> None:
    secret = signing.new_secret()
    body = b'{"id":"evt_1","type":"call.started"}'
    ours = signing.headers([secret], "evt_1", 1_800_000_000, body)["webhook-signature"]
    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(1_800_000_000, UTC), body.decode())
    assert ours == theirs


def test_concurrent_workers_never_claim_the_same_delivery(db: Database) -> None:
    subscribe(db, "http://127.0.0.1:9/hook", [signing.new_secret()])
    emit_events(db, 60)
    workers = [DeliveryWorker(db, timeout=1, lease=60, batch=20) for _ in range(4)]
    barrier = threading.Barrier(len(workers))

    def claim(worker: DeliveryWorker) -> list[int]:
        barrier.wait()
        return [job.delivery_id for job in worker.claim()]

    with ThreadPoolExecutor(len(workers)) as pool:
        claimed = list(pool.map(claim, workers))
    ids = [delivery_id for batch in claimed for delivery_id in batch]
    assert len(ids) == len(set(ids)) == 60
