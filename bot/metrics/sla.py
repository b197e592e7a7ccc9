"""Service levels: inbound calls answered by the robot within N seconds, hand-offs answered by an agent within M."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.metrics.filters import CallFilter
from bot.metrics.stats import mean, percent
from bot.storage.models import Call, Handoff
from telephony.events import CallDirection, CallState

DEFAULT_ROBOT_SECONDS = 5.0
DEFAULT_AGENT_SECONDS = 20.0


class SlaOut(BaseModel):
    answer_within_seconds: float
    inbound_offered: int = Field(description="inbound calls answered or ended (still ringing: not counted)")
    inbound_answered: int
    inbound_answered_within: int
    robot_sla: float | None = Field(description="inbound_answered_within / inbound_offered, %")
    avg_ring_seconds: float | None = Field(description="mean ring time of answered inbound calls")
    agent_within_seconds: float
    handoffs_finished: int = Field(description="hand-offs completed or failed")
    handoffs_answered_within: int
    agent_sla: float | None = Field(description="handoffs_answered_within / handoffs_finished, %")
    avg_agent_answer_seconds: float | None = Field(description="mean answer time of completed hand-offs")


def sla(
    session: Session,
    where: CallFilter,
    robot_seconds: float = DEFAULT_ROBOT_SECONDS,
    agent_seconds: float = DEFAULT_AGENT_SECONDS,
) -> SlaOut:
    """Both service levels over the calls matching `where` (the robot's over its inbound calls only)."""
    conditions = where.where()
    answered = Call.answered_at.is_not(None)
    within = and_(answered, Call.ring_seconds <= robot_seconds)
    inbound = session.execute(
        select(
            func.count(),
            func.count().filter(answered),
            func.count().filter(within),
            func.sum(Call.ring_seconds).filter(answered),
        ).where(
            Call.direction == CallDirection.INBOUND, or_(answered, Call.state == CallState.ENDED), *conditions
        )
    ).one()
    completed = Handoff.state == "completed"
    agent_within = and_(completed, Handoff.answer_seconds <= agent_seconds)
    handoffs = session.execute(
        select(
            func.count(),
            func.count().filter(agent_within),
            func.count(Handoff.answer_seconds).filter(completed),
            func.sum(Handoff.answer_seconds).filter(completed),
        )
        .join(Call, Call.id == Handoff.call_id)
        .where(Handoff.state.in_(("completed", "failed")), *conditions)
    ).one()
    return SlaOut(
        answer_within_seconds=robot_seconds,
        inbound_offered=inbound[0],
        inbound_answered=inbound[1],
        inbound_answered_within=inbound[2],
        robot_sla=percent(inbound[2], inbound[0]),
        avg_ring_seconds=mean(inbound[3] or 0.0, inbound[1]),
        agent_within_seconds=agent_seconds,
        handoffs_finished=handoffs[0],
        handoffs_answered_within=handoffs[1],
        agent_sla=percent(handoffs[1], handoffs[0]),
        avg_agent_answer_seconds=mean(handoffs[3] or 0.0, handoffs[2]),
    )
