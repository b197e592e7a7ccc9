"""Dialing paced by free agents: a lead campaign starts no more calls than the agents of its queue can take.

Before each claim the dialer asks `AgentPacer.room()` how many new calls a campaign with `agent_pacing` may
start. The rule (`calls_allowed`) keeps the expected leads within the queue's capacity:

    (calls up not handed off yet + new calls) × lead rate  ≤  free agents + (max_waiting − waiting now) − arriving

Arriving are the campaign's calls up whose hand-off the records show requested but which are neither connected
nor in the board's line (a warm transfer synthesises its summary first, then rings an agent): each takes one
place. While its agent rings it is counted twice (the agent is not free either): pacing errs on the slow side.

The lead rate is the campaign's measured one — its answered calls that were handed off to the queue, over its
answered calls — blended with a prior of 1 (every call a lead) worth `PRIOR_CALLS` calls, so a new campaign
starts slowly and speeds up as its records show fewer leads. Calls already handed off are not counted again:
they are in the board's busy agents or waiting line. With a rate below 1 the rule bounds the *expected*
leads; a run of leads above the rate can still fill the line, where the queue takes back a customer beyond its
`max_waiting` (bot/handoff/queue_wait.py).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from loguru import logger
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from bot.campaigns.placer import TelephonyResult
from bot.campaigns.rules import AgentPacing, CampaignRules
from bot.core.errors import InvalidInput
from bot.dialog.model import Script
from bot.handoff.agents import AgentBoard
from bot.handoff.context import HandoffState
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Campaign, Handoff
from bot.storage.states import AttemptState

PRIOR_LEAD_RATE = 1.0  # until measured, every answered call is a lead: a new campaign starts slow
PRIOR_CALLS = 5  # the prior weighs as much as this many answered calls


class AgentCapacity(Protocol):
    """What pacing needs to know of a queue's agents now (bot/handoff/agents.py's board, through an adapter)."""

    def agent_count(self, queue: str) -> int: ...

    def free_count(self, queue: str) -> int: ...

    def waiting_count(self, queue: str) -> int: ...

    def max_waiting(self, queue: str) -> int: ...

    def is_waiting(self, queue: str, call_id: str) -> bool: ...


class PaceState(StrEnum):
    OPEN = "open"  # agents do not limit the campaign now
    SLOWED = "slowed"  # fewer new calls than its other limits allow
    PAUSED = "paused"  # no new call until an agent frees up


@dataclass(frozen=True)
class Pace:
    """The last pacing decision for a campaign: how many calls it may start and the figures behind it."""

    state: PaceState
    allowed: int
    queue: str
    agents: int
    free: int
    waiting: int
    max_waiting: int
    calls_up: int  # calls of the campaign up now and not handed off yet
    arriving: int  # hand-offs requested and not yet on the board (no agent, not in the line)
    lead_rate: float
    answered: int  # answered calls the rate is measured on


def lead_rate(leads: int, answered: int) -> float:
    """The measured lead rate (leads / answered calls) blended with the prior; at most 1."""
    rate = (leads + PRIOR_LEAD_RATE * PRIOR_CALLS) / (answered + PRIOR_CALLS)
    return min(1.0, rate)


def calls_allowed(
    wanted: int, calls_up: int, rate: float, free: int, waiting: int, max_waiting: int, arriving: int
) -> int:
    """New calls (≤ `wanted`) that keep (calls_up + new) × rate ≤ free + (max_waiting − waiting) − arriving."""
    if wanted <= 0:
        return 0
    room = free + max(0, max_waiting - waiting) - arriving
    if rate <= 0:
        return wanted if room >= 0 else 0
    fits = math.floor(room / rate + 1e-9) - calls_up
    return max(0, min(wanted, fits))


def default_queue(lead_queue: str | None, operator_queue: str | None) -> str | None:
    """The queue a script hands its leads to: its `lead.queue`, else its `operator_queue`."""
    return lead_queue or operator_queue


def script_queue(scripts: Mapping[str, Script], script_id: str) -> str | None:
    """The queue the script `script_id` hands its leads to (None: unknown script, or it hands off nowhere)."""
    script = scripts.get(script_id)
    if script is None:
        return None
    return default_queue(script.lead.queue if script.lead else None, script.operator_queue)


class UnknownPacingQueue(InvalidInput):
    """A campaign is paced by the agents of a queue that is not configured."""

    def __init__(self, queue: str, known: str) -> None:
        super().__init__(
            f"queue {queue!r} is not configured in handoff.queues (configured: {known})",
            "rules.agent_pacing.queue",
        )
        self.queue, self.known = queue, known


def check_pacing(rules: CampaignRules | None, queues: Collection[str]) -> None:
    """A campaign paced by agents names a configured queue, or none (its script's, checked when scripts load)."""
    pacing = rules.agent_pacing if rules else None
    if pacing is not None and pacing.queue is not None and pacing.queue not in queues:
        raise UnknownPacingQueue(pacing.queue, ", ".join(sorted(queues)) or "—")


@dataclass(frozen=True)
class _Counts:
    answered: int  # the campaign's answered calls
    leads: int  # those handed off to the queue
    calls_up: int  # its calls up and not handed off
    requested: list[str]  # its calls up whose hand-off to the queue is requested (no result yet)


def _counts(session: Session, campaign_id: int, queue: str) -> _Counts:
    """The campaign's figures from its records (attempts, calls, hand-offs to `queue`). Its calls up and their
    hand-offs are read in one statement: one snapshot, so a call ending meanwhile is counted in neither or both."""
    up = session.execute(
        select(Attempt.id, Call.call_id, Handoff.state)
        .outerjoin(Call, Call.attempt_id == Attempt.id)
        .outerjoin(Handoff, (Handoff.call_id == Call.id) & (Handoff.queue == queue))
        .where(Attempt.campaign_id == campaign_id, Attempt.state == AttemptState.IN_FLIGHT)
        .order_by(Attempt.id, Handoff.id)
    ).all()
    last = {
        attempt: (call_id, state) for attempt, call_id, state in up
    }  # each call's latest hand-off, or None
    handed_off = (
        select(func.count(distinct(Attempt.id)))
        .join(Call, Call.attempt_id == Attempt.id)
        .join(Handoff, Handoff.call_id == Call.id)
        .where(
            Attempt.campaign_id == campaign_id,
            Attempt.result == TelephonyResult.ANSWERED,
            Handoff.queue == queue,
        )
    )
    answered = select(func.count()).where(
        Attempt.campaign_id == campaign_id, Attempt.result == TelephonyResult.ANSWERED
    )
    return _Counts(
        answered=session.scalar(answered),
        leads=session.scalar(handed_off),
        calls_up=sum(state is None for _, state in last.values()),
        requested=[call_id for call_id, state in last.values() if state == HandoffState.REQUESTED],
    )


class AgentPacer:
    """Paces the campaigns whose rules ask for it; `paces` holds each one's last decision (API, dashboard).

    `script_queue` names the queue a script hands leads to (for campaigns that name none)."""

    def __init__(
        self, db: Database, agents: AgentCapacity, script_queue: Callable[[str], str | None]
    ) -> None:
        self.db = db
        self.agents = agents
        self.script_queue = script_queue
        self.paces: dict[int, Pace] = {}
        self._no_queue: set[int] = set()  # paced campaigns already warned of having no queue

    async def room(self, campaign: Campaign, pacing: AgentPacing | None, wanted: int) -> int:
        """How many of `wanted` new calls the campaign may start now (all of them when it is not paced)."""
        queue = (pacing.queue or self.script_queue(campaign.script)) if pacing else None
        if queue is None:
            if pacing is not None and campaign.id not in self._no_queue:
                self._no_queue.add(campaign.id)
                logger.warning(
                    f"campaign {campaign.id}: paced by agents, but its script hands off to no queue"
                )
            self.paces.pop(campaign.id, None)
            return wanted
        counts = await asyncio.to_thread(self._read, campaign.id, queue)
        pace = self._decide(queue, counts, wanted)
        before = self.paces.get(campaign.id)
        if before is None or before.state is not pace.state:
            logger.info(
                f"campaign {campaign.id}: dialing {pace.state} by agents of {queue} ({pace.free} of "
                f"{pace.agents} free, {pace.waiting} waiting of {pace.max_waiting}, {pace.calls_up} calls up, "
                f"lead rate {pace.lead_rate:.2f})"
            )
        self.paces[campaign.id] = pace
        return pace.allowed

    def _read(self, campaign_id: int, queue: str) -> _Counts:
        with self.db.session() as session:
            return _counts(session, campaign_id, queue)

    def _decide(self, queue: str, counts: _Counts, wanted: int) -> Pace:
        free, waiting = self.agents.free_count(queue), self.agents.waiting_count(queue)
        limit = self.agents.max_waiting(queue)
        rate = lead_rate(counts.leads, counts.answered)
        arriving = sum(not self.agents.is_waiting(queue, call_id) for call_id in counts.requested)
        allowed = calls_allowed(wanted, counts.calls_up, rate, free, waiting, limit, arriving)
        if allowed >= wanted:
            state = PaceState.OPEN
        else:
            state = PaceState.PAUSED if allowed == 0 else PaceState.SLOWED
        return Pace(
            state, allowed, queue, self.agents.agent_count(queue), free, waiting, limit, counts.calls_up,
            arriving, rate, counts.answered,
        )  # fmt: skip


class BoardCapacity:
    """`AgentCapacity` read from the process's `AgentBoard`. An agent the board does not know to be busy, ringing
    or unreachable (not probed yet, or probing off) counts as free, as a warm transfer would ring it."""

    def __init__(self, board: AgentBoard) -> None:
        self.board = board

    def agent_count(self, queue: str) -> int:
        return len(self.board.agents(queue))

    def free_count(self, queue: str) -> int:
        return len(self.board.dialable(queue))

    def waiting_count(self, queue: str) -> int:
        return self.board.waiting_count(queue)

    def max_waiting(self, queue: str) -> int:
        settings = self.board.settings.queues.get(queue)
        return settings.max_waiting if settings else 0

    def is_waiting(self, queue: str, call_id: str) -> bool:
        return self.board.position(queue, call_id) is not None
