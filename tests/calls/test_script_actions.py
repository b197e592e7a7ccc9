"""Reading a script's `crm_event` and `schedule_callback` actions from the engine's action log as typed requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.call_results.script_actions import ScriptEvent, ScriptRequests, callback_moment, script_requests
from bot.crm.outbox import EventType, emit_script_event
from bot.dialog.action_log import CallbackScheduled, CrmEventNamed, LeadQualified, OutcomeSet, TransferAsked
from bot.outcomes import PLATFORM_EVENT_PREFIXES, Outcome, script_event_problem

MOSCOW = "Europe/Moscow"


def test_crm_events_in_order_with_their_data_and_other_actions_left_out():
    actions = [
        OutcomeSet(outcome=Outcome.DISPUTE),
        CrmEventNamed(event="debt.disputed", data={"amount": 25000, "due_date": "2025-03-01"}),
        LeadQualified(queue="sales"),
        CrmEventNamed(event="complaint.received", data={}),
        TransferAsked(queue="collections", data={}),
    ]
    assert script_requests(actions, MOSCOW) == ScriptRequests(
        events=(
            ScriptEvent(name="debt.disputed", data={"amount": 25000, "due_date": "2025-03-01"}),
            ScriptEvent(name="complaint.received"),
        )
    )


def test_a_callback_slot_in_local_time_becomes_an_aware_utc_moment():
    requests = script_requests([CallbackScheduled(when="2025-03-11T17:00")], MOSCOW)
    assert requests.callback_at == datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
    assert script_requests([CallbackScheduled(when="2025-03-11T17:00")], "UTC").callback_at == (
        datetime(2025, 3, 11, 17, 0, tzinfo=UTC)
    )


def test_a_time_with_an_offset_keeps_it_and_an_empty_or_garbled_slot_asks_for_no_time():
    assert callback_moment("2025-03-11T17:00+05:00", MOSCOW) == datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    assert callback_moment(datetime(2025, 3, 11, 17, 0), MOSCOW) == datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
    assert callback_moment(None, MOSCOW) is None
    assert callback_moment("tomorrow", MOSCOW) is None
    assert script_requests([CallbackScheduled(when=None)], MOSCOW) == ScriptRequests()


def test_a_script_event_can_never_pass_for_one_of_the_platforms_events(sqlite_db):
    assert {t.value.split(".")[0] for t in EventType} == set(PLATFORM_EVENT_PREFIXES)
    assert all(script_event_problem(t.value) for t in EventType)
    with sqlite_db.session() as session, pytest.raises(ValueError, match="platform's own events"):
        emit_script_event(session, "call.completed", {}, datetime.now(UTC))
