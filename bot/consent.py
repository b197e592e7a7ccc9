"""Consent and purpose: what a campaign calls for, the consent a contact gave, and per purpose the policy that
says whether consent is required and whether a robot may dial at all.

The shipped policies follow the law as `docs/compliance.md` reads it; the deployer decides (`compliance.purposes`
in `voicebot.yml` replaces any of them). `blocked_reason()` is the one question the dialer, the import report and
the API ask about a contact.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Purpose(StrEnum):
    """Why a campaign calls."""

    SERVICE = "service"  # service or informational: an order, a delivery, a change the customer must know
    REMINDER = "reminder"  # a payment, an appointment
    SURVEY = "survey"  # NPS, CSAT, quality control
    DEBT = "debt"  # debt collection (230-FZ; the hours and caps are the campaign's `debt_230fz` rules)
    ADVERTISING = "advertising"  # an offer: advertising under 38-FZ
    CUSTOM = "custom"  # anything else: the policy the deployer writes for it


class ConsentChannel(StrEnum):
    """How a person gave consent."""

    WRITTEN = "written"  # a signed paper form or contract
    WEB = "web"  # a form or checkbox on a site
    APP = "app"  # a mobile or banking app
    SMS = "sms"  # a reply or code by SMS
    CALL = "call"  # said in a recorded call
    OTHER = "other"


class Consent(BaseModel):
    """A contact's consent to calls: when, how and where it is kept (e.g. a CRM form's id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_at: datetime
    channel: ConsentChannel
    source: str = Field("", max_length=200)

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. 2025-03-01T09:00:00+03:00")
        return value


class PurposePolicy(BaseModel):
    """What the law (as the deployer reads it) allows for one purpose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_required: bool = Field(description="contacts without consent are not called")
    robot_allowed: bool = Field(True, description="false: a robot (automatic dialling) may not call at all")


SHIPPED_POLICIES: dict[Purpose, PurposePolicy] = {
    Purpose.SERVICE: PurposePolicy(consent_required=False),
    Purpose.REMINDER: PurposePolicy(consent_required=False),
    Purpose.SURVEY: PurposePolicy(consent_required=False),
    Purpose.DEBT: PurposePolicy(consent_required=False),
    Purpose.ADVERTISING: PurposePolicy(
        consent_required=True, robot_allowed=False
    ),  # 38-FZ art. 18 parts 1, 2
    Purpose.CUSTOM: PurposePolicy(
        consent_required=True
    ),  # unknown: the stricter rule until the deployer says
}


class ComplianceSettings(BaseModel):
    """`compliance:` in voicebot.yml: the policy per purpose; purposes left out keep the shipped policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purposes: dict[Purpose, PurposePolicy] = SHIPPED_POLICIES

    @field_validator("purposes")
    @classmethod
    def _complete(cls, value: dict[Purpose, PurposePolicy]) -> dict[Purpose, PurposePolicy]:
        return {**SHIPPED_POLICIES, **value}

    def policy(self, purpose: str) -> PurposePolicy:
        return self.purposes[Purpose(purpose)]


SHIPPED_COMPLIANCE = ComplianceSettings()


class BlockReason(StrEnum):
    """Why the dialer will not call a contact."""

    DO_NOT_CALL = "do_not_call"
    PURPOSE_FORBIDS_ROBOT = "purpose_forbids_robot"
    CONSENT_MISSING = "consent_missing"


BLOCKED_NOTES = {
    BlockReason.PURPOSE_FORBIDS_ROBOT: "the campaign's purpose forbids robot calls",
    BlockReason.CONSENT_MISSING: "no consent, which the campaign's purpose requires",
}


def blocked_reason(policy: PurposePolicy, has_consent: bool, on_dnc: bool = False) -> BlockReason | None:
    """Why a contact may not be called under `policy`, or None when it may: the do-not-call list first, then a
    purpose no robot may call for, then missing consent."""
    if on_dnc:
        return BlockReason.DO_NOT_CALL
    if not policy.robot_allowed:
        return BlockReason.PURPOSE_FORBIDS_ROBOT
    if policy.consent_required and not has_consent:
        return BlockReason.CONSENT_MISSING
    return None
