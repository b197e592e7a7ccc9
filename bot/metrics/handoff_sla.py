"""Hand-off service levels per queue and period: how many transfers reached an agent, how fast, how many
customers gave up waiting, and who took them.

One hand-off row becomes `HandoffFacts` (`facts`: how it ended and its times, read from the row and its warm
transfer report); `sla_rows` aggregates facts, `handoff_sla` reads the rows matching a call filter. Times:

- agent answer: ringing → answer of the accepted agent (warm: the accepted leg's `answered_at − dialled_at`;
  blind: the REFER's `answer_seconds`, REFER sent → agent answered);
- time to agent: hand-off requested → customer joined to the agent (`finished_at − requested_at` of a connected
  hand-off: the robot's last words, the wait in queue and the ringing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.stats import nearest_rank
from bot.handoff.context import HandoffState
from bot.metrics.filters import CallFilter, Group, bucket
from bot.metrics.stats import percent
from bot.storage.models import Call, Handoff

DEFAULT_SLA_SECONDS = 20.0  # the classic 80/20 service level: 80 % of customers with an agent within 20 s
CUSTOMER_LEFT = "customer_left"  # a warm leg's result when the customer hung up while that agent was rung
ABANDONED_WAIT = "abandoned"  # how a queue wait ends when the customer hung up while waiting for a free agent
CALL_ENDED_FIRST = "the call ended before the transfer had a result"  # bot/handoff/desk.py's failure text


class HandoffEnd(StrEnum):
    """How a hand-off ended, for the service level."""

    PENDING = "pending"  # still requested (ringing, waiting, or never finished)
    CONNECTED = "connected"  # the customer reached an agent
    ABANDONED = "abandoned"  # the customer hung up while agents were rung or while waiting in queue
    TAKEN_BACK = "taken_back"  # no agent took the call: the robot took it back with a callback
    FAILED = "failed"  # failed otherwise (a blind transfer that left the robot and failed at the PBX)


@dataclass(frozen=True)
class HandoffFacts:
    queue: str
    requested_at: datetime
    end: HandoffEnd
    agent: str | None = None  # who accepted
    answer_seconds: float | None = None  # agent's ring → answer of the accepted leg
    to_agent_seconds: float | None = None  # hand-off requested → joined


class HandoffSlaRow(BaseModel):
    bucket: datetime | None = Field(description="local start of the day or hour; null for the whole period")
    queue: str | None = Field(description="the queue; null for all queues together")
    requested: int = Field(description="hand-offs requested")
    connected: int = Field(description="customers joined to an agent")
    connect_rate: float | None = Field(description="connected / finished (requested minus pending), %")
    abandoned: int = Field(
        description="customers who hung up while agents were rung or while waiting in queue"
    )
    taken_back: int = Field(description="no agent took the call: taken back by the robot with a callback")
    failed: int = Field(description="failed otherwise (e.g. a blind transfer refused by the PBX)")
    pending: int = Field(description="not finished yet")
    agent_answer_p50: float | None = Field(description="agent's ring → answer of the accepted leg, s")
    agent_answer_p90: float | None
    to_agent_p50: float | None = Field(description="hand-off requested → joined to the agent, s")
    to_agent_p90: float | None
    sla_seconds: float
    within_sla: int = Field(description="connected within sla_seconds of the request")
    service_level: float | None = Field(description="within_sla / finished, %")
    accepted_by: dict[str, int] = Field(description="connected hand-offs per agent")


def facts(
    queue: str,
    state: str,
    requested_at: datetime,
    finished_at: datetime | None,
    answer_seconds: float | None,
    failure: str,
    callback_at: datetime | None,
    target: str,
    warm: Any,
) -> HandoffFacts:
    """What one `handoffs` row says about the service level (`warm`: its context's warm transfer report, if any)."""
    warm = warm if isinstance(warm, dict) else None
    if state == HandoffState.COMPLETED:
        answer, agent = answer_seconds, target
        if warm is not None:
            accepted = next((leg for leg in _legs(warm) if leg.get("result") == "accepted"), None)
            agent = warm.get("accepted_by") or agent
            answer = _leg_answer(accepted) if accepted else None
        to_agent = (finished_at - requested_at).total_seconds() if finished_at else None
        return HandoffFacts(queue, requested_at, HandoffEnd.CONNECTED, agent, answer, to_agent)
    if state != HandoffState.FAILED:
        return HandoffFacts(queue, requested_at, HandoffEnd.PENDING)
    if callback_at is not None:
        return HandoffFacts(queue, requested_at, HandoffEnd.TAKEN_BACK)
    if failure == CALL_ENDED_FIRST or (warm is not None and _customer_left(warm)):
        return HandoffFacts(queue, requested_at, HandoffEnd.ABANDONED)
    return HandoffFacts(queue, requested_at, HandoffEnd.FAILED)


def kept_when_erased(context: dict[str, Any], failure: str) -> tuple[dict[str, Any], str]:
    """A hand-off's context and failure once its words are erased (forget, retention): only what `facts` reads —
    each warm leg's agent, times and result, who accepted, how the queue wait ended; the failure only when it is
    the fixed text of a call that ended first — so the service levels stay the same."""
    warm = (context or {}).get("warm")
    kept_failure = failure if failure == CALL_ENDED_FIRST else ""
    if not isinstance(warm, dict):
        return {}, kept_failure
    legs = [
        {key: leg[key] for key in ("agent", "dialled_at", "answered_at", "result") if key in leg}
        for leg in _legs(warm)
    ]
    wait = warm.get("queue_wait")
    slim = {
        "legs": legs,
        "accepted_by": warm.get("accepted_by"),
        "queue_wait": {"ended": wait.get("ended")} if isinstance(wait, dict) else None,
    }
    return {"warm": slim}, kept_failure


def _legs(warm: dict[str, Any]) -> list[dict[str, Any]]:
    legs = warm.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _leg_answer(leg: dict[str, Any]) -> float | None:
    dialled, answered = leg.get("dialled_at"), leg.get("answered_at")
    if isinstance(dialled, int | float) and isinstance(answered, int | float):
        return round(answered - dialled, 3)
    return None


def _customer_left(warm: dict[str, Any]) -> bool:
    """The customer, not the agents, ended the warm transfer: the last leg's result, or the queue wait's end."""
    wait = warm.get("queue_wait")
    if isinstance(wait, dict) and wait.get("ended") == ABANDONED_WAIT:
        return True
    legs = _legs(warm)
    return bool(legs) and legs[-1].get("result") == CUSTOMER_LEFT


def sla_rows(
    handoffs: Iterable[HandoffFacts],
    sla_seconds: float = DEFAULT_SLA_SECONDS,
    by_bucket: Callable[[datetime], datetime | None] | None = None,
) -> list[HandoffSlaRow]:
    """One row per (bucket, queue) and, per bucket, one for all queues (queue null) first; `by_bucket` maps a
    request time to its bucket (None: one bucket)."""
    groups: dict[tuple[datetime | None, str | None], list[HandoffFacts]] = {}
    for item in handoffs:
        at = by_bucket(item.requested_at) if by_bucket else None
        groups.setdefault((at, None), []).append(item)
        groups.setdefault((at, item.queue), []).append(item)
    if not groups:
        groups[(None, None)] = []
    order = sorted(
        groups, key=lambda key: (key[0] is not None, key[0] or 0, key[1] is not None, key[1] or "")
    )
    return [_row(at, queue, groups[(at, queue)], sla_seconds) for at, queue in order]


def _row(
    at: datetime | None, queue: str | None, items: list[HandoffFacts], sla_seconds: float
) -> HandoffSlaRow:
    count = {end: sum(1 for item in items if item.end is end) for end in HandoffEnd}
    connected = [item for item in items if item.end is HandoffEnd.CONNECTED]
    finished = len(items) - count[HandoffEnd.PENDING]
    answers = [item.answer_seconds for item in connected if item.answer_seconds is not None]
    to_agent = [item.to_agent_seconds for item in connected if item.to_agent_seconds is not None]
    within = sum(1 for seconds in to_agent if seconds <= sla_seconds)
    agents: dict[str, int] = {}
    for item in connected:
        if item.agent:
            agents[item.agent] = agents.get(item.agent, 0) + 1
    return HandoffSlaRow(
        bucket=at,
        queue=queue,
        requested=len(items),
        connected=len(connected),
        connect_rate=percent(len(connected), finished),
        abandoned=count[HandoffEnd.ABANDONED],
        taken_back=count[HandoffEnd.TAKEN_BACK],
        failed=count[HandoffEnd.FAILED],
        pending=count[HandoffEnd.PENDING],
        agent_answer_p50=nearest_rank(answers, 50),
        agent_answer_p90=nearest_rank(answers, 90),
        to_agent_p50=_rounded(nearest_rank(to_agent, 50)),
        to_agent_p90=_rounded(nearest_rank(to_agent, 90)),
        sla_seconds=sla_seconds,
        within_sla=within,
        service_level=percent(within, finished),
        accepted_by=dict(sorted(agents.items(), key=lambda pair: (-pair[1], pair[0]))),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def handoff_sla(
    session: Session,
    where: CallFilter,
    queue: str | None = None,
    group: Group = Group.NONE,
    sla_seconds: float = DEFAULT_SLA_SECONDS,
) -> list[HandoffSlaRow]:
    """The hand-off service levels of the calls matching `where` (and of one queue), per local bucket of the
    request time."""
    query = (
        select(
            Handoff.queue,
            Handoff.state,
            Handoff.requested_at,
            Handoff.finished_at,
            Handoff.answer_seconds,
            Handoff.failure,
            Handoff.callback_at,
            Handoff.target,
            Handoff.context["warm"],  # not the whole context: it holds the transcript
        )
        .join(Call, Call.id == Handoff.call_id)
        .where(*where.where())
        .order_by(Handoff.requested_at, Handoff.id)
        .execution_options(yield_per=1000)
    )
    if queue:
        query = query.where(Handoff.queue == queue)
    rows = (facts(*row) for row in session.execute(query))
    return sla_rows(rows, sla_seconds, lambda moment: bucket(moment, group, where.zone))
