"""Tables of the outbound-campaign engine (campaigns, contacts, attempts, do-not-call, API keys) and of CRM webhooks.

All timestamps are stored as naive UTC and read back as aware UTC datetimes (`UtcDateTime`), so SQLite and
PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.core.secrets import EncryptedJSON
from bot.storage.states import AttemptState, ContactState, HandoffEnd


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Campaign(Base):
    """An outbound campaign; `rules` holds the validated `CampaignRules` (window, retries, limits) as JSON."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    script: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    caller_id: Mapped[str] = mapped_column(String(32), default="")
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_mapping: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default="{}", doc="the column mapping of the last upload in the dashboard"
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    purpose: Mapped[str] = mapped_column(
        String(16), default="service", server_default="service", doc="a `bot.consent.Purpose`"
    )
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    script_version: Mapped[str] = mapped_column(
        String(64), default="", server_default="", doc="sha256 of the script text the campaign started with"
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Contact(Base):
    """A number to call within one campaign; `state` and `next_attempt_at` drive the dialer."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_contacts_campaign_phone"),
        Index("ix_contacts_due", "campaign_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    timezones: Mapped[str] = mapped_column(String(400), default="", doc="IANA zones, comma-separated")
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default=ContactState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(doc="when the dialer looks at it next")
    retry_at: Mapped[datetime | None] = mapped_column(doc="not before: set by the retry policy or a callback")
    last_result: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    consent_given_at: Mapped[datetime | None] = mapped_column(
        doc="when the person consented; null: no consent"
    )
    consent_channel: Mapped[str] = mapped_column(
        String(16), default="", server_default="", doc="how: a `bot.consent.ConsentChannel`"
    )
    consent_source: Mapped[str] = mapped_column(
        String(200), default="", server_default="", doc="where it is kept, e.g. a CRM form's id"
    )


class Attempt(Base):
    """One dialling attempt, claimed (state `in_flight`) in a transaction before the call is placed.

    The dialer's own record: the network's result, the placer's ring and talk time, the error. What was said and
    decided in the call (outcome, slots, transcript, recording, AMD verdict) is the `calls` row naming the attempt
    (`Call.attempt_id`); an attempt never dialled has none."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_phone_started", "phone", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer, doc="1 for the contact's first attempt")
    state: Mapped[str] = mapped_column(String(16), default=AttemptState.IN_FLIGHT, index=True)
    node: Mapped[str] = mapped_column(
        String(64), default="", server_default="", doc="the dialer that claimed it"
    )
    debt_preset: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(String(16), default="")
    interaction: Mapped[bool | None] = mapped_column(Boolean, doc="a robot interaction under 230-FZ")
    ring_seconds: Mapped[float] = mapped_column(Float, default=0.0, doc="as the placer measured it")
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0, doc="as the placer measured it")
    error: Mapped[str] = mapped_column(Text, default="", doc="why the call failed or was never dialled")
    words_erased_at: Mapped[datetime | None] = mapped_column(doc="when retention or forget erased its words")


