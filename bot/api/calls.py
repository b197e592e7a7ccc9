"""Call endpoints: attempts with their outcome, transcript and recording path."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bot.api.auth import Scope, require
from bot.api.deps import CampaignFilter, DbSession, EntityId, Limit, Offset
from bot.api.schemas import CallDetailOut, CallOut
from bot.campaigns import service
from bot.storage.models import Attempt

router = APIRouter(prefix="/calls", tags=["calls"], dependencies=[Depends(require(Scope.READ))])


@router.get("", response_model=list[CallOut])
def list_calls(
    session: DbSession,
    campaign_id: CampaignFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Attempt]:
    return service.calls(session, campaign_id, limit, offset)


@router.get("/{call_id}", response_model=CallDetailOut)
def get_call(call_id: EntityId, session: DbSession) -> Attempt:
    return service.call(session, call_id)
