"""Managing webhooks: subscriptions and their secrets, the event and delivery listings, replay of dead deliveries.

Shared by the API (`bot.api.webhooks`) and the CLI (`voicebot webhooks`).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.errors import Conflict, InvalidInput, NotFound
from bot.crm import signing
from bot.crm.outbox import ALL_EVENTS, DeliveryState, EventType, replay
from bot.outcomes import script_event_problem
from bot.storage.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the URL must be http(s)://host/...", "url")
    return url


def _check_types(event_types: list[str]) -> list[str]:
    """The platform's event types, `*`, or events scripts name (`debt.disputed`, see `script_event_problem`)."""
    known = {t.value for t in EventType} | {ALL_EVENTS}
    unknown = sorted(t for t in set(event_types) - known if script_event_problem(t))
    if not event_types:
        raise InvalidInput("no event types", "event_types")
    if unknown:
        known_text = f"{sorted(known)} and the events scripts name, e.g. debt.disputed"
        raise InvalidInput(f"unknown event types {unknown}; known: {known_text}", "event_types")
    return sorted(set(event_types))


def _check_secret(secret: str) -> str:
    try:
        signing.secret_key(secret)
    except ValueError as exc:
        raise InvalidInput(str(exc), "secret") from exc
    return secret


def create(
    session: Session,
    url: str,
    event_types: list[str],
    now: datetime,
    secret: str | None = None,
    description: str = "",
) -> WebhookSubscription:
    """A new active subscription with one secret (generated unless given)."""
    row = WebhookSubscription(
        url=_check_url(url),
        event_types=_check_types(event_types),
        secrets=[_check_secret(secret) if secret else signing.new_secret()],
        description=description,
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, subscription_id: int) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFound(f"webhook subscription {subscription_id} not found")
    return row


def subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def update(
    session: Session,
    subscription_id: int,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    row = get(session, subscription_id)
    if url is not None:
        row.url = _check_url(url)
    if event_types is not None:
        row.event_types = _check_types(event_types)
    if active is not None:
        row.active = active
    return row


def remove(session: Session, subscription_id: int) -> None:
    """Delete a subscription with its deliveries and their log (the events stay)."""
    session.delete(get(session, subscription_id))


def add_secret(session: Session, subscription_id: int, secret: str | None = None) -> str:
    """Rotation, step 1: sign with one more secret (both verify until the old one is removed)."""
    row = get(session, subscription_id)
    secret = _check_secret(secret) if secret else signing.new_secret()
    row.secrets = [*row.secrets, secret]
    return secret


def remove_secret(session: Session, subscription_id: int, index: int) -> None:
    """Rotation, step 2: stop signing with the secret at `index` (0 is the oldest); the last one stays."""
    row = get(session, subscription_id)
    if not 0 <= index < len(row.secrets):
        raise NotFound(f"subscription {subscription_id} has no secret #{index}")
    if len(row.secrets) == 1:
        raise InvalidInput("a subscription keeps at least one secret", "index")
    row.secrets = [s for i, s in enumerate(row.secrets) if i != index]


def events(
    session: Session, event_type: str | None = None, limit: int = 100, offset: int = 0
) -> list[WebhookEvent]:
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit).offset(offset)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    return list(session.scalars(query))


def event(session: Session, event_id: str) -> WebhookEvent:
    row = session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
    if row is None:
        raise NotFound(f"webhook event {event_id} not found")
    return row


def deliveries(
    session: Session,
    state: DeliveryState | None = None,
    event_row_id: int | None = None,
    subscription_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .offset(offset)
    )
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    if event_row_id is not None:
        query = query.where(WebhookDelivery.event_id == event_row_id)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    return [(d, e) for d, e in session.execute(query).all()]


def attempts(session: Session, delivery_id: int) -> list[WebhookAttempt]:
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
    )


def replay_delivery(session: Session, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Queue a dead delivery again (a 409-style `Conflict` if it is not dead)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    try:
        replay(session, delivery, now)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    return delivery
