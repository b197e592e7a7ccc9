"""API keys with scopes: `read` ⊂ `write` ⊂ `admin`. Only a key's SHA-256 is stored; the key is shown once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access.accounts import admins_besides
from bot.access.session import CSRF_HEADER, Principal
from bot.access.session import principal as session_principal
from bot.api.deps import AppSettings, DbSession, EntityId, Now
from bot.audit import AuditAction, record
from bot.config import DashboardSettings
from bot.storage.models import ApiKey


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}
KEY_PREFIX = "vb_"

_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an API key; scopes: read, write, admin"
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: list[Scope], now: datetime) -> tuple[ApiKey, str]:
    """A new key; returns the stored row and the plain key (never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        prefix=key[:10],
        key_hash=_digest(key),
        scopes=",".join(sorted({s.value for s in scopes})),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, key


def find_key(session: Session, key: str) -> ApiKey | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key)))
    return None if row is None or row.revoked else row


def require(scope: Scope) -> Callable[..., ApiKey | Principal]:
    """A dependency admitting keys whose highest scope is at least `scope` (401 without a valid key, else 403).

    Without the header, a dashboard session cookie stands for its key or user (with that one's scope); a
    cookie-authenticated request that changes something must also carry the dashboard's CSRF header."""

    def check(request: Request, key: Annotated[str | None, Depends(_header)]) -> ApiKey | Principal:
        if not key:
            return _session_principal(request, scope)
        with request.app.state.db.session() as session:
            row = find_key(session, key)
        if row is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")
        granted = max(RANK[Scope(s)] for s in row.scopes.split(","))
        if granted < RANK[scope]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this key lacks the {scope} scope")
        return row

    return check


def _session_principal(request: Request, scope: Scope) -> Principal:
    who = session_principal(request)
    if who is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send it in the X-API-Key header (or log in to the dashboard)",
        )
    if request.method not in ("GET", "HEAD", "OPTIONS") and CSRF_HEADER not in request.headers:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"a session request must send the {CSRF_HEADER} header"
        )
    if RANK[Scope(who.scope)] < RANK[scope]:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{who.label} lacks the {scope} scope")
    return who


def actor_of(who: ApiKey | Principal) -> str:
    """The audit log's name of who made a request: `key:<id> <name>` for an API key (in the header or as a
    dashboard login), `user:<name>` for a dashboard user."""
    if isinstance(who, ApiKey):
        return f"key:{who.id} {who.name}"
    if who.kind == "key":
        return f"key:{who.subject} {who.label}"
    return f"user:{who.subject}"


def create_audited_key(
    session: Session, name: str, scopes: list[Scope], now: datetime, who: ApiKey | Principal
) -> tuple[ApiKey, str]:
    """`create_key`, with its audit entry (who made it) in the same transaction."""
    row, key = create_key(session, name, scopes, now)
    detail = {"name": row.name, "scopes": row.scopes}
    record(
        session,
        AuditAction.API_KEY_CREATE,
        actor=actor_of(who),
        at=now,
        target=f"key:{row.id}",
        detail=detail,
    )
    return row, key


def is_last_admin_key(session: Session, settings: DashboardSettings, row: ApiKey) -> bool:
    """Whether revoking `row` would leave no way to administer the platform (no other admin key or user)."""
    return Scope.ADMIN in row.scopes.split(",") and not admins_besides(session, settings, key=row.id)


def revoke_key(session: Session, row: ApiKey, now: datetime, who: ApiKey | Principal) -> None:
    """Revoke `row`, with its audit entry in the same transaction."""
    row.revoked = True
    record(session, AuditAction.API_KEY_REVOKE, actor=actor_of(who), at=now, target=f"key:{row.id}")


Admin = Depends(require(Scope.ADMIN))
AdminCaller = Annotated[ApiKey | Principal, Admin]
router = APIRouter(prefix="/keys", tags=["API keys"], dependencies=[Admin])


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked: bool


class NewKeyOut(KeyOut):
    key: str = Field(description="shown only once")


def _out(row: ApiKey) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes.split(","),
        "created_at": row.created_at,
        "revoked": row.revoked,
    }


@router.post("", status_code=status.HTTP_201_CREATED, response_model=NewKeyOut)
def create(body: KeyIn, session: DbSession, now: Now, who: AdminCaller) -> dict:
    row, key = create_audited_key(session, body.name, body.scopes, now, who)
    return _out(row) | {"key": key}


@router.get("", response_model=list[KeyOut])
def list_keys(session: DbSession) -> list[dict]:
    return [_out(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(key_id: EntityId, session: DbSession, settings: AppSettings, now: Now, who: AdminCaller) -> None:
    """409 for the last way to administer the platform (no other admin key or dashboard admin)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"API key {key_id} not found")
    if is_last_admin_key(session, settings.dashboard, row):
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{row.name} is the last admin: make another admin first"
        )
    revoke_key(session, row, now, who)
