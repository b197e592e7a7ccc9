"""Rows for metric tests, written straight into the database with hand-chosen times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.handoff.context import HandoffState
from bot.handoff.ending import Ending, FailureCause, connected, failed
from bot.storage.models import Attempt, Call, Campaign, Contact, Handoff
from bot.storage.states import HandoffEnd

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment on 2026-03-<day> (UTC)."""
    return T0.replace(day=day, hour=hour, minute=minute)


def campaign(session: Session, name: str, script: str, rules: dict[str, Any] | None = None) -> Campaign:
    row = Campaign(name=name, script=script, language="ru", rules=rules or {}, created_at=T0, updated_at=T0)
    session.add(row)
    session.flush()
    return row


def contact(session: Session, campaign_id: int, phone: str, state: str) -> Contact:
    row = Contact(campaign_id=campaign_id, phone=phone, state=state)
    session.add(row)
    session.flush()
    return row


def call(
    session: Session,
    call_id: str,
    started_at: datetime,
    *,
    direction: str = "outbound",
    contact: Contact | None = None,
    result: str = "answered",
    ring: float = 3.0,
    talk: float = 0.0,
    state: str = "ended",
    script: str = "reminder",
    **fields: Any,
) -> Call:
    """A call (and, for a contact, the dialler's attempt); `result` other than answered leaves it unanswered."""
    answered = result == "answered"
    attempt = None
    if contact is not None:
        attempt = Attempt(
            campaign_id=contact.campaign_id,
            contact_id=contact.id,
            phone=contact.phone,
            number=1,
            state="done" if state == "ended" else "in_flight",
            started_at=started_at,
            result=result,
        )
        session.add(attempt)
        session.flush()
    row = Call(
        call_id=call_id,
        direction=direction,
        state=state,
        attempt_id=attempt.id if attempt else None,
        campaign_id=contact.campaign_id if contact else None,
        script=script,
        caller="4951112233" if direction == "outbound" else f"+7916{call_id}",
        called=contact.phone if contact else "4950000000",
        started_at=started_at,
        answered_at=started_at + timedelta(seconds=ring) if answered else None,
        ended_at=started_at + timedelta(seconds=ring + talk) if state == "ended" else None,
        ring_seconds=ring,
        talk_seconds=talk,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def handoff(
    session: Session,
    call_row: Call,
    state: str,
    answer_seconds: float | None = None,
    cause: FailureCause = FailureCause.TRANSFER,
    **fields: Any,
) -> Handoff:
    """A hand-off row; a finished one (finished when requested unless `finished_at` says) with the service-level
    columns bot/handoff/records.py decides (`cause`: why a failed one failed)."""
    requested_at = fields.pop("requested_at", call_row.started_at)
    if state != HandoffState.REQUESTED:
        fields.setdefault("finished_at", requested_at)
    row = Handoff(
        call_id=call_row.id,
        queue=fields.pop("queue", "support"),
        reason="requested",
        state=state,
        requested_at=requested_at,
        answer_seconds=answer_seconds,
        **fields,
    )
    warm = (row.context or {}).get("warm")
    if state == HandoffState.COMPLETED:
        ending = connected(requested_at, row.finished_at, answer_seconds, row.target or "", warm)
    elif state == HandoffState.FAILED:
        ending = failed(cause, row.callback_at, warm)
    else:
        ending = Ending(HandoffEnd.PENDING)
    row.ended, row.agent = ending.end.value, ending.agent
    row.agent_answer_seconds, row.time_to_agent_seconds = (
        ending.agent_answer_seconds,
        ending.time_to_agent_seconds,
    )
    session.add(row)
    session.flush()
    return row
