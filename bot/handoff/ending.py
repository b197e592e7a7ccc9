"""How a hand-off ended and its service-level facts, decided once when it finishes; bot/handoff/records.py stores
them in the row's typed columns (`handoffs.ended`, `agent`, `agent_answer_seconds`, `time_to_agent_seconds`).

- agent answer: ringing → answer of the accepted agent (warm: the accepted leg's `answered_at − dialled_at`;
  blind: the REFER's `answer_seconds`, REFER sent → agent answered);
- time to agent: hand-off requested → customer joined to the agent (the robot's last words, the wait in queue
  and the ringing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.handoff.queue_wait import WaitEnd
from bot.handoff.warm import LegResult
from bot.storage.states import HandoffEnd


class FailureCause(StrEnum):
    """Why a hand-off failed, as the desk knows it."""

    TRANSFER = "transfer"  # the transfer had a result: refused by the PBX, or no agent took the call
    CALL_ENDED = "call_ended"  # the call ended before the transfer had a result


@dataclass(frozen=True)
class Ending:
    """A finished hand-off's service-level facts."""

    end: HandoffEnd
    agent: str | None = None  # who took the call
    agent_answer_seconds: float | None = None
    time_to_agent_seconds: float | None = None


def connected(
    requested_at: datetime, finished_at: datetime, answer_seconds: float, target: str, warm: dict | None
) -> Ending:
    """The customer was joined to an agent: the accepted warm leg's agent and answer time, or (blind) the REFER
    target and its answer time."""
    agent, answer = target, answer_seconds
    if warm is not None:
        accepted = next((leg for leg in _legs(warm) if leg.get("result") == LegResult.ACCEPTED), None)
        agent = warm.get("accepted_by") or agent
        answer = _leg_answer(accepted) if accepted else None
    return Ending(HandoffEnd.CONNECTED, agent, answer, (finished_at - requested_at).total_seconds())


def failed(cause: FailureCause, callback_at: datetime | None, warm: dict | None) -> Ending:
    """No agent was joined: taken back (a callback), abandoned (the customer left first) or failed."""
    if callback_at is not None:
        return Ending(HandoffEnd.TAKEN_BACK)
    if cause is FailureCause.CALL_ENDED or (warm is not None and _customer_left(warm)):
        return Ending(HandoffEnd.ABANDONED)
    return Ending(HandoffEnd.FAILED)


def _legs(warm: dict[str, Any]) -> list[dict[str, Any]]:
    legs = warm.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _leg_answer(leg: dict[str, Any]) -> float | None:
    dialled, answered = leg.get("dialled_at"), leg.get("answered_at")
    if isinstance(dialled, int | float) and isinstance(answered, int | float):
        return round(answered - dialled, 3)
    return None


def _customer_left(warm: dict[str, Any]) -> bool:
    """The customer, not the agents, ended the warm transfer: the queue wait's end, or the last leg's result."""
    wait = warm.get("queue_wait")
    if isinstance(wait, dict) and wait.get("ended") == WaitEnd.ABANDONED:
        return True
    legs = _legs(warm)
    return bool(legs) and legs[-1].get("result") == LegResult.CUSTOMER_LEFT
