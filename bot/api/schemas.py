"""Response bodies of the API (request bodies are the service's own models, e.g. `CampaignSpec`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.campaigns.rules import CampaignRules
from bot.consent import BlockReason, ConsentChannel, Purpose


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CampaignOut(_Out):
    id: int
    name: str
    script: str
    language: str
    caller_id: str
    variables: dict[str, Any]
    priority: int
    purpose: Purpose
    rules: CampaignRules
    state: str
    created_at: datetime
    updated_at: datetime
    contacts: dict[str, int] = {}


class ContactOut(_Out):
    id: int
    phone: str
    name: str
    timezones: str
    variables: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_result: str
    consent_given_at: datetime | None = Field(description="when the person consented; null: no consent")
    consent_channel: ConsentChannel | None = Field(description="how the consent was given")
    consent_source: str = Field(description="where the consent is kept")
    blocked: BlockReason | None = Field(
        None,
        description="why the dialer does not (state `dnc` or `blocked`) or will not (state `pending`) call it; "
        "null: it may be called",
    )

    @field_validator("consent_channel", mode="before")
    @classmethod
    def _no_channel(cls, value: object) -> object:
        return value or None


class RowErrorOut(_Out):
    row: int
    reason: str


class ImportOut(_Out):
    rows: int
    created: int
    merged: int
    errors: list[RowErrorOut]


class ContactImportOut(ImportOut):
    do_not_call: int = Field(
        description="imported contacts on the do-not-call list: stored with state `dnc`, never dialled"
    )
    blocked: dict[BlockReason, int] = Field(
        description="contacts this import stored as not to be called, per reason: `do_not_call` (state `dnc`), "
        "`purpose_forbids_robot` and `consent_missing` (state `blocked`: the campaign purpose's policy)"
    )


class DncOut(_Out):
    id: int
    phone: str
    campaign_id: int | None
    reason: str
    created_at: datetime
    call_id: str = Field(description="the call in which the person asked; empty when not asked in a call")
    said_at: datetime | None = Field(description="the moment in that call the person asked")


class CallOut(_Out):
    """A row of the call log: every robot call, inbound and outbound."""

    call_id: str
    direction: str
    state: str
    campaign_id: int | None
    attempt_id: int | None
    script: str
    language: str
    caller: str
    called: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ring_seconds: float
    talk_seconds: float
    outcome: str
    ended_by: str
    amd: str
    error: str
    test: bool = Field(False, description="a test call from the campaign wizard, counted in no metric")
    recording: str | None = Field(None, description="API path of the WAV recording; null when there is none")


class HandoffOut(_Out):
    queue: str
    target: str
    reason: str
    state: str
    context: dict[str, Any]
    requested_at: datetime
    finished_at: datetime | None
    answer_seconds: float | None
    failure: str
    callback_at: datetime | None


class AttemptOut(_Out):
    """The dialler's record of an outbound call's attempt; `outcome` and `amd` are its call's."""

    id: int
    contact_id: int
    phone: str
    number: int
    state: str
    result: str
    outcome: str
    amd: str


class CallDetailOut(CallOut):
    node: str
    amd_reason: str = Field("", description="why the answering-machine detector decided `amd`")
    outcome_data: dict[str, Any]
    slots: dict[str, Any]
    transcript: list[Any] = Field(description="lines {at, speaker, text, step, intent, event}")
    turns: list[Any] = Field(description="per-turn records {index, kind, heard, started, ms: {stage: ms}}")
    barge_ins: int
    handoffs: list[HandoffOut]
    attempt: AttemptOut | None
