"""A placed call's report on its attempt, and what comes next for the contact: done, a retry by the campaign's
rules (a callback at the time the caller asked, within the calling hours), exhausted, or do-not-call."""

from __future__ import annotations

from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.campaigns import service
from bot.campaigns.placer import CallReport, TelephonyResult
from bot.campaigns.rules import CampaignRules, RetryReason, next_allowed
from bot.contacts import dnc
from bot.outcomes import Outcome
from bot.storage.models import Attempt, Call, Campaign, Contact
from bot.storage.states import AttemptState, CampaignState, ContactState
from voice.amd import Verdict


def callback_time(report: CallReport) -> datetime | None:
    """The callback moment: `callback_at`, else an ISO time with offset in `outcome_data["when"]`."""
    if report.callback_at is not None:
        return report.callback_at
    when = report.outcome_data.get("when")
    try:
        parsed = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def opt_out_moment(call: Call | None, report: CallReport, attempt_started: datetime) -> datetime | None:
    """When the callee asked not to be called (`dnc.opt_out_moment`): in the call's stored transcript, counted
    from the answer; without a call row, in the report's transcript, counted from the attempt's start plus the
    ringing."""
    if call is not None:
        return dnc.opt_out_moment(call.transcript, call.answered_at or call.started_at)
    lines = [line.model_dump() for line in report.transcript]
    return dnc.opt_out_moment(lines, attempt_started + timedelta(seconds=report.ring_seconds))


def retry_reason(report: CallReport) -> RetryReason | None:
    """Why a call should be retried, or None when its result is final."""
    if report.result in (TelephonyResult.BUSY, TelephonyResult.REJECTED):
        return RetryReason.BUSY
    if report.result is TelephonyResult.NO_ANSWER:
        return RetryReason.NO_ANSWER
    if report.result is TelephonyResult.FAILED:
        return RetryReason.FAILED
    if report.amd is Verdict.MACHINE or report.outcome is Outcome.MACHINE:
        return RetryReason.MACHINE
    if report.outcome is Outcome.CALLBACK or report.callback_at is not None:
        return RetryReason.CALLBACK
    return None


def record_report(
    session: Session, attempt_id: int, report: CallReport, rules: CampaignRules, now: datetime
) -> None:
    """End the attempt with the dialer's part of a call's report (what the conversation produced is the call's
    row, which the placer stored) and decide the contact's next step (final, retry, do-not-call)."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.state != AttemptState.IN_FLIGHT:
        logger.warning("report for attempt {} ignored: it was reconciled meanwhile", attempt_id)
        return
    attempt.state = AttemptState.DONE
    attempt.finished_at = now
    attempt.result = report.result.value
    attempt.interaction = report.result is TelephonyResult.ANSWERED
    attempt.ring_seconds, attempt.talk_seconds = report.ring_seconds, report.talk_seconds
    attempt.error = report.error
    label = report.outcome.value if report.outcome else report.result.value
    if report.outcome is Outcome.DO_NOT_CALL:
        session.execute(
            update(Contact)
            .where(Contact.id == attempt.contact_id)
            .values(state=ContactState.DNC, last_result=label)
        )
        call = session.scalar(select(Call).where(Call.attempt_id == attempt_id))
        said_at = opt_out_moment(call, report, attempt.started_at) or now
        why = f"asked during call {call.call_id if call else attempt_id}"
        dnc.add(
            session,
            attempt.phone,
            now,
            None,
            why,
            dnc.Source.DIALOG,
            [attempt.contact_id],
            call_id=call.call_id if call else "",
            said_at=said_at,
        )
        return
    reason = retry_reason(report)
    reschedule(session, attempt.contact_id, rules, reason, callback_time(report), label, now)
    state = session.scalar(select(Campaign.state).where(Campaign.id == attempt.campaign_id))
    if state in service.FINAL_STATES:  # stopped while this call was up: no retry will come
        ended = CampaignState(state)
        why = "the campaign ended during this contact's call"
        service.close_pending(session, attempt.campaign_id, ended, why)


def reschedule(
    session: Session,
    contact_id: int,
    rules: CampaignRules,
    reason: RetryReason | None,
    callback_at: datetime | None,
    label: str,
    now: datetime,
) -> None:
    """The contact's next step after an attempt ended with `label`: done (no retry for `reason`), exhausted, or
    pending again at the retry time (a callback: the asked time, within the calling hours)."""
    contact = session.get(Contact, contact_id)
    contact.last_result = label
    delay = rules.retry_minutes.get(reason) if reason else None
    if delay is None:
        contact.state = ContactState.DONE
    elif contact.attempts >= rules.max_attempts:
        contact.state = ContactState.EXHAUSTED
    else:
        contact.state = ContactState.PENDING
        if reason is RetryReason.CALLBACK and callback_at is not None:
            contact.retry_at = max(callback_at, now)
            zones = contact.timezones.split(",") if contact.timezones else []
            # the asked time, or the first moment after it the calling hours allow (no window left: the
            # scheduler gives up on the contact when it comes due)
            contact.next_attempt_at = next_allowed(rules, zones, contact.retry_at) or contact.retry_at
        else:
            contact.retry_at = now + timedelta(minutes=delay)
            contact.next_attempt_at = contact.retry_at
