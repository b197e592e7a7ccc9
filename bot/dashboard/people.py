"""The People page (admin scope): dashboard users and API keys made, disabled, enabled, removed or revoked in the
browser, and the Audit page listing the audit log with filters. Every change is recorded in the audit log in its
own transaction; the platform never loses its last admin."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import accounts
from bot.access.accounts import AccountError
from bot.access.session import Principal
from bot.api.auth import AdminCaller, Scope, actor_of, create_audited_key, is_last_admin_key, revoke_key
from bot.api.deps import AppSettings, DbSession, EntityId, Now
from bot.audit import AuditAction, entries, record
from bot.dashboard.routes import PREFIX, User, render
from bot.dashboard.upload_http import say
from bot.storage.models import ApiKey, DashboardAccount

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PAGE = 200


class UserIn(BaseModel):
    name: str = Field(max_length=100)
    password: str = Field(max_length=200)
    scope: Literal["read", "write", "admin"]


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


def _refused(request: Request, code: int, error: AccountError) -> JSONResponse:
    return JSONResponse({"message": say(request, error.key, **error.params)}, code)


# -- pages ------------------------------------------------------------------------------------------------------


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, who: User, session: DbSession, settings: AppSettings) -> HTMLResponse:
    if who.scope != Scope.ADMIN:
        return render(request, "forbidden.html", who, page="people", status_code=status.HTTP_403_FORBIDDEN)
    users = session.scalars(select(DashboardAccount).order_by(DashboardAccount.name)).all()
    keys = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
    configured = sorted(settings.dashboard.users.items())
    return render(request, "people.html", who, page="people", users=users, keys=keys, configured=configured)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    who: User,
    session: DbSession,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """Newest first; filters: one kind of action, an actor (part of its name), a first day (UTC)."""
    if who.scope != Scope.ADMIN:
        return render(request, "forbidden.html", who, page="audit", status_code=status.HTTP_403_FORBIDDEN)
    kind = AuditAction(action) if action in set(AuditAction) else None
    try:
        day = (
            datetime.combine(datetime.strptime(since, "%Y-%m-%d").date(), time(), tzinfo=UTC)
            if since
            else None
        )
    except ValueError:
        day = None
    rows = entries(session, action=kind, since=day, actor=actor.strip(), limit=AUDIT_PAGE)
    return render(
        request,
        "audit.html",
        who,
        page="audit",
        rows=rows,
        actions=[a.value for a in AuditAction],
        chosen={"action": kind.value if kind else "", "actor": actor, "since": since if day else ""},
        limit=AUDIT_PAGE,
    )


# -- users ------------------------------------------------------------------------------------------------------


@router.post("/people/users", status_code=status.HTTP_201_CREATED, response_model=None)
def create_user(
    request: Request, body: UserIn, who: AdminCaller, session: DbSession, settings: AppSettings, now: Now
) -> JSONResponse:
    try:
        row = accounts.create(session, settings.dashboard, body.name, body.password, body.scope, now)
    except AccountError as error:
        return _refused(request, status.HTTP_422_UNPROCESSABLE_CONTENT, error)
    _audit(session, AuditAction.USER_CREATE, who, row, now, with_scope=True)
    return JSONResponse({"id": row.id, "name": row.name, "scope": row.scope}, status.HTTP_201_CREATED)


def _audit(
    session: Session,
    action: AuditAction,
    who: ApiKey | Principal,
    row: DashboardAccount,
    now: datetime,
    with_scope: bool = False,
) -> None:
    """The audit entry of an admin's change to a user, in the change's transaction."""
    detail = {"scope": row.scope} if with_scope else None
    record(session, action, actor=actor_of(who), at=now, target=f"user:{row.name}", detail=detail)


def _account(session: Session, user_id: int) -> DashboardAccount | None:
    return session.get(DashboardAccount, user_id)


def _last_admin(session: Session, settings: AppSettings, row: DashboardAccount) -> bool:
    return (
        row.scope == Scope.ADMIN
        and not row.disabled
        and accounts.admins_besides(session, settings.dashboard, account=row.id) == 0
    )


@router.post("/people/users/{user_id}/{change}", response_model=None)
def change_user(
    request: Request,
    user_id: EntityId,
    change: Literal["disable", "enable"],
    who: AdminCaller,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> JSONResponse:
    row = _account(session, user_id)
    if row is None:
        return JSONResponse({"message": say(request, "people.error.no_user")}, status.HTTP_404_NOT_FOUND)
    if change == "disable" and _last_admin(session, settings, row):
        return _refused(
            request, status.HTTP_409_CONFLICT, AccountError("people.error.last_admin", name=row.name)
        )
    row.disabled = change == "disable"
    action = AuditAction.USER_DISABLE if row.disabled else AuditAction.USER_ENABLE
    _audit(session, action, who, row, now)
    return JSONResponse({"id": row.id, "disabled": row.disabled})


@router.delete("/people/users/{user_id}", response_model=None)
def remove_user(
    request: Request, user_id: EntityId, who: AdminCaller, session: DbSession, settings: AppSettings, now: Now
) -> JSONResponse:
    row = _account(session, user_id)
    if row is None:
        return JSONResponse({"message": say(request, "people.error.no_user")}, status.HTTP_404_NOT_FOUND)
    if _last_admin(session, settings, row):
        return _refused(
            request, status.HTTP_409_CONFLICT, AccountError("people.error.last_admin", name=row.name)
        )
    _audit(session, AuditAction.USER_REMOVE, who, row, now, with_scope=True)
    session.delete(row)
    return JSONResponse({"id": user_id, "removed": True})


# -- API keys ---------------------------------------------------------------------------------------------------


@router.post("/people/keys", status_code=status.HTTP_201_CREATED, response_model=None)
def create_api_key(
    request: Request, body: KeyIn, who: AdminCaller, session: DbSession, now: Now
) -> JSONResponse:
    """The plain key is in this answer only (only its hash is stored)."""
    row, key = create_audited_key(session, body.name.strip(), body.scopes, now, who)
    return JSONResponse(
        {"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": row.scopes.split(","), "key": key},
        status.HTTP_201_CREATED,
    )


@router.delete("/people/keys/{key_id}", response_model=None)
def revoke_api_key(
    request: Request, key_id: EntityId, who: AdminCaller, session: DbSession, settings: AppSettings, now: Now
) -> JSONResponse:
    row = session.get(ApiKey, key_id)
    if row is None:
        return JSONResponse({"message": say(request, "people.error.no_key")}, status.HTTP_404_NOT_FOUND)
    if row.revoked:
        return JSONResponse({"id": row.id, "revoked": True})
    if is_last_admin_key(session, settings.dashboard, row):
        return _refused(
            request, status.HTTP_409_CONFLICT, AccountError("people.error.last_admin", name=row.name)
        )
    revoke_key(session, row, now, who)
    return JSONResponse({"id": row.id, "revoked": True})
