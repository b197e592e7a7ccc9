"""The outbox: `emit()` records an event and its deliveries in the caller's transaction, so they commit (or roll
back) together with the state change they report. The delivery worker (`bot.crm.delivery`) sends them later.
Identifiers in a payload's transcript, slots and data are masked before it is stored (`bot.privacy`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outcomes import script_event_problem
from bot.privacy.records import redact_payload
from bot.storage.models import WebhookDelivery, WebhookEvent, WebhookSubscription

RETRY_WINDOW = timedelta(hours=24)
ALL_EVENTS = "*"


class EventType(StrEnum):
    """What a CRM can subscribe to, in the order a call's life produces them."""

    CALL_STARTED = "call.started"
    CALL_ANSWERED = "call.answered"
    CALL_COMPLETED = "call.completed"
    LEAD_QUALIFIED = "lead.qualified"
    HANDOFF_REQUESTED = "handoff.requested"
    HANDOFF_QUEUED = "handoff.queued"  # no agent free: the customer waits in the queue's line
    HANDOFF_COMPLETED = "handoff.completed"
    HANDOFF_FAILED = "handoff.failed"
    CONTACT_DO_NOT_CALL = "contact.do_not_call"
    CAMPAIGN_COMPLETED = "campaign.completed"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def wants(subscription: WebhookSubscription, event_type: str) -> bool:
    return subscription.active and (
        ALL_EVENTS in subscription.event_types or event_type in subscription.event_types
    )


def emit(
    session: Session, type: EventType, payload: dict[str, Any], now: datetime | None = None
) -> WebhookEvent:
    """Record an event and one pending delivery per active subscription that wants it (flushed, not committed)."""
    return _record(session, EventType(type).value, payload, now or datetime.now(UTC))


def emit_script_event(session: Session, name: str, payload: dict[str, Any], now: datetime) -> WebhookEvent:
    """`emit` for an event a script names (`{crm_event: debt.disputed}`); ValueError for a name no script may use."""
    if problem := script_event_problem(name):
        raise ValueError(problem)
    return _record(session, name, payload, now)


def _record(session: Session, type: str, payload: dict[str, Any], now: datetime) -> WebhookEvent:
    """The event, its free text redacted (transcripts, slots, data: `bot.privacy`), and its deliveries."""
    event = WebhookEvent(event_id=new_event_id(), type=type, payload=redact_payload(payload), created_at=now)
    session.add(event)
    session.flush()
    subscriptions = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
    for subscription in subscriptions:
        if wants(subscription, event.type):
            session.add(
                WebhookDelivery(
                    event_id=event.id,
                    subscription_id=subscription.id,
                    state=DeliveryState.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    give_up_at=now + RETRY_WINDOW,
                    last_error="",
                )
            )
    session.flush()
    return event


def envelope(event: WebhookEvent) -> dict[str, Any]:
    """The body every consumer receives: the stable id, the type, when it happened, and the event's data."""
    return {
        "id": event.event_id,
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }


def replay(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """Send a dead delivery again, with a fresh retry window; ValueError if it is not dead."""
    if delivery.state != DeliveryState.DEAD:
        raise ValueError(f"delivery {delivery.id} is {delivery.state}, only dead deliveries are replayed")
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + RETRY_WINDOW
