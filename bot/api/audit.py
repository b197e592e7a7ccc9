"""GET /api/v1/audit (admin scope): the audit log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, Limit, Offset
from bot.audit import AuditAction, AuditRecord, entries

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require(Scope.ADMIN))])


@router.get("", response_model=list[AuditRecord])
def list_audit(
    session: DbSession,
    action: Annotated[AuditAction | None, Query(description="only this kind of action")] = None,
    since: Annotated[AwareDatetime | None, Query(description="only entries from this moment on")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditRecord]:
    return entries(session, action=action, since=since, limit=limit, offset=offset)
