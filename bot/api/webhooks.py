"""CRM webhook endpoints: subscriptions and their secrets (admin), events and deliveries with their log (read),
replay of a dead delivery (write)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import Scope, require
from bot.api.deps import ID_MAX, DbSession, EntityId, Limit, Now, Offset
from bot.crm import subscriptions as webhooks
from bot.crm.outbox import DeliveryState
from bot.storage.models import WebhookDelivery, WebhookEvent, WebhookSubscription

router = APIRouter(prefix="/webhooks", tags=["CRM webhooks"])
Admin = [Depends(require(Scope.ADMIN))]
Read = [Depends(require(Scope.READ))]
Write = [Depends(require(Scope.WRITE))]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[str] = Field(min_length=1, description='event types, or ["*"] for all')
    secret: str | None = Field(None, description="whsec_<base64>; generated when omitted")
    description: str = Field("", max_length=200)


class SubscriptionPatch(BaseModel):
    url: str | None = Field(None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(None, min_length=1)
    active: bool | None = None


class SecretIn(BaseModel):
    secret: str | None = Field(None, description="whsec_<base64>; generated when omitted")


class SubscriptionOut(_Out):
    id: int
    url: str
    event_types: list[str]
    secrets: list[str] = Field(description="active signing secrets, oldest first")
    description: str
    active: bool
    created_at: datetime


class AttemptOut(_Out):
    number: int
    started_at: datetime
    duration_ms: float
    status: int | None
    error: str
    result: str


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    subscription_id: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime
    last_status: int | None
    last_error: str
    delivered_at: datetime | None
    log: list[AttemptOut]


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]


class EventDetailOut(EventOut):
    deliveries: list[DeliveryOut]


def _event(row: WebhookEvent) -> dict[str, Any]:
    return {"id": row.event_id, "type": row.type, "created_at": row.created_at, "payload": row.payload}


def _delivery(session: DbSession, delivery: WebhookDelivery, event: WebhookEvent) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": event.event_id,
        "event_type": event.type,
        "subscription_id": delivery.subscription_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "give_up_at": delivery.give_up_at,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "log": webhooks.attempts(session, delivery.id),
    }


@router.post(
    "/subscriptions", status_code=status.HTTP_201_CREATED, response_model=SubscriptionOut, dependencies=Admin
)
def create_subscription(body: SubscriptionIn, session: DbSession, now: Now) -> WebhookSubscription:
    return webhooks.create(session, body.url, body.event_types, now, body.secret, body.description)


@router.get("/subscriptions", response_model=list[SubscriptionOut], dependencies=Admin)
def list_subscriptions(session: DbSession) -> list[WebhookSubscription]:
    return webhooks.subscriptions(session)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, dependencies=Admin)
def get_subscription(subscription_id: EntityId, session: DbSession) -> WebhookSubscription:
    return webhooks.get(session, subscription_id)


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionOut, dependencies=Admin)
def update_subscription(
    subscription_id: EntityId, body: SubscriptionPatch, session: DbSession
) -> WebhookSubscription:
    return webhooks.update(session, subscription_id, body.url, body.event_types, body.active)


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=Admin)
def delete_subscription(subscription_id: EntityId, session: DbSession) -> None:
    webhooks.remove(session, subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/secrets",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionOut,
    dependencies=Admin,
)
def add_secret(subscription_id: EntityId, body: SecretIn, session: DbSession) -> WebhookSubscription:
    """Rotation: add a secret; deliveries carry a signature per secret until the old one is removed."""
    webhooks.add_secret(session, subscription_id, body.secret)
    return webhooks.get(session, subscription_id)


@router.delete(
    "/subscriptions/{subscription_id}/secrets/{index}", response_model=SubscriptionOut, dependencies=Admin
)
def remove_secret(
    subscription_id: EntityId, index: Annotated[int, Path(ge=0, le=100)], session: DbSession
) -> WebhookSubscription:
    webhooks.remove_secret(session, subscription_id, index)
    return webhooks.get(session, subscription_id)


@router.get("/events", response_model=list[EventOut], dependencies=Read)
def list_events(
    session: DbSession, type: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    return [_event(row) for row in webhooks.events(session, type, limit, offset)]


@router.get("/events/{event_id}", response_model=EventDetailOut, dependencies=Read)
def get_event(event_id: str, session: DbSession) -> dict[str, Any]:
    row = webhooks.event(session, event_id)
    pairs = webhooks.deliveries(session, event_row_id=row.id, limit=1000)
    return _event(row) | {"deliveries": [_delivery(session, d, e) for d, e in pairs]}


@router.get("/deliveries", response_model=list[DeliveryOut], dependencies=Read)
def list_deliveries(
    session: DbSession,
    state: DeliveryState | None = None,
    subscription_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    pairs = webhooks.deliveries(session, state, None, subscription_id, limit, offset)
    return [_delivery(session, d, e) for d, e in pairs]


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut, dependencies=Write)
def replay_delivery(delivery_id: EntityId, session: DbSession, now: Now) -> dict[str, Any]:
    """Queue a dead delivery again (409 if it is not dead); the worker sends it with a fresh 24 h window."""
    delivery = webhooks.replay_delivery(session, delivery_id, now)
    event = session.get(WebhookEvent, delivery.event_id)
    return _delivery(session, delivery, event)
