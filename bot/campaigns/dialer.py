"""The dialer: picks due contacts of running campaigns, claims an attempt in a transaction, places the call,
records the report and schedules what comes next.

Exactly-once: a contact moves `pending` → `in_flight` together with the insertion of its `Attempt` row, in one
transaction with a compare-and-set on the contact's state, before the placer is called. An attempt is placed at
most once (its id is the call's identity). After a crash, `reconcile()` marks attempts left `in_flight` as
`interrupted` (never redialled as the same attempt) and returns their contacts to the queue under the `failed`
retry rule, so none is forgotten.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.campaigns.clock import Clock
from bot.campaigns.placer import AmdResult, CallPlacer, CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules, Preset, RetryReason, next_allowed
from bot.campaigns.service import CampaignState
from bot.config import DialerSettings
from bot.contacts import dnc
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Campaign, Contact

HISTORY_DAYS = 32  # covers the 230-FZ month


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


def retry_reason(report: CallReport) -> RetryReason | None:
    """Why a call should be retried, or None when its result is final."""
    if report.result in (TelephonyResult.BUSY, TelephonyResult.REJECTED):
        return RetryReason.BUSY
    if report.result is TelephonyResult.NO_ANSWER:
        return RetryReason.NO_ANSWER
    if report.result is TelephonyResult.FAILED:
        return RetryReason.FAILED
    if report.amd is AmdResult.MACHINE or report.outcome is Outcome.MACHINE:
        return RetryReason.MACHINE
    if report.outcome is Outcome.CALLBACK:
        return RetryReason.CALLBACK
    return None


@dataclass
class _Bucket:
    """Token bucket for a campaign's pacing (calls per second)."""

    tokens: float
    stamp: datetime


