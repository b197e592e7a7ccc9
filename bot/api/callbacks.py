"""Callback tasks: callers who are no campaign contact (inbound) and asked the script to call them back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, Limit, Offset
from bot.storage.models import Call, CallbackTask

router = APIRouter(prefix="/callbacks", tags=["callbacks"], dependencies=[Depends(require(Scope.READ))])


class CallbackTaskOut(BaseModel):
    id: int
    call_id: str  # the call it was asked in (as in /calls and the CRM events)
    phone: str  # the number to call back
    script: str
    language: str
    due_at: datetime  # the time the caller asked for
    created_at: datetime


@router.get("", response_model=list[CallbackTaskOut])
def list_callbacks(
    session: DbSession,
    due_before: Annotated[
        AwareDatetime | None, Query(description="only tasks due before this moment (with an offset)")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Soonest due first."""
    query = select(CallbackTask, Call.call_id).join(Call, Call.id == CallbackTask.call_id)
    if due_before is not None:
        query = query.where(CallbackTask.due_at < due_before)
    rows = session.execute(query.order_by(CallbackTask.due_at, CallbackTask.id).limit(limit).offset(offset))
    fields = [name for name in CallbackTaskOut.model_fields if name != "call_id"]
    return [{**{name: getattr(task, name) for name in fields}, "call_id": call_id} for task, call_id in rows]
