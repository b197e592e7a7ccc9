"""GET /api/v1/audit (admin scope): the audit log, newest first."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, Limit, Offset
from bot.audit import AuditAction, entries

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require(Scope.ADMIN))])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


@router.get("", response_model=list[AuditEntryOut])
def list_audit(
    session: DbSession,
    action: Annotated[AuditAction | None, Query(description="only this kind of action")] = None,
    since: Annotated[AwareDatetime | None, Query(description="only entries from this moment on")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    return [asdict(e) for e in entries(session, action=action, since=since, limit=limit, offset=offset)]