class DoNotCall(Base):
    """A number never to call: globally (`campaign_id` NULL) or within one campaign."""

    __tablename__ = "do_not_call"
    __table_args__ = (Index("ix_dnc_phone", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    call_id: Mapped[str] = mapped_column(
        String(64), default="", server_default="", doc="the call in which the person asked (`calls.call_id`)"
    )
    said_at: Mapped[datetime | None] = mapped_column(doc="the moment in that call the person asked")


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; scopes are a comma-separated subset of read, write, admin."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12), doc="first characters, to recognise a key in listings")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class DashboardAccount(Base):
    """A dashboard user made in the People page (users in the configuration stay besides): a scrypt password
    hash, one scope (read, write or admin); a disabled account cannot log in and its sessions end."""

    __tablename__ = "dashboard_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(10))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class WebhookSubscription(Base):
    """A CRM endpoint: the event types it receives and its signing secrets (several during a rotation)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]] = mapped_column(JSON, default=list, doc='event types, or ["*"] for all')
    secrets: Mapped[list[Any]] = mapped_column(
        EncryptedJSON, default=list, doc="active `whsec_` secrets, newest last (encrypted at rest)"
    )
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class WebhookEvent(Base):
    """The outbox: one event, written in the transaction of the state change it reports."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True, doc="evt_<uuid>, the consumers' dedup key")
    type: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event to one subscription: `pending` until a 2xx (`delivered`) or until retries end (`dead`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_webhook_deliveries_event_subscription"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(doc="due time, or the end of a worker's claim")
    give_up_at: Mapped[datetime] = mapped_column(doc="a failure after this moment makes the delivery dead")
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt of a delivery."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[int | None] = mapped_column(Integer, doc="HTTP status, None on a network error or timeout")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(16), doc="delivered, retry or dead")


class Call(Base):
    """One phone call of the robot, inbound or outbound: a row from the first ring, completed when it ends.

    Outbound calls point at their campaign attempt. `turns` holds the voice pipeline's per-turn records
    (step, kind, latency stages in ms); `transcript` the timestamped lines.
    """

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_started", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(
        String(64), unique=True, doc="the conversation id, also the recording name"
    )
    direction: Mapped[str] = mapped_column(String(8), doc="inbound or outbound")
    state: Mapped[str] = mapped_column(
        String(16), default="ringing", index=True, doc="ringing, active or ended"
    )
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    script: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    caller: Mapped[str] = mapped_column(String(64), default="", doc="the calling number (From)")
    called: Mapped[str] = mapped_column(String(64), default="", doc="the called number (To, the DID inbound)")
    node: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime] = mapped_column(doc="INVITE received (inbound) or sent (outbound)")
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ring_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(32), default="", index=True)
    outcome_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    turns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ended_by: Mapped[str] = mapped_column(String(32), default="")
    barge_ins: Mapped[int] = mapped_column(Integer, default=0)
    amd: Mapped[str] = mapped_column(
        String(64), default="", doc="the answering-machine verdict (`voice.amd.Verdict`); empty when none ran"
    )
    amd_reason: Mapped[str] = mapped_column(
        String(200), default="", server_default="", doc="why the detector decided so, e.g. `beep at 1000 Hz`"
    )
    recording_path: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    test: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0", doc="a test call from the campaign wizard: in no metric"
    )
    words_erased_at: Mapped[datetime | None] = mapped_column(doc="when retention or forget erased its words")


class Handoff(Base):
    """A transfer of a call to human agents: requested, then completed (agent answered) or failed."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str] = mapped_column(String(64), doc="the agent queue named by the script")
    target: Mapped[str] = mapped_column(String(200), default="", doc="the SIP URI or extension of the queue")
    reason: Mapped[str] = mapped_column(String(32), default="", doc="qualified, requested or stuck")
    state: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="what the agent's screen pop shows")
    requested_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    answer_seconds: Mapped[float | None] = mapped_column(Float, doc="REFER sent → agent answered")
    failure: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(doc="the callback scheduled after a failure")
    # the service-level facts, decided when the hand-off finishes (bot/handoff/ending.py); erasure keeps them
    ended: Mapped[str] = mapped_column(
        String(16),
        default=HandoffEnd.PENDING.value,
        server_default=HandoffEnd.PENDING.value,
        doc="a HandoffEnd",
    )
    agent: Mapped[str | None] = mapped_column(String(200), doc="who took the call (connected hand-offs)")
    agent_answer_seconds: Mapped[float | None] = mapped_column(
        Float, doc="the accepted agent rung → answered (warm: that leg; blind: REFER sent → answered)"
    )
    time_to_agent_seconds: Mapped[float | None] = mapped_column(
        Float, doc="hand-off requested → customer joined to the agent"
    )


class CallbackTask(Base):
    """A caller who is no campaign contact (inbound, or a one-off call) asked to be called back at `due_at`."""

    __tablename__ = "callback_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True, doc="the call it was asked in"
    )
    phone: Mapped[str] = mapped_column(
        String(64), doc="the number to call back (the caller of an inbound call)"
    )
    script: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    due_at: Mapped[datetime] = mapped_column(index=True, doc="the time the caller asked for")
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """One administrative action (an export, an erasure, a retention purge, a secret re-encryption…): who, what,
    on what, when. Rows are only added; `detail` holds counts and ids, never the personal data acted on."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(
        String(200), doc="who: `key:<id> <name>`, `user:<name>`, `cli`, `service`"
    )
    action: Mapped[str] = mapped_column(String(64), index=True, doc="an `AuditAction` value")
    target: Mapped[str] = mapped_column(
        String(200), default="", doc="what it acted on (never a phone number)"
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ScriptVersion(Base):
    """One saved text of a dialog script (the studio's history); `number` counts from 1 per script, `sha256`
    names the text (a campaign pins the version it started with by it)."""

    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("script", "number", name="uq_script_versions_script_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    script: Mapped[str] = mapped_column(String(100))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(
        String(200), doc="`user:<name>`, `key:<id> <name>`, or `file` (found on disk)"
    )
    note: Mapped[str] = mapped_column(String(200), default="", doc="e.g. `rollback to 3`")
    created_at: Mapped[datetime]
