"""Operations on campaigns shared by the API and the CLI: create, edit, state changes, contacts, results.

Errors are typed so each front end can say them its own way (HTTP status, CLI message).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from bot.call_results.store import attempt_verdict
from bot.campaigns.rules import CampaignRules
from bot.consent import (
    BLOCKED_NOTES,
    SHIPPED_COMPLIANCE,
    BlockReason,
    ComplianceSettings,
    Purpose,
    blocked_reason,
)
from bot.contacts import dnc
from bot.contacts.importer import (
    ColumnMapping,
    ImportReport,
    Progress,
    RawContact,
    RecordResult,
    import_records,
    import_table,
    open_table,
)
from bot.core.errors import Conflict, InvalidInput, NotFound
from bot.core.phones import PhoneNormalizer
from bot.crm.outbox import EventType, emit
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Campaign, Contact
from bot.storage.states import FINAL_STATES, CampaignState, ContactState

# what a contact still `pending` becomes when its campaign reaches a final state: it will never be called
CLOSED_CONTACT_STATE = {
    CampaignState.COMPLETED: ContactState.EXPIRED,
    CampaignState.STOPPED: ContactState.CANCELLED,
}


class Action(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


TRANSITIONS: dict[Action, tuple[set[CampaignState], CampaignState]] = {
    Action.START: ({CampaignState.DRAFT}, CampaignState.RUNNING),
    Action.PAUSE: ({CampaignState.RUNNING}, CampaignState.PAUSED),
    Action.RESUME: ({CampaignState.PAUSED}, CampaignState.RUNNING),
    Action.STOP: ({CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED}, CampaignState.STOPPED),
}
EDITABLE = {CampaignState.DRAFT, CampaignState.PAUSED}


class CampaignSpec(BaseModel):
    """What an operator gives to create a campaign."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    script: str = Field(min_length=1, max_length=100, description="a dialog script: dialogs/<script>.yml")
    language: Literal["ru", "en"] = "ru"
    caller_id: str = Field("", max_length=32)
    variables: dict[str, str | int | float | bool] = {}
    priority: int = Field(0, ge=-1000, le=1000)
    purpose: Purpose = Field(
        Purpose.SERVICE,
        description="why it calls: its policy says whether consent is required (docs/compliance.md)",
    )
    rules: CampaignRules = CampaignRules()


class CampaignPatch(BaseModel):
    """Fields to change on a draft or paused campaign; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    script: str | None = Field(None, min_length=1, max_length=100)
    language: Literal["ru", "en"] | None = None
    caller_id: str | None = Field(None, max_length=32)
    variables: dict[str, str | int | float | bool] | None = None
    priority: int | None = Field(None, ge=-1000, le=1000)
    purpose: Purpose | None = None
    rules: CampaignRules | None = None


def available_scripts(dialogs_dir: Path) -> set[str]:
    """Script names: the `dialogs/<name>.yml` files (the dialog catalogue validates their content)."""
    return {p.stem for p in dialogs_dir.glob("*.yml")} | {p.stem for p in dialogs_dir.glob("*.yaml")}


def _check_script(script: str, scripts: set[str]) -> None:
    if script not in scripts:
        known = ", ".join(sorted(scripts)) or "none"
        raise InvalidInput(f"unknown script {script!r}; available: {known}", "script")


def get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def create(session: Session, spec: CampaignSpec, scripts: set[str], now: datetime) -> Campaign:
    _check_script(spec.script, scripts)
    campaign = Campaign(
        name=spec.name,
        script=spec.script,
        language=spec.language,
        caller_id=spec.caller_id,
        variables=dict(spec.variables),
        priority=spec.priority,
        purpose=spec.purpose.value,
        rules=spec.rules.model_dump(mode="json"),
        state=CampaignState.DRAFT,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def edit(
    session: Session,
    campaign_id: int,
    patch: CampaignPatch,
    scripts: set[str],
    now: datetime,
    compliance: ComplianceSettings = SHIPPED_COMPLIANCE,
) -> Campaign:
    campaign = get(session, campaign_id)
    if campaign.state not in EDITABLE:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.state}: only draft or paused campaigns can be edited"
        )
    changes = {  # only the fields given, but each given value whole (nested rules keep their defaults)
        key: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        for key in patch.model_fields_set
        for value in [getattr(patch, key)]
    }
    if "script" in changes:
        _check_script(changes["script"], scripts)
    for key, value in changes.items():
        if value is None:
            raise InvalidInput(f"{key} cannot be null", key)
        setattr(campaign, key, value)
    campaign.updated_at = now
    if "rules" in changes:
        replan(session, campaign_id, now)
    if "purpose" in changes:
        enforce_policy(session, campaign_id, compliance, now)
    return campaign


def enforce_policy(
    session: Session, campaign_id: int, compliance: ComplianceSettings, now: datetime
) -> dict[BlockReason, int]:
    """Apply the policy of the campaign's purpose to its contacts: pending ones it forbids become `blocked`
    (the note says why), blocked ones it now allows (consent given since, or another purpose or policy) are
    pending again. Returns the contacts blocked now, per reason."""
    campaign = get(session, campaign_id)
    policy = compliance.policy(campaign.purpose)
    reason = blocked_reason(policy, has_consent=False)
    blocked: dict[BlockReason, int] = {}
    if reason is not None:
        forbidden = [Contact.campaign_id == campaign_id]
        if reason is BlockReason.CONSENT_MISSING:
            forbidden.append(Contact.consent_given_at.is_(None))
        note = BLOCKED_NOTES[reason]
        count = session.execute(
            update(Contact)
            .where(*forbidden, Contact.state == ContactState.PENDING)
            .values(state=ContactState.BLOCKED, note=note)
            .execution_options(synchronize_session=False)
        ).rowcount
        if count:
            blocked[reason] = count
        session.execute(  # those blocked for another reason before say this one now
            update(Contact)
            .where(*forbidden, Contact.state == ContactState.BLOCKED, Contact.note != note)
            .values(note=note)
            .execution_options(synchronize_session=False)
        )
    if campaign.state not in FINAL_STATES:
        allowed = [] if not policy.robot_allowed else [Contact.state == ContactState.BLOCKED]
        if allowed and policy.consent_required:
            allowed.append(Contact.consent_given_at.is_not(None))
        if allowed:
            floor = case((Contact.retry_at > now, Contact.retry_at), else_=now)
            session.execute(
                update(Contact)
                .where(Contact.campaign_id == campaign_id, *allowed)
                .values(state=ContactState.PENDING, note="", next_attempt_at=floor)
                .execution_options(synchronize_session=False)
            )
    return blocked


def contact_block(contact: Contact, compliance: ComplianceSettings, purpose: str) -> BlockReason | None:
    """Why the dialer does not (or will not) call this contact: its stored block, or for a pending one what the
    policy of the campaign's purpose says; None when it may be called or is past calling."""
    if contact.state == ContactState.DNC:
        return BlockReason.DO_NOT_CALL
    if contact.state == ContactState.BLOCKED:
        return next((reason for reason, note in BLOCKED_NOTES.items() if note == contact.note), None)
    if contact.state == ContactState.PENDING:
        return blocked_reason(compliance.policy(purpose), contact.consent_given_at is not None)
    return None


