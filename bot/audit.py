"""The audit log: one row per administrative action (who, what, on what, when), written in the action's own
transaction so an action and its entry commit or roll back together.

Entries never hold the personal data acted on: a phone number is named by its `phone_ref` (a short keyed hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import AuditEntry


class AuditAction(StrEnum):
    """What was done. Add a member for a new kind of action; the stored value is the string."""

    PRIVACY_EXPORT = "privacy.export"
    PRIVACY_FORGET = "privacy.forget"
    RETENTION_PURGE = "retention.purge"
    SECRETS_REENCRYPT = "secrets.reencrypt"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_REMOVE = "user.remove"
    CAMPAIGN_START = "campaign.start"
    CAMPAIGN_PAUSE = "campaign.pause"
    CAMPAIGN_RESUME = "campaign.resume"
    CAMPAIGN_STOP = "campaign.stop"
    WIZARD_SAVE = "wizard.save"
    TEST_CALL = "wizard.test_call"
    CONTACTS_IMPORT = "contacts.import"
    DNC_IMPORT = "dnc.import"
    SCRIPT_SAVE = "script.save"
    SCRIPT_ROLLBACK = "script.rollback"


CLI_ACTOR = "cli"
SERVICE_ACTOR = "service"


@dataclass(frozen=True)
class AuditRecord:
    """An entry as read back."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def record(
    session: Session,
    action: AuditAction,
    *,
    actor: str,
    at: datetime,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the session's transaction (it commits with the action it records)."""
    if at.tzinfo is None:
        raise ValueError("an audit entry needs an aware time")
    entry = AuditEntry(
        at=at, actor=actor[:200], action=AuditAction(action).value, target=target[:200], detail=detail or {}
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    action: AuditAction | None = None,
    since: datetime | None = None,
    actor: str = "",
    limit: int = 100,
    offset: int = 0,
) -> list[AuditRecord]:
    """Newest first, optionally one kind of action, one actor (its name contains `actor`) and from a moment on."""
    query = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action.value)
    if actor:
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    rows = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return [AuditRecord(r.id, r.at, r.actor, r.action, r.target, dict(r.detail)) for r in rows]
