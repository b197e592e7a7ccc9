"""Hand-off service levels per queue and period: how many transfers reached an agent, how fast, how many
customers gave up waiting, and who took them.

Each `handoffs` row holds its service-level facts in columns, decided when it finished (bot/handoff/ending.py
says how: `ended`, `agent`, `agent_answer_seconds`, `time_to_agent_seconds`); `handoff_sla` reads them for the
rows matching a call filter and `sla_rows` aggregates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.stats import nearest_rank
from bot.metrics.filters import CallFilter, Group, bucket
from bot.metrics.stats import percent
from bot.storage.models import Call, Handoff
from bot.storage.states import HandoffEnd

DEFAULT_SLA_SECONDS = 20.0  # the classic 80/20 service level: 80 % of customers with an agent within 20 s


@dataclass(frozen=True)
class HandoffFacts:
    """One hand-off as its row's columns hold it."""

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
            Handoff.requested_at,
            Handoff.ended,
            Handoff.agent,
            Handoff.agent_answer_seconds,
            Handoff.time_to_agent_seconds,
        )
        .join(Call, Call.id == Handoff.call_id)
        .where(*where.where())
        .order_by(Handoff.requested_at, Handoff.id)
        .execution_options(yield_per=1000)
    )
    if queue:
        query = query.where(Handoff.queue == queue)
    rows = (
        HandoffFacts(name, at, HandoffEnd(ended), agent, answer, to_agent)
        for name, at, ended, agent, answer, to_agent in session.execute(query)
    )
    return sla_rows(rows, sla_seconds, lambda moment: bucket(moment, group, where.zone))
