"""Hand-off endpoints: the transfers of calls to agent queues, and each one's screen pop for the agent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, EntityId, Limit, Offset
from bot.core.errors import NotFound
from bot.handoff.context import HandoffState
from bot.storage.models import Call, Handoff

router = APIRouter(prefix="/handoffs", tags=["handoffs"], dependencies=[Depends(require(Scope.READ))])


class HandoffOut(BaseModel):
    id: int
    call_id: str  # the call's id (as in /calls and the CRM events)
    queue: str
    target: str
    reason: str  # qualified, requested or stuck
    state: str  # requested, completed or failed
    requested_at: datetime
    finished_at: datetime | None
    answer_seconds: float | None
    failure: str
    callback_at: datetime | None


class ScreenPop(HandoffOut):
    """What the agent sees: who calls, from which campaign and script, what the robot learnt and heard."""

    caller: str
    called: str
    direction: str
    campaign_id: int | None
    contact_id: int | None
    script: str
    language: str
    outcome: str | None
    data: dict[str, Any]  # the script's key slots for this hand-off
    slots: dict[str, Any]
    transcript: list[dict[str, Any]]


def _out(handoff: Handoff, call_id: str) -> dict[str, Any]:
    fields = {name: getattr(handoff, name) for name in HandoffOut.model_fields if name != "call_id"}
    return {**fields, "call_id": call_id}


@router.get("", response_model=list[HandoffOut])
def list_handoffs(
    session: DbSession,
    state: Annotated[HandoffState | None, Query(description="only hand-offs in this state")] = None,
    queue: Annotated[str | None, Query(max_length=64, description="only this queue")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(Handoff, Call.call_id).join(Call, Call.id == Handoff.call_id)
    if state is not None:
        query = query.where(Handoff.state == state.value)
    if queue is not None:
        query = query.where(Handoff.queue == queue)
    rows = session.execute(query.order_by(Handoff.id.desc()).limit(limit).offset(offset))
    return [_out(handoff, call_id) for handoff, call_id in rows]


@router.get("/{handoff_id}", response_model=ScreenPop)
def get_handoff(handoff_id: EntityId, session: DbSession) -> dict[str, Any]:
    row = session.execute(
        select(Handoff, Call).join(Call, Call.id == Handoff.call_id).where(Handoff.id == handoff_id)
    ).first()
    if row is None:
        raise NotFound(f"no hand-off {handoff_id}")
    handoff, call = row
    context = handoff.context
    return {
        **_out(handoff, call.call_id),
        "caller": call.caller,
        "called": call.called,
        "direction": call.direction,
        "campaign_id": call.campaign_id,
        "contact_id": context.get("contact_id"),
        "script": call.script,
        "language": call.language,
        "outcome": context.get("outcome"),
        "data": context.get("data") or {},
        "slots": context.get("slots") or {},
        "transcript": context.get("transcript") or [],
    }
