"""The narrow per-call facts most metrics need, read in one streamed query (no JSON columns); one column of the
answered calls for the metrics read from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.metrics.filters import CallFilter
from bot.outcomes import Outcome
from bot.storage.models import Attempt, Call, Handoff
from telephony import CallDirection, CallState
from voice.amd import Verdict


@dataclass(frozen=True)
class CallFacts:
    """One ended call as the summary metrics see it."""

    started_at: datetime
    direction: str
    script: str
    campaign_id: int | None
    contact: tuple[str, str]  # ("contact", id) for campaign calls, ("phone", number) otherwise
    answered: bool
    machine: bool
    talk_seconds: float
    outcome: str
    handoffs: int
    handoffs_completed: int
    handoffs_failed: int

    @property
    def reached(self) -> bool:
        """Answered by a person (not an answering machine)."""
        return self.answered and not self.machine


def is_machine(amd: str, outcome: str) -> bool:
    return amd == Verdict.MACHINE or outcome == Outcome.MACHINE


def ended_calls(session: Session, where: CallFilter, batch: int = 5000) -> Iterator[CallFacts]:
    """The ended calls matching `where`, oldest first, with their hand-off counts."""
    handoffs = (
        select(
            Handoff.call_id,
            func.count().label("total"),
            func.sum(case((Handoff.state == "completed", 1), else_=0)).label("completed"),
            func.sum(case((Handoff.state == "failed", 1), else_=0)).label("failed"),
        )
        .group_by(Handoff.call_id)
        .subquery()
    )
    query = (
        select(
            Call.started_at,
            Call.direction,
            Call.script,
            Call.campaign_id,
            Attempt.contact_id,
            Call.caller,
            Call.called,
            Call.answered_at,
            Call.amd,
            Call.talk_seconds,
            Call.outcome,
            handoffs.c.total,
            handoffs.c.completed,
            handoffs.c.failed,
        )
        .outerjoin(Attempt, Attempt.id == Call.attempt_id)
        .outerjoin(handoffs, handoffs.c.call_id == Call.id)
        .where(Call.state == CallState.ENDED, *where.where())
        .order_by(Call.started_at, Call.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        if row.contact_id is not None:
            contact = ("contact", str(row.contact_id))
        else:
            contact = ("phone", row.caller if row.direction == CallDirection.INBOUND else row.called)
        yield CallFacts(
            started_at=row.started_at,
            direction=row.direction,
            script=row.script,
            campaign_id=row.campaign_id,
            contact=contact,
            answered=row.answered_at is not None,
            machine=is_machine(row.amd, row.outcome),
            talk_seconds=row.talk_seconds,
            outcome=row.outcome,
            handoffs=row.total or 0,
            handoffs_completed=row.completed or 0,
            handoffs_failed=row.failed or 0,
        )


def answered_calls(
    session: Session, where: CallFilter, column: InstrumentedAttribute[Any], batch: int = 2000
) -> Iterator[tuple[datetime, Any]]:
    """(start, `column`) of the answered ended calls matching `where`, oldest first, streamed: for a metric read
    from one column (the turns, the slots)."""
    query = (
        select(Call.started_at, column)
        .where(Call.state == CallState.ENDED, Call.answered_at.is_not(None), *where.where())
        .order_by(Call.started_at, Call.id)
        .execution_options(yield_per=batch)
    )
    yield from session.execute(query)