def replan(session: Session, campaign_id: int, now: datetime) -> int:
    """After a rules change, let the dialer decide pending contacts afresh: their next look is moved back to
    now, or to their retry time, which the new rules do not shorten."""
    floor = case((Contact.retry_at > now, Contact.retry_at), else_=now)
    return session.execute(
        update(Contact)
        .where(
            Contact.campaign_id == campaign_id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at > now,
        )
        .values(next_attempt_at=floor)
    ).rowcount


def delete(session: Session, campaign_id: int) -> None:
    campaign = get(session, campaign_id)
    if campaign.state != CampaignState.DRAFT:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.state}: only drafts can be deleted, stop it instead"
        )
    session.delete(campaign)


def apply(session: Session, campaign_id: int, action: Action, now: datetime) -> Campaign:
    """Move a campaign along draft → running ⇄ paused → stopped. The state is compared-and-set, so a dialer
    completing the campaign meanwhile makes this a Conflict, never a second final state. A stop closes the
    pending contacts and emits `campaign.completed` in the same transaction."""
    campaign = get(session, campaign_id)
    allowed, target = TRANSITIONS[action]
    if campaign.state not in allowed:
        raise Conflict(f"cannot {action} campaign {campaign_id}: it is {campaign.state}")
    changed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state == campaign.state)
        .values(state=target, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict(f"cannot {action} campaign {campaign_id}: its state changed meanwhile, try again")
    session.refresh(campaign)
    if target in FINAL_STATES:
        finish(session, campaign, "stopped by an operator", now)
    return campaign


def close_pending(session: Session, campaign_id: int, state: CampaignState, why: str) -> int:
    """Close the contacts still pending in a campaign that reached final `state`; returns how many."""
    return session.execute(
        update(Contact)
        .where(Contact.campaign_id == campaign_id, Contact.state == ContactState.PENDING)
        .values(state=CLOSED_CONTACT_STATE[state], note=why[:200])
        .execution_options(synchronize_session=False)
    ).rowcount


class CampaignCompleted(BaseModel):
    """Data of the `campaign.completed` event: the campaign reached a final state."""

    campaign_id: int
    name: str
    script: str
    state: Literal["completed", "stopped"]
    why: str = Field(description="e.g. 'every contact is done', 'end date passed', 'stopped by an operator'")
    contacts: dict[str, int] = Field(description="contacts per state at that moment")
    contacts_total: int
    attempts: int = Field(description="call attempts placed")
    started_at: datetime | None = Field(description="the first call's start; null when none was placed")
    finished_at: datetime


def finish(session: Session, campaign: Campaign, why: str, now: datetime) -> None:
    """In the transaction that moved `campaign` to a final state: close its pending contacts and emit
    `campaign.completed`."""
    state = CampaignState(campaign.state)
    close_pending(session, campaign.id, state, why)
    counts = contact_counts(session, campaign.id)
    attempts, started_at = session.execute(
        select(func.count(Attempt.id), func.min(Attempt.started_at)).where(Attempt.campaign_id == campaign.id)
    ).one()
    data = CampaignCompleted(
        campaign_id=campaign.id,
        name=campaign.name,
        script=campaign.script,
        state=state.value,
        why=why,
        contacts=counts,
        contacts_total=sum(counts.values()),
        attempts=attempts,
        started_at=started_at,
        finished_at=now,
    )
    # the event is stamped by the wall clock: its delivery window runs in real time, whatever clock `now` is
    emit(session, EventType.CAMPAIGN_COMPLETED, data.model_dump(mode="json"))


def import_contacts(
    db: Database,
    campaign_id: int,
    data: bytes,
    mapping: ColumnMapping,
    normalizer: PhoneNormalizer,
    now: datetime,
    progress: Progress | None = None,
    compliance: ComplianceSettings = SHIPPED_COMPLIANCE,
) -> ImportReport:
    """Import a CSV file's contacts in one transaction; those on the do-not-call list are stored `dnc`, those the
    policy of the campaign's purpose forbids `blocked`, and both counted. Raises CsvFormatError for unusable
    files."""
    table = open_table(data, mapping)
    with db.session() as session:
        _check_open(session, campaign_id)
        report = import_table(session, campaign_id, table, normalizer, now, progress)
        report.do_not_call = len(dnc.block_listed(session, campaign_id))
        blocked = enforce_policy(session, campaign_id, compliance, now)
        report.blocked = {reason: blocked.get(reason, 0) for reason in BlockReason}
        report.blocked[BlockReason.DO_NOT_CALL] = report.do_not_call
        return report


def add_contacts(
    db: Database,
    campaign_id: int,
    records: Sequence[tuple[int, RawContact]],
    normalizer: PhoneNormalizer,
    now: datetime,
    compliance: ComplianceSettings = SHIPPED_COMPLIANCE,
) -> list[RecordResult]:
    """Import contacts pushed one by one (a CRM's JSON) in one transaction, with a result per record; those on
    the do-not-call list are stored `dnc`, those the policy of the campaign's purpose forbids `blocked`, and
    each result says why its contact will not be called."""
    with db.session() as session:
        _check_open(session, campaign_id)
        results = import_records(session, campaign_id, records, normalizer, now)
        listed = dnc.block_listed(session, campaign_id)
        enforce_policy(session, campaign_id, compliance, now)
        purpose = get(session, campaign_id).purpose
        ids = [r.contact_id for r in results if r.contact_id is not None]
        contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
        return [
            replace(
                r,
                do_not_call=r.phone in listed,
                blocked=contact_block(contacts[r.contact_id], compliance, purpose) if r.contact_id else None,
            )
            for r in results
        ]


def _check_open(session: Session, campaign_id: int) -> None:
    """Conflict unless the campaign may still get contacts."""
    campaign = get(session, campaign_id)
    if campaign.state in FINAL_STATES:
        raise Conflict(f"campaign {campaign_id} is {campaign.state}: no new contacts")


def contact_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """Contacts per state."""
    rows = session.execute(
        select(Contact.state, func.count()).where(Contact.campaign_id == campaign_id).group_by(Contact.state)
    )
    return {state: count for state, count in rows}


RESULT_COLUMNS = (
    "attempt_id",
    "contact_id",
    "phone",
    "name",
    "attempt",
    "started_at",
    "finished_at",
    "state",
    "result",
    "outcome",
    "outcome_data",
    "slots",
    "ring_seconds",
    "talk_seconds",
    "amd",
    "recording_path",
    "contact_state",
)


def _cell(text: str) -> str:
    """Text from callers or contact lists, defused for spreadsheets: a leading = + - @ would start a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_results(session: Session, campaign_id: int) -> Iterator[str]:
    """CSV lines (UTF-8, `,`), one per attempt, oldest first, with what its call produced; JSON in the data and
    slots columns."""
    get(session, campaign_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(list(RESULT_COLUMNS))
    rows = session.execute(
        select(Attempt, Call, Contact.name, Contact.state)
        .join(Contact, Contact.id == Attempt.contact_id)
        .outerjoin(Call, Call.attempt_id == Attempt.id)
        .where(Attempt.campaign_id == campaign_id)
        .order_by(Attempt.id)
        .execution_options(yield_per=1000)
    )
    for attempt, call, name, contact_state in rows:
        yield line(
            [
                attempt.id,
                attempt.contact_id,
                attempt.phone,
                _cell(name),
                attempt.number,
                attempt.started_at.isoformat(),
                attempt.finished_at.isoformat() if attempt.finished_at else "",
                attempt.state,
                attempt.result,
                call.outcome if call else "",  # no call: never dialled
                _cell(json.dumps(call.outcome_data if call else {}, ensure_ascii=False)),
                _cell(json.dumps(call.slots if call else {}, ensure_ascii=False)),
                attempt.ring_seconds,
                attempt.talk_seconds,
                attempt_verdict(call),
                call.recording_path if call else "",
                contact_state,
            ]
        )
