"""Response bodies of the API (request bodies are the service's own models, e.g. `CampaignSpec`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.campaigns.rules import CampaignRules


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


class RowErrorOut(_Out):
    row: int
    reason: str


class ImportOut(_Out):
    rows: int
    created: int
    merged: int
    errors: list[RowErrorOut]


class DncOut(_Out):
    id: int
    phone: str
    campaign_id: int | None
    reason: str
    created_at: datetime


class CallOut(_Out):
    id: int
    campaign_id: int
    contact_id: int
    phone: str
    number: int
    state: str
    started_at: datetime
    finished_at: datetime | None
    result: str
    outcome: str
    talk_seconds: float


class CallDetailOut(CallOut):
    outcome_data: dict[str, Any]
    slots: dict[str, Any]
    transcript: list[Any]
    ring_seconds: float
    recording_path: str
    amd: str
    error: str
