"""Call endpoints: attempts with their outcome, transcript and recording path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bot.api.auth import Scope, require
from bot.api.deps import DbSession
from bot.api.schemas import CallDetailOut, CallOut
from bot.campaigns import service
from bot.storage.models import Attempt

router = APIRouter(prefix="/calls", tags=["calls"], dependencies=[Depends(require(Scope.READ))])


@router.get("", response_model=list[CallOut])
def list_calls(
    session: DbSession,
    campaign_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Attempt]:
    return service.calls(session, campaign_id, limit, offset)


@router.get("/{call_id}", response_model=CallDetailOut)
def get_call(call_id: int, session: DbSession) -> Attempt:
    return service.call(session, call_id)