class Dialer:
    """Schedules and places calls for all running campaigns; one instance per node."""

    def __init__(self, db: Database, placer: CallPlacer, clock: Clock, settings: DialerSettings) -> None:
        self.db = db
        self.placer = placer
        self.clock = clock
        self.settings = settings
        self._calls: set[asyncio.Task[None]] = set()
        self._buckets: dict[int, _Bucket] = {}
        self._rules_cache: dict[int, tuple[str, CampaignRules]] = {}
        self._next_completion_check: dict[int, datetime] = {}
        self.decisions = 0  # contacts decided (dialled, deferred or given up), for benchmarks
        self.node = settings.node or socket.gethostname()

    # -- start-up -------------------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """Settle attempts this node's previous process left in flight; returns how many. Run before the first
        tick. Other nodes' attempts are theirs: each node reconciles its own (`dialer.node`) and those
        claimed before attempts had a node."""
        now = self.clock.now()
        with self.db.session() as session:
            stale = list(
                session.scalars(
                    select(Attempt).where(Attempt.state == "in_flight", Attempt.node.in_((self.node, "")))
                )
            )
            for attempt in stale:
                attempt.state = "interrupted"
                attempt.result = "interrupted"
                attempt.finished_at = now
                attempt.error = (
                    "the dialer stopped during this call; the call may or may not have been placed"
                )
                rules = CampaignRules.model_validate(session.get(Campaign, attempt.campaign_id).rules)
                self._reschedule(
                    session, attempt.contact_id, rules, RetryReason.FAILED, None, "interrupted", now
                )
        if stale:
            logger.warning("reconciled {} attempts interrupted by a previous stop", len(stale))
        return len(stale)

    # -- scheduling -----------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """One scheduling pass over running campaigns (highest priority first); returns calls started.

        Database work runs in a worker thread so the event loop (and the calls' audio on it) never waits."""
        now = self.clock.now()
        campaigns, in_flight = await asyncio.to_thread(self._running)
        started = 0
        for campaign in campaigns:
            rules = self._rules(campaign)
            if rules.end_at and now >= rules.end_at:
                await asyncio.to_thread(self._finish, campaign.id, now, "end date passed")
                continue
            busy = in_flight.get(campaign.id, 0)
            capacity = min(
                rules.max_concurrent - busy,
                self.settings.max_lines - len(self._calls),
                self._tokens(campaign.id, rules, now),
            )
            requests, due = await asyncio.to_thread(self._schedule, campaign, rules, now, capacity)
            for request in requests:
                self._launch(request, rules)
            self._buckets[campaign.id].tokens -= len(requests)
            started += len(requests)
            if due == 0 and busy == 0:
                await asyncio.to_thread(self._complete_if_done, campaign.id, now)
        return started

    def _running(self) -> tuple[list[Campaign], dict[int, int]]:
        """Running campaigns by priority, and their attempts in flight."""
        with self.db.session() as session:
            campaigns = list(
                session.scalars(
                    select(Campaign)
                    .where(Campaign.state == CampaignState.RUNNING)
                    .order_by(Campaign.priority.desc(), Campaign.id)
                )
            )
            in_flight = session.execute(
                select(Attempt.campaign_id, func.count())
                .where(Attempt.state == "in_flight")
                .group_by(Attempt.campaign_id)
            ).all()
        return campaigns, dict(in_flight)

    def _rules(self, campaign: Campaign) -> CampaignRules:
        """The campaign's validated rules, validated again only when their stored form changes."""
        stored = json.dumps(campaign.rules, sort_keys=True)
        cached = self._rules_cache.get(campaign.id)
        if cached is None or cached[0] != stored:
            cached = self._rules_cache[campaign.id] = (stored, CampaignRules.model_validate(campaign.rules))
        return cached[1]

    def _tokens(self, campaign_id: int, rules: CampaignRules, now: datetime) -> int:
        burst = max(1.0, rules.pacing_cps)
        bucket = self._buckets.setdefault(campaign_id, _Bucket(burst, now))
        elapsed = max(0.0, (now - bucket.stamp).total_seconds())
        bucket.tokens = min(burst, bucket.tokens + elapsed * rules.pacing_cps)
        bucket.stamp = now
        return int(bucket.tokens)

    def _schedule(
        self, campaign: Campaign, rules: CampaignRules, now: datetime, capacity: int
    ) -> tuple[list[CallRequest], int]:
        """Decide due contacts batch by batch: claim (up to `capacity`), defer to their next allowed time, or
        give up (no window left). Stops at the first batch that has more dialable contacts than capacity.
        Returns (claimed attempts to place, due contacts seen)."""
        claimed: list[CallRequest] = []
        seen = 0
        while True:
            with self.db.session() as session:
                due = session.execute(
                    select(Contact.id, Contact.phone, Contact.timezones)
                    .where(
                        Contact.campaign_id == campaign.id,
                        Contact.state == "pending",
                        Contact.next_attempt_at <= now,
                    )
                    .order_by(Contact.next_attempt_at, Contact.id)
                    .limit(self.settings.batch_size)
                ).all()
                seen += len(due)
                history = self._history(session, [c.phone for c in due], now) if rules.has_caps else {}
                deferred: dict[datetime, list[int]] = defaultdict(list)
                hopeless, ready = [], []
                # without history the decision is a pure function of the zones: decide each zone set once
                by_zones: dict[str, datetime | None] = {}
                for contact in due:
                    past = history.get(contact.phone)
                    if past is None and contact.timezones in by_zones:
                        when = by_zones[contact.timezones]
                    else:
                        zones = contact.timezones.split(",") if contact.timezones else []
                        when = next_allowed(rules, zones, now, past or ())
                        if past is None:
                            by_zones[contact.timezones] = when
                    if when is None:
                        hopeless.append(contact.id)
                    elif when > now:
                        deferred[when].append(contact.id)
                    else:
                        ready.append(contact.id)
                postponed = sum(len(ids) for ids in deferred.values())
                self.decisions += postponed + len(hopeless) + min(len(ready), max(0, capacity - len(claimed)))
                for when, ids in deferred.items():
                    session.execute(update(Contact).where(Contact.id.in_(ids)).values(next_attempt_at=when))
                if hopeless:
                    session.execute(
                        update(Contact)
                        .where(Contact.id.in_(hopeless))
                        .values(state="unreachable", note="no calling window left")
                    )
            for contact_id in ready:
                if len(claimed) >= capacity:
                    return claimed, seen
                request = self._claim(contact_id, campaign, rules, now)
                if request is not None:
                    claimed.append(request)
            if len(due) < self.settings.batch_size or len(claimed) >= capacity:
                return claimed, seen

    def _history(self, session: Session, phones: list[str], now: datetime) -> dict[str, list[datetime]]:
        """Start times of robot interactions (answered, or unknown) of debt campaigns per phone, last month."""
        history: dict[str, list[datetime]] = defaultdict(list)
        rows = session.execute(
            select(Attempt.phone, Attempt.started_at).where(
                Attempt.phone.in_(phones),
                Attempt.debt_preset.is_(True),
                Attempt.started_at >= now - timedelta(days=HISTORY_DAYS),
                Attempt.interaction.is_not(False),
            )
        )
        for phone, started in rows:
            history[phone].append(started)
        return history

    def _claim(
        self, contact_id: int, campaign: Campaign, rules: CampaignRules, now: datetime
    ) -> CallRequest | None:
        """Atomically turn a pending contact into an in-flight attempt; None if someone else took it, or it is
        on the do-not-call list, or (re-checked under the transaction) a legal cap would be exceeded."""
        with self.db.session() as session:
            contact = session.get(Contact, contact_id)
            if contact is None or contact.state != "pending":
                return None
            if dnc.is_blocked(session, contact.phone, campaign.id):
                contact.state, contact.note = "dnc", "do-not-call list"
                return None
            if rules.has_caps:
                zones = contact.timezones.split(",") if contact.timezones else []
                history = self._history(session, [contact.phone], now).get(contact.phone, ())
                when = next_allowed(rules, zones, now, history)
                if when is None or when > now:
                    contact.next_attempt_at = when or contact.next_attempt_at
                    return None
            claimed = session.execute(
                update(Contact)
                .where(Contact.id == contact_id, Contact.state == "pending")
                .values(state="in_flight", attempts=Contact.attempts + 1)
            ).rowcount
            if claimed != 1:
                return None
            attempt = Attempt(
                campaign_id=campaign.id,
                contact_id=contact_id,
                phone=contact.phone,
                number=contact.attempts + 1,
                state="in_flight",
                node=self.node,
                debt_preset=rules.preset is Preset.DEBT_230FZ,
                started_at=now,
            )
            session.add(attempt)
            session.flush()
            variables = {**campaign.variables, **contact.variables, "name": contact.name}
            return CallRequest(
                attempt_id=attempt.id,
                campaign_id=campaign.id,
                contact_id=contact_id,
                phone=contact.phone,
                caller_id=campaign.caller_id,
                script=campaign.script,
                language=campaign.language,
                variables=variables,
            )

    def _launch(self, request: CallRequest, rules: CampaignRules) -> None:
        task = asyncio.create_task(self._call(request, rules), name=f"call-{request.attempt_id}")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, request: CallRequest, rules: CampaignRules) -> None:
        try:
            report = await self.placer.place(request)
        except Exception as exc:
            logger.exception("placing call for attempt {} failed", request.attempt_id)
            report = CallReport(result=TelephonyResult.FAILED, error=f"{type(exc).__name__}: {exc}")
        await asyncio.to_thread(self.record, request.attempt_id, report, rules)

    # -- results --------------------------------------------------------------------------------------------

    def record(self, attempt_id: int, report: CallReport, rules: CampaignRules) -> None:
        """Store a call's report and decide the contact's next step (final, retry, do-not-call)."""
        now = self.clock.now()
        with self.db.session() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None or attempt.state != "in_flight":
                logger.warning("report for attempt {} ignored: it was reconciled meanwhile", attempt_id)
                return
            attempt.state = "done"
            attempt.finished_at = now
            attempt.result = report.result.value
            attempt.interaction = report.result is TelephonyResult.ANSWERED
            attempt.outcome = report.outcome.value if report.outcome else ""
            attempt.outcome_data = dict(report.outcome_data)
            if report.callback_at:
                attempt.outcome_data["callback_at"] = report.callback_at.isoformat()
            attempt.slots = dict(report.slots)
            attempt.transcript = list(report.transcript)
            attempt.ring_seconds = report.ring_seconds
            attempt.talk_seconds = report.talk_seconds
            attempt.recording_path = report.recording_path
            attempt.amd = report.amd.value
            attempt.error = report.error
            label = attempt.outcome or attempt.result
            if report.outcome is Outcome.DO_NOT_CALL:
                dnc.add(session, attempt.phone, now, reason=f"asked during call {attempt_id}")
                dnc.block_contacts(session, attempt.phone)
                session.execute(
                    update(Contact)
                    .where(Contact.id == attempt.contact_id)
                    .values(state="dnc", last_result=label)
                )
                return
            reason = retry_reason(report)
            self._reschedule(session, attempt.contact_id, rules, reason, callback_time(report), label, now)

    def _reschedule(
        self,
        session: Session,
        contact_id: int,
        rules: CampaignRules,
        reason: RetryReason | None,
        callback_at: datetime | None,
        label: str,
        now: datetime,
    ) -> None:
        contact = session.get(Contact, contact_id)
        contact.last_result = label
        delay = rules.retry_minutes.get(reason) if reason else None
        if delay is None:
            contact.state = "done"
        elif contact.attempts >= rules.max_attempts:
            contact.state = "exhausted"
        else:
            contact.state = "pending"
            if reason is RetryReason.CALLBACK and callback_at is not None:
                contact.retry_at = max(callback_at, now)
            else:
                contact.retry_at = now + timedelta(minutes=delay)
            contact.next_attempt_at = contact.retry_at

    def _complete_if_done(self, campaign_id: int, now: datetime) -> None:
        """Complete a campaign with no open contacts (checked at most once a minute)."""
        if self._next_completion_check.get(campaign_id, now) > now:
            return
        self._next_completion_check[campaign_id] = now + timedelta(minutes=1)
        with self.db.session() as session:
            open_contacts = session.scalar(
                select(func.count()).where(
                    Contact.campaign_id == campaign_id, Contact.state.in_(("pending", "in_flight"))
                )
            )
        if not open_contacts:
            self._finish(campaign_id, now, "every contact is done")

    def _finish(self, campaign_id: int, now: datetime, why: str) -> None:
        with self.db.session() as session:
            done = session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.state == CampaignState.RUNNING)
                .values(state=CampaignState.COMPLETED, updated_at=now)
            ).rowcount
        if done:
            logger.info("campaign {} completed: {}", campaign_id, why)

    # -- running --------------------------------------------------------------------------------------------

    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    async def drain(self) -> None:
        """Wait until every call this dialer started is over and recorded."""
        while self._calls:
            await asyncio.gather(*list(self._calls))

    def running_campaigns(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).where(Campaign.state == CampaignState.RUNNING))

    async def run(self, stop: asyncio.Event, until_idle: bool = False) -> None:
        """Reconcile, then schedule every `tick_seconds` until `stop` is set (or, with `until_idle`, until no
        campaign is running and no call is up); then let calls finish."""
        self.reconcile()
        while not stop.is_set():
            await self.tick()
            if until_idle and not self._calls and not await asyncio.to_thread(self.running_campaigns):
                break
            await self.clock.sleep(self.settings.tick_seconds)
        await self.drain()
