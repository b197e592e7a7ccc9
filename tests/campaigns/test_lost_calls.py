"""A dead worker's calls end: the calls a worker left up when it died are ended `worker_lost` by a live worker
once the dead one's lease is free (or by its own restart), with one `call.completed` each in the transaction that
ends the row, counted in the metrics, and their contacts retried by the campaign's rules (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dt_time

from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.call_results.store import LOST_CALL_ERROR, CallStart, CallStore, EndedBy
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallRequest
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings
from bot.core.calendar import Hours
from bot.core.clock import SystemClock
from bot.crm.subscriptions import create as create_subscription
from bot.metrics.calls import ended_calls
from bot.metrics.filters import CallFilter
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Contact, WebhookDelivery, WebhookEvent
from tests.campaigns.simtools import make_campaign

ALL_DAY = Hours(start=dt_time(0), end=dt_time(23, 59, 59))
RULES = CampaignRules(
    working_hours=ALL_DAY,
    rest_day_hours=ALL_DAY,
    holidays_country="",
    max_concurrent=5,
    pacing_cps=50.0,
    retry_minutes={"failed": 15},
)


def dialer(db: Database, node: str) -> Dialer:
    return Dialer(db, placer=None, clock=SystemClock(), settings=DialerSettings(node=node))


def lost_counter(direction: str) -> float:
    return REGISTRY.get_sample_value("voicebot_calls_lost_total", {"direction": direction}) or 0.0


async def calls_up(db: Database, worker: Dialer, campaign: int) -> list[CallRequest]:
    """`worker` claims two contacts and has their calls up (one ringing, one answered) and one inbound call."""
    with db.session() as session:
        contacts = list(session.scalars(select(Contact.id).where(Contact.campaign_id == campaign)))
    requests, _ = worker._claim(contacts, worker._running()[0][0], RULES, datetime.now().astimezone())
    store = CallStore(db, node=worker.node)
    for request, answered in zip(requests, (False, True), strict=True):
        call_id = f"out-{request.attempt_id}"
        await store.started(
            CallStart(
                call_id,
                "outbound",
                caller="robot",
                called=request.phone,
                script="reminder",
                campaign_id=campaign,
                contact_id=request.contact_id,
                attempt_id=request.attempt_id,
            )
        )
        if answered:
            await store.answered(call_id)
    await store.started(CallStart("in-1", "inbound", caller="+79160000001", called="9001", script="inbound"))
    await store.answered("in-1")
    return requests


def completed_events(db: Database) -> list[dict]:
    with db.session() as session:
        events = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "call.completed"))
        return [event.payload for event in events]


async def test_a_live_worker_ends_a_dead_workers_calls_once_and_retries_its_contacts(db: Database) -> None:
    now = datetime.now().astimezone()
    with db.session() as session:
        create_subscription(session, "http://127.0.0.1:9/hook", ["call.completed"], now=now)
    campaign = make_campaign(db, [("+79167770001", "UTC"), ("+79167770002", "UTC")], now, RULES)
    dead, live = dialer(db, "a"), dialer(db, "b")
    dead.reconcile()
    live.reconcile()
    requests = await calls_up(db, dead, campaign)

    assert live._settle(own=False) == 0, "a live worker's calls are its own"
    assert completed_events(db) == []

    lost_before = lost_counter("outbound"), lost_counter("inbound")
    dead.close()  # the worker dies with its calls up: its lease is free
    assert live._settle(own=False) == 2
    assert live._settle(own=False) == 0  # found once: nothing is ended twice

    with db.session() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        attempts = [session.get(Attempt, r.attempt_id) for r in requests]
        contacts = [session.get(Contact, r.contact_id) for r in requests]
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert {c.state for c in calls.values()} == {"ended"}
    assert {(c.ended_by, c.error) for c in calls.values()} == {(EndedBy.WORKER_LOST, LOST_CALL_ERROR)}
    answered = calls[f"out-{requests[1].attempt_id}"]
    assert answered.ended_at >= answered.answered_at and answered.talk_seconds >= 0

    events = completed_events(db)
    assert sorted(e["call_id"] for e in events) == sorted(calls), "one call.completed per lost call"
    assert {e["ended_by"] for e in events} == {"worker_lost"}
    assert len(deliveries) == 3, "each is delivered to the subscribed CRM"

    assert [a.state for a in attempts] == ["interrupted", "interrupted"]
    for contact in contacts:  # the campaign's `failed` retry rule: again in 15 minutes
        assert (contact.state, contact.last_result) == ("pending", "interrupted")
        assert timedelta(minutes=14) < contact.next_attempt_at - now < timedelta(minutes=16)

    assert (lost_counter("outbound") - lost_before[0], lost_counter("inbound") - lost_before[1]) == (2, 1)
    with db.session() as session:
        counted = list(ended_calls(session, CallFilter(campaign_id=campaign)))
    assert [c.answered for c in counted] == [False, True], (
        "the lost calls count as ended calls in the metrics"
    )
    live.close()


async def test_a_restarted_worker_ends_the_calls_its_previous_process_left_up(db: Database) -> None:
    now = datetime.now().astimezone()
    campaign = make_campaign(db, [("+79167770001", "UTC"), ("+79167770002", "UTC")], now, RULES)
    before = dialer(db, "w1")
    before.reconcile()
    await calls_up(db, before, campaign)
    before.close()  # killed

    restarted = dialer(db, "w1")
    assert restarted.reconcile() == 2
    with db.session() as session:
        assert {(c.state, c.ended_by) for c in session.scalars(select(Call))} == {("ended", "worker_lost")}
    assert len(completed_events(db)) == 3
    restarted.close()


async def test_calls_of_no_node_are_never_ended_by_anyone(db: Database) -> None:
    store = CallStore(db)  # a row without a node: no worker's lease vouches for it
    await store.started(CallStart("c1", "inbound", caller="+79160000001", called="9001"))
    worker = dialer(db, "b")
    worker.reconcile()
    worker._settle(own=False)
    with db.session() as session:
        assert session.scalar(select(Call.state)) == "ringing"
    worker.close()
