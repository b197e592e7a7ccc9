"""How a finished hand-off ended and its service-level facts, decided once from the typed warm report and the
desk's failure cause (bot/handoff/ending.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.handoff.ending import FailureCause, connected, failed
from bot.handoff.queue_wait import WaitEnd
from bot.handoff.warm import LegResult
from bot.storage.states import HandoffEnd

T = datetime(2026, 3, 2, 10, tzinfo=UTC)
LATER = T + timedelta(seconds=9)


def report(legs: list[dict], accepted_by: str | None = None, **extra: object) -> dict:
    return {"mode": "warm", "summary": "…", "legs": legs, "accepted_by": accepted_by, **extra}


def leg(agent: str, dialled: float, result: LegResult, answered: float | None = None) -> dict:
    row = {"agent": agent, "dialled_at": dialled, "result": result}
    return row if answered is None else {**row, "answered_at": answered}


def test_a_connected_hand_off_keeps_who_took_it_and_how_fast() -> None:
    joined = connected(T, LATER, 8.0, "2001", report(
        [leg("1001", 1.0, LegResult.BUSY), leg("1002", 1.5, LegResult.ACCEPTED, answered=4.0)], "1002"
    ))  # fmt: skip
    assert (joined.end, joined.agent, joined.agent_answer_seconds, joined.time_to_agent_seconds) == (
        HandoffEnd.CONNECTED, "1002", 2.5, 9.0,
    )  # fmt: skip
    blind = connected(T, LATER, 6.5, "2001", None)
    assert (blind.agent, blind.agent_answer_seconds) == ("2001", 6.5)  # REFER → answered


def test_how_a_failed_hand_off_ended() -> None:
    transfer = FailureCause.TRANSFER
    left = failed(transfer, None, report([leg("1001", 1.0, LegResult.CUSTOMER_LEFT)]))
    waited = failed(transfer, None, report([], queue_wait={"ended": WaitEnd.ABANDONED.value}))
    hung_up = failed(FailureCause.CALL_ENDED, None, None)
    back = failed(transfer, LATER, report([leg("1001", 1.0, LegResult.NO_ANSWER)]))
    refused = failed(transfer, None, None)
    assert [f.end for f in (left, waited, hung_up, back, refused)] == [
        HandoffEnd.ABANDONED,
        HandoffEnd.ABANDONED,
        HandoffEnd.ABANDONED,
        HandoffEnd.TAKEN_BACK,
        HandoffEnd.FAILED,
    ]
    assert (refused.agent, refused.agent_answer_seconds, refused.time_to_agent_seconds) == (None, None, None)
