"""The `calls` rows and their CRM events, written together (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.call_results.result import CallResult
from bot.call_results.script_actions import ScriptEvent
from bot.call_results.store import CallStart, CallStore, end_lost_calls, recording_link
from bot.crm.subscriptions import create as create_subscription
from bot.storage.models import Call, CallbackTask, DoNotCall, WebhookDelivery, WebhookEvent


async def test_a_call_row_follows_the_call_and_each_step_emits_its_event(db):
    with db.session() as session:
        create_subscription(session, "http://127.0.0.1:9/hook", ["*"], now=datetime.now(UTC))
    store = CallStore(db, node="n1")
    await store.started(
        CallStart("c1", "inbound", caller="+79161234567", called="4951112233", script="inbound")
    )
    await store.answered("c1")
    end = CallResult(
        outcome="resolved",
        slots={"x": 1},
        transcript=[{"at": 0.2, "speaker": "robot", "text": "hi"}],
        recording="/r.wav",
    )
    await store.ended("c1", end)
    with db.session() as session:
        call = session.scalar(select(Call))
        events = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert (call.state, call.node, call.outcome, call.slots) == ("ended", "n1", "resolved", {"x": 1})
    assert call.answered_at is not None and call.ended_at >= call.answered_at >= call.started_at
    assert [e.type for e in events] == ["call.started", "call.answered", "call.completed"]
    completed = events[-1].payload
    assert completed["recording"] == recording_link("c1") and completed["outcome"] == "resolved"
    assert completed["called"] == "4951112233" and completed["transcript"] == [
        {"at": 0.2, "speaker": "robot", "text": "hi"}
    ]
    assert len(deliveries) == 3


async def test_an_unanswered_call_has_ring_time_and_no_recording(db):
    store = CallStore(db)
    await store.started(CallStart("c2", "outbound", caller="", called="+79160000000", campaign_id=None))
    await store.ended("c2", CallResult(error="486 Busy Here"))
    with db.session() as session:
        call = session.scalar(select(Call))
        completed = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "call.completed")).one()
    assert call.answered_at is None and call.talk_seconds == 0 and call.error == "486 Busy Here"
    assert completed.payload["recording"] is None and completed.payload["answered_at"] is None


async def test_the_scripts_crm_events_and_a_callers_callback_are_written_with_the_calls_end(db):
    with db.session() as session:
        create_subscription(session, "http://127.0.0.1:9/hook", ["complaint.received"], now=datetime.now(UTC))
    store = CallStore(db)
    await store.started(
        CallStart("c3", "inbound", caller="+79161234567", called="4951112233", script="inbound")
    )
    await store.answered("c3")
    due = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    event = ScriptEvent(name="complaint.received", data={"text": "курьер опоздал"})
    await store.ended("c3", CallResult(outcome="transferred", events=(event,), callback_at=due))
    with db.session() as session:
        call = session.scalar(select(Call))
        events = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
        deliveries = session.scalars(select(WebhookDelivery)).all()
        task = session.scalars(select(CallbackTask)).one()
    assert [e.type for e in events] == [
        "call.started",
        "call.answered",
        "call.completed",
        "complaint.received",
    ]
    script_event = events[-1]
    assert script_event.created_at == events[-2].created_at  # one transaction, one moment
    assert script_event.payload["data"] == {"text": "курьер опоздал"}
    assert (script_event.payload["call_id"], script_event.payload["caller"]) == ("c3", "+79161234567")
    assert [d.event_id for d in deliveries] == [script_event.id]  # the subscription wants only this one
    assert (task.call_id, task.phone, task.script, task.due_at) == (call.id, "+79161234567", "inbound", due)


async def test_a_one_off_outbound_calls_callback_is_a_task_for_the_called_number(db):
    store = CallStore(db)
    await store.started(CallStart("c4", "outbound", caller="robot", called="+79160000000", script="reminder"))
    await store.ended(
        "c4", CallResult(outcome="callback", callback_at=datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    )
    with db.session() as session:
        task = session.scalars(select(CallbackTask)).one()
    assert (task.phone, task.due_at) == ("+79160000000", datetime(2026, 12, 7, 15, 0, tzinfo=UTC))


async def test_a_caller_who_is_no_contact_and_asks_not_to_be_called_is_listed_with_the_call_and_moment(db):
    store = CallStore(db)
    said = [
        {"at": 0.2, "speaker": "robot", "text": "Здравствуйте"},
        {"at": 3.5, "speaker": "caller", "text": "не звоните мне", "intent": "dont_call"},
        {"at": 5.0, "speaker": "caller", "text": "да", "intent": "affirm"},
    ]
    for call_id, caller, test in (
        ("in1", "8 916 123-45-67", False),
        ("in2", "1001", False),
        ("t1", "", True),
    ):
        await store.started(
            CallStart(
                call_id, "inbound" if caller else "outbound", caller, "+79031112233", "inbound", test=test
            )
        )
        await store.answered(call_id)
        await store.ended(call_id, CallResult(outcome="do_not_call", transcript=said))
    with db.session() as session:
        entries = session.scalars(select(DoNotCall)).all()
        answered = session.scalar(select(Call.answered_at).where(Call.call_id == "in1"))
    # an extension is no number to list; a wizard's test call to the operator's own phone lists nothing
    assert [(e.phone, e.campaign_id, e.call_id) for e in entries] == [("+79161234567", None, "in1")]
    assert entries[0].said_at == answered + timedelta(seconds=3.5)


async def test_a_call_ended_worker_lost_meanwhile_keeps_that_end_and_its_one_call_completed(db):
    """A worker cut off from the database with a call up: another worker ends the call `worker_lost` once the
    cut one's lease lapses; the cut worker's own writes for it, kept and landing when its link is back, change
    nothing (tests/campaigns/test_hosts_apart.py is the whole scenario)."""
    store = CallStore(db, node="n1")
    await store.started(CallStart("c1", "outbound", caller="4951112233", called="+79161234567", script="s"))
    with db.session() as session:
        assert [c.call_id for c in end_lost_calls(session, ["n1"], datetime.now(UTC))] == ["c1"]
    await store.answered("c1")
    await store.ended("c1", CallResult(outcome="confirmed"))
    with db.session() as session:
        call = session.scalar(select(Call))
        events = [e.type for e in session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
    assert (call.state, call.ended_by, call.outcome, call.answered_at) == ("ended", "worker_lost", "", None)
    assert events == ["call.started", "call.completed"]
