"""The do-not-call list: global entries (campaign NULL) and per-campaign entries, checked at dial time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.storage.models import DoNotCall


def add(
    session: Session, phone: str, now: datetime, campaign_id: int | None = None, reason: str = ""
) -> bool:
    """Add an E.164 number; False when it was already listed in that scope."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    if session.scalar(select(DoNotCall.id).where(DoNotCall.phone == phone, scope)) is not None:
        return False
    session.add(DoNotCall(phone=phone, campaign_id=campaign_id, reason=reason, created_at=now))
    session.flush()
    return True


def remove(session: Session, phone: str, campaign_id: int | None = None) -> bool:
    """Remove a number from one scope; False when it was not listed there."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    return session.execute(delete(DoNotCall).where(DoNotCall.phone == phone, scope)).rowcount > 0


def is_blocked(session: Session, phone: str, campaign_id: int) -> bool:
    """True when the number may not be called in this campaign (global or campaign entry)."""
    query = select(DoNotCall.id).where(
        DoNotCall.phone == phone, or_(DoNotCall.campaign_id.is_(None), DoNotCall.campaign_id == campaign_id)
    )
    return session.scalar(query.limit(1)) is not None


def entries(
    session: Session, campaign_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[DoNotCall]:
    """Listed numbers, newest first; with `campaign_id` only that campaign's entries."""
    query = select(DoNotCall).order_by(DoNotCall.id.desc()).limit(limit).offset(offset)
    if campaign_id is not None:
        query = query.where(DoNotCall.campaign_id == campaign_id)
    return list(session.scalars(query))
