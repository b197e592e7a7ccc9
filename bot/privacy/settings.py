"""The `privacy` section of `voicebot.yml`: how long each kind of personal data is kept (days; 0 keeps it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetentionSettings(BaseModel):
    """Retention periods, enforced by `voicebot serve` every `every_minutes` (`bot/privacy/retention.py`).
    Recordings have their own period, `voice.recordings_retention_days` (30)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transcripts_days: int = Field(
        90,
        ge=0,
        description="words of ended calls (transcripts, heard text, texts in slots, hand-off context)",
    )
    numbers_days: int = Field(
        365,
        ge=0,
        description="phone numbers and names of ended calls and attempts, and of the contacts of campaigns "
        "completed or stopped that long ago (replaced by anonymous tokens; counts stay)",
    )
    webhook_events_days: int = Field(
        30, ge=0, description="CRM outbox events no longer pending (with their log)"
    )
    callbacks_days: int = Field(30, ge=0, description="callback tasks that were due that long ago")
    tracker_days: int = Field(
        7,
        ge=0,
        description="conversations in an SQL Rasa tracker store (the call's state lives on in its row)",
    )
    audit_days: int = Field(1825, ge=0, description="audit log entries")
    every_minutes: float = Field(60.0, gt=0, le=24 * 60, description="how often the service applies them")


class PrivacySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    retention: RetentionSettings = RetentionSettings()
