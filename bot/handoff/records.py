"""The `handoffs` rows and their CRM events, each written in one transaction in a worker thread.

`requested` (with `lead.qualified` first when the reason is a qualified lead) → `completed` when the agent
answered, or `failed` with the failure and, when the robot took the call back, the callback time. When it
finishes, how it `ended` and its service-level facts are decided once (bot/handoff/ending.py) and stored in the
row's columns, sent with the finishing events and counted for Prometheus. A warm
transfer's report (every agent leg, the summary said, the customer's wait, who accepted and when) is kept in the
row's context as `warm` and sent with `handoff.completed`/`handoff.failed`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.crm.outbox import EventType, emit
from bot.handoff.context import HandoffReason, HandoffState, screen_link
from bot.handoff.ending import Ending, FailureCause, connected, failed
from bot.metrics.prometheus import handoff_ended
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Handoff


@dataclass(frozen=True)
class HandoffRequest:
    """A transfer about to start: the call (conversation id), where it goes and what the agent should see."""

    call_id: str
    queue: str
    target: str
    reason: HandoffReason
    outcome: str | None
    slots: dict[str, Any]
    data: dict[str, Any]  # the script's key slots for this transfer
    transcript: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Requested:
    """The hand-off's row id and what the call row knows (for the SIP headers)."""

    handoff_id: int
    campaign_id: int | None
    contact_id: int | None


class HandoffRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def requested(self, request: HandoffRequest) -> Requested:
        return await asyncio.to_thread(self._requested, request, datetime.now(UTC))

    async def completed(self, handoff_id: int, answer_seconds: float, warm: dict | None = None) -> None:
        await asyncio.to_thread(self._completed, handoff_id, answer_seconds, warm, datetime.now(UTC))

    async def failed(
        self,
        handoff_id: int,
        failure: str,
        callback_at: datetime | None,
        warm: dict | None = None,
        cause: FailureCause = FailureCause.TRANSFER,
    ) -> None:
        """`failure` describes it for people; `cause` decides how it ended."""
        now = datetime.now(UTC)
        await asyncio.to_thread(self._failed, handoff_id, failure, callback_at, warm, cause, now)

    def _requested(self, request: HandoffRequest, now: datetime) -> Requested:
        with self.db.session() as session:
            call = session.scalar(select(Call).where(Call.call_id == request.call_id))
            if call is None:
                raise LookupError(f"no call {request.call_id} in the calls table")
            contact_id = None
            if call.attempt_id is not None:
                contact_id = session.scalar(select(Attempt.contact_id).where(Attempt.id == call.attempt_id))
            context = {
                "call_id": call.call_id,
                "direction": call.direction,
                "caller": call.caller,
                "called": call.called,
                "campaign_id": call.campaign_id,
                "contact_id": contact_id,
                "script": call.script,
                "language": call.language,
                "outcome": request.outcome,
                "data": request.data,
                "slots": request.slots,
                "transcript": request.transcript,
            }
            handoff = Handoff(
                call_id=call.id,
                queue=request.queue,
                target=request.target,
                reason=request.reason.value,
                state=HandoffState.REQUESTED.value,
                context=context,
                requested_at=now,
            )
            session.add(handoff)
            session.flush()
            common = {
                "handoff_id": handoff.id,
                "call_id": call.call_id,
                "campaign_id": call.campaign_id,
                "contact_id": contact_id,
                "caller": call.caller,
                "script": call.script,
                "queue": request.queue,
            }
            if request.reason is HandoffReason.QUALIFIED:
                emit(
                    session,
                    EventType.LEAD_QUALIFIED,
                    {**common, "data": request.data, "slots": request.slots},
                    now,
                )
            emit(
                session,
                EventType.HANDOFF_REQUESTED,
                {
                    **common,
                    "target": request.target,
                    "reason": request.reason.value,
                    "outcome": request.outcome,
                    "data": request.data,
                    "requested_at": now.isoformat(),
                    "screen": screen_link(handoff.id),
                },
                now,
            )
            return Requested(handoff.id, call.campaign_id, contact_id)

    def _completed(self, handoff_id: int, answer_seconds: float, warm: dict | None, now: datetime) -> None:
        with self.db.session() as session:
            handoff = session.get(Handoff, handoff_id)
            handoff.state, handoff.finished_at = HandoffState.COMPLETED.value, now
            handoff.answer_seconds = answer_seconds
            _keep_warm(handoff, warm)
            ending = _store(
                handoff, connected(handoff.requested_at, now, answer_seconds, handoff.target, warm)
            )
            payload = {
                **_finished(handoff, ending),
                "answer_seconds": answer_seconds,
                "agent": ending.agent,
                "agent_answer_seconds": ending.agent_answer_seconds,
                "time_to_agent_seconds": ending.time_to_agent_seconds,
            }
            emit(session, EventType.HANDOFF_COMPLETED, payload, now)
            queue = handoff.queue
        handoff_ended(queue, ending)

    def _failed(
        self,
        handoff_id: int,
        failure: str,
        callback_at: datetime | None,
        warm: dict | None,
        cause: FailureCause,
        now: datetime,
    ) -> None:
        with self.db.session() as session:
            handoff = session.get(Handoff, handoff_id)
            handoff.state, handoff.finished_at = HandoffState.FAILED.value, now
            handoff.failure, handoff.callback_at = failure, callback_at
            _keep_warm(handoff, warm)
            ending = _store(handoff, failed(cause, callback_at, warm))
            payload = {
                **_finished(handoff, ending),
                "failure": failure,
                "taken_back": callback_at is not None,
                "callback_at": callback_at.isoformat() if callback_at else None,
                "caller": handoff.context.get("caller"),
                "campaign_id": handoff.context.get("campaign_id"),
                "contact_id": handoff.context.get("contact_id"),
            }
            emit(session, EventType.HANDOFF_FAILED, payload, now)
            queue = handoff.queue
        handoff_ended(queue, ending)


def _store(handoff: Handoff, ending: Ending) -> Ending:
    """Keep the hand-off's service-level facts in its row's columns (erasure keeps them)."""
    handoff.ended, handoff.agent = ending.end.value, ending.agent
    handoff.agent_answer_seconds = ending.agent_answer_seconds
    handoff.time_to_agent_seconds = ending.time_to_agent_seconds
    return ending


def _keep_warm(handoff: Handoff, warm: dict | None) -> None:
    if warm is not None:
        handoff.context = {**handoff.context, "warm": warm}  # a new dict: the JSON column sees the change


def _finished(handoff: Handoff, ending: Ending) -> dict[str, Any]:
    finished = {
        "handoff_id": handoff.id,
        "call_id": handoff.context.get("call_id"),
        "queue": handoff.queue,
        "target": handoff.target,
        "reason": handoff.reason,
        "ended": ending.end.value,
        "requested_at": handoff.requested_at.isoformat(),
        "finished_at": handoff.finished_at.isoformat(),
    }
    if "warm" in handoff.context:
        finished["warm"] = handoff.context["warm"]
    return finished
