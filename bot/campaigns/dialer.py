"""The dialer: picks due contacts of running campaigns, claims an attempt in a transaction, places the call,
records the report and schedules what comes next.

Exactly-once: a contact moves `pending` → `in_flight` together with the insertion of its `Attempt` row, in one
transaction with a compare-and-set on the contact's state, before the placer is called. An attempt is placed at
most once (its id is the call's identity). After a crash, `reconcile()` marks attempts left `in_flight` as
`interrupted` (never redialled as the same attempt) and returns their contacts to the queue under the `failed`
retry rule, so none is forgotten; the calls such a node left up are ended `worker_lost` (one `call.completed`
each). Live nodes look for dead ones every `STALE_CHECK`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from loguru import logger
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from bot.call_results.store import count_lost, end_lost_calls, live_call_nodes
from bot.campaigns import service
from bot.campaigns.agent_pacing import AgentPacer
from bot.campaigns.nodes import NodeLease, node_name
from bot.campaigns.placer import CallPlacer, CallReport, CallRequest, LineStatus, TelephonyResult
from bot.campaigns.reports import record_report, reschedule
from bot.campaigns.rules import CampaignRules, Preset, RetryReason, next_allowed
from bot.config import DialerSettings
from bot.consent import BLOCKED_NOTES, SHIPPED_COMPLIANCE, ComplianceSettings, blocked_reason
from bot.contacts import dnc
from bot.core.clock import Clock
from bot.storage.db import UNREACHABLE, Database, advisory_key
from bot.storage.models import Attempt, Campaign, Contact
from bot.storage.states import OPEN_CONTACT_STATES, AttemptState, CampaignState, ContactState

HISTORY_DAYS = 32  # covers the 230-FZ month
RETRY_BACKOFF = (0.5, 1.0, 2.0, 5.0)  # seconds between tries to record a report while the database is down
STALE_CHECK = timedelta(seconds=30)  # how often a running node looks for dead nodes' calls


class DialerPause(StrEnum):
    """Why a running dialer claims no contacts."""

    DATABASE_UNREACHABLE = "database_unreachable"
    LINE_DOWN = "line_down"  # the placer's phone is not registered (the PBX/registrar restarting or away)


class Dialer:
    """Schedules and places calls for all running campaigns; one instance per node."""

    def __init__(
        self,
        db: Database,
        placer: CallPlacer,
        clock: Clock,
        settings: DialerSettings,
        compliance: ComplianceSettings = SHIPPED_COMPLIANCE,
        pacer: AgentPacer | None = None,
    ) -> None:
        self.db = db
        self.placer = placer
        self.clock = clock
        self.settings = settings
        self.compliance = compliance
        self.pacer = pacer  # slows campaigns paced by free agents (`rules.agent_pacing`)
        self._policy_applied: set[int] = set()  # campaigns whose contacts this process checked against policy
        self._calls: set[asyncio.Task[None]] = set()
        self._rules_cache: dict[int, tuple[str, CampaignRules]] = {}
        self._next_completion_check: dict[int, datetime] = {}
        self.decisions = 0  # contacts decided (dialled, deferred or given up), for benchmarks
        self.node = node_name(settings.node)
        self._lease = NodeLease(db, self.node)
        self._next_stale_check: datetime | None = None
        self.paused: DialerPause | None = None  # why the dialer claims nothing now

    # -- start-up -------------------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """Take this node's lease, then settle the attempts left in flight by this node's previous process and by
        dead nodes (whose lease no process holds, `bot/campaigns/nodes.py`); returns how many. Run before the
        first tick. A live node's calls are its own: they are never touched."""
        self._lease.acquire()
        return self._settle(own=True)

    def close(self) -> None:
        """Give up this node's lease (its process stops); call when its calls are over."""
        self._lease.release()

    def _settle(self, own: bool) -> int:
        """Settle what dead nodes (and with `own`, this node's previous process) left behind: in-flight attempts
        become `interrupted` and their contacts are requeued under the `failed` retry rule; calls still up are
        ended `worker_lost` with their `call.completed` (`bot.call_results.store.end_lost_calls`). The dead nodes stay
        locked until the transaction has committed, so no other node settles them too. Returns the attempts."""
        now = self.clock.now()
        with self.db.session() as session:
            nodes = set(
                session.scalars(
                    select(Attempt.node).where(Attempt.state == AttemptState.IN_FLIGHT).distinct()
                )
            )
            nodes.update(live_call_nodes(session))
        with self._lease.dead(sorted(nodes)) as dead:
            settled = [*dead, self.node] if own else dead
            if not settled:
                return 0
            with self.db.session() as session:
                stale = list(
                    session.scalars(
                        select(Attempt).where(
                            Attempt.state == AttemptState.IN_FLIGHT, Attempt.node.in_(settled)
                        )
                    )
                )
                for attempt in stale:
                    attempt.state = AttemptState.INTERRUPTED
                    attempt.result = "interrupted"
                    attempt.finished_at = now
                    attempt.error = (
                        "the dialer stopped during this call; the call may or may not have been placed"
                    )
                    rules = CampaignRules.model_validate(session.get(Campaign, attempt.campaign_id).rules)
                    reschedule(
                        session, attempt.contact_id, rules, RetryReason.FAILED, None, "interrupted", now
                    )
                lost = end_lost_calls(session, settled, datetime.now(UTC))  # call rows keep wall-clock time
        count_lost(lost)
        if stale or lost:
            logger.warning(
                "settled what dialer node(s) {} left when they stopped: {} attempts interrupted, {} calls ended "
                "worker_lost",
                ", ".join(sorted({a.node for a in stale} | {c.node for c in lost})),
                len(stale),
                len(lost),
            )
        return len(stale)

    # -- scheduling -----------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """One scheduling pass over running campaigns (highest priority first); returns calls started.

        Database work runs in a worker thread so the event loop (and the calls' audio on it) never waits."""
        now = self.clock.now()
        if self._next_stale_check is None or now >= self._next_stale_check:
            await asyncio.to_thread(self._lease.renew)
            await asyncio.to_thread(self._settle, False)
            self._next_stale_check = now + STALE_CHECK
        if isinstance(self.placer, LineStatus) and not self.placer.line_up():
            self._pause(DialerPause.LINE_DOWN, "the phone is not registered with its registrar")
            return 0
        campaigns, in_flight = await asyncio.to_thread(self._running)
        self._resume()
        started = 0
        for campaign in campaigns:
            rules = self._rules(campaign)
            if rules.end_at and now >= rules.end_at:
                await asyncio.to_thread(self._finish, campaign.id, now, "end date passed")
                continue
            if campaign.id not in self._policy_applied:  # once per process: the policy may have changed
                await asyncio.to_thread(self._apply_policy, campaign.id, now)
            busy = in_flight.get(campaign.id, 0)
            capacity = min(rules.max_concurrent - busy, self.settings.max_lines - len(self._calls))
            if self.pacer is not None:
                capacity = await self.pacer.room(campaign, rules.agent_pacing, capacity)
            requests, due = await asyncio.to_thread(self._schedule, campaign, rules, now, capacity)
            for request in requests:
                self._launch(request, rules)
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
                .where(Attempt.state == AttemptState.IN_FLIGHT)
                .group_by(Attempt.campaign_id)
            ).all()
        return campaigns, dict(in_flight)

    def _apply_policy(self, campaign_id: int, now: datetime) -> None:
        with self.db.session() as session:
            blocked = service.enforce_policy(session, campaign_id, self.compliance, now)
        self._policy_applied.add(campaign_id)
        if blocked:
            logger.info(
                "campaign {}: contacts its purpose's policy forbids to call: {}", campaign_id, blocked
            )

    def _rules(self, campaign: Campaign) -> CampaignRules:
        """The campaign's validated rules, validated again only when their stored form changes."""
        stored = json.dumps(campaign.rules, sort_keys=True)
        cached = self._rules_cache.get(campaign.id)
        if cached is None or cached[0] != stored:
            cached = self._rules_cache[campaign.id] = (stored, CampaignRules.model_validate(campaign.rules))
        return cached[1]

    def _schedule(
        self, campaign: Campaign, rules: CampaignRules, now: datetime, capacity: int
    ) -> tuple[list[CallRequest], int]:
        """Decide due contacts batch by batch: claim (up to `capacity`), defer to their next allowed time, or
        give up (no window left). Stops at the first batch whose dialable contacts are not all claimed (capacity,
        the campaign's limits over all nodes, or another node claiming them). Returns (claimed attempts to place,
        due contacts seen)."""
        claimed: list[CallRequest] = []
        seen = 0
        while True:
            with self.db.session() as session:
                due = session.execute(
                    select(Contact.id, Contact.phone, Contact.timezones)
                    .where(
                        Contact.campaign_id == campaign.id,
                        Contact.state == ContactState.PENDING,
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
                        .values(state=ContactState.UNREACHABLE, note="no calling window left")
                    )
            wanted = ready[: max(0, capacity - len(claimed))]
            requests, complete = self._claim(wanted, campaign, rules, now) if wanted else ([], True)
            claimed += requests
            if len(due) < self.settings.batch_size or len(wanted) < len(ready) or not complete:
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
        self, ready: list[int], campaign: Campaign, rules: CampaignRules, now: datetime
    ) -> tuple[list[CallRequest], bool]:
        """Turn ready contacts into in-flight attempts in one transaction under the campaign's claim lock, so its
        limits hold over all nodes: calls in flight (`max_concurrent`) and recent starts (`pacing_cps`) are
        counted in the database. A contact is skipped when another node holds it (`SKIP LOCKED`) or took it;
        one on the do-not-call list is marked `dnc`, one the policy of the campaign's purpose forbids (no robot
        calls for it, or no consent where it is required) `blocked`, a debtor over a 230-FZ cap deferred (caps
        re-checked under a lock on the number). Returns the claimed requests and whether every ready contact was decided."""
        with self.db.session() as session:
            if not self._lock_campaign(session, campaign.id):
                return [], False
            now = self.clock.now()  # read under the lock: start times follow the attempts' order
            in_flight = session.scalar(
                select(func.count()).where(
                    Attempt.campaign_id == campaign.id, Attempt.state == AttemptState.IN_FLIGHT
                )
            )
            room = min(rules.max_concurrent - in_flight, self._pacing_room(session, campaign.id, rules, now))
            if room <= 0:
                return [], False
            contacts = session.scalars(
                select(Contact)
                .where(Contact.id.in_(ready), Contact.state == ContactState.PENDING)
                .order_by(Contact.next_attempt_at, Contact.id)
                .with_for_update(skip_locked=True)
            ).all()
            policy = self.compliance.policy(campaign.purpose)
            taken: list[Contact] = []
            decided = len(ready) - len(contacts)  # another node took these since they were read
            for contact in contacts:
                if len(taken) >= room:
                    break
                decided += 1
                if dnc.is_blocked(session, contact.phone, campaign.id):
                    contact.state, contact.note = ContactState.DNC, "do-not-call list"
                    continue
                block = blocked_reason(policy, contact.consent_given_at is not None)
                if block is not None:
                    contact.state, contact.note = ContactState.BLOCKED, BLOCKED_NOTES[block]
                    continue
                if rules.has_caps:
                    if not self.db.is_sqlite:  # one debtor, several campaigns: one claim at a time
                        lock = text("SELECT pg_advisory_xact_lock(:k)")
                        session.execute(lock, {"k": advisory_key(f"debtor:{contact.phone}")})
                    zones = contact.timezones.split(",") if contact.timezones else []
                    history = self._history(session, [contact.phone], now).get(contact.phone, ())
                    when = next_allowed(rules, zones, now, history)
                    if when is None or when > now:
                        contact.next_attempt_at = when or contact.next_attempt_at
                        continue
                contact.state = ContactState.IN_FLIGHT
                contact.attempts += 1
                taken.append(contact)
            attempts = [
                Attempt(
                    campaign_id=campaign.id,
                    contact_id=contact.id,
                    phone=contact.phone,
                    number=contact.attempts,
                    state=AttemptState.IN_FLIGHT,
                    node=self.node,
                    debt_preset=rules.preset is Preset.DEBT_230FZ,
                    started_at=now,
                )
                for contact in taken
            ]
            session.add_all(attempts)
            session.flush()
            requests = [
                CallRequest(
                    attempt_id=attempt.id,
                    campaign_id=campaign.id,
                    contact_id=contact.id,
                    phone=contact.phone,
                    caller_id=campaign.caller_id,
                    script=campaign.script,
                    script_version=campaign.script_version,
                    language=campaign.language,
                    variables={**campaign.variables, **contact.variables, "name": contact.name},
                )
                for attempt, contact in zip(attempts, taken, strict=True)
            ]
            return requests, decided == len(ready)

    def _lock_campaign(self, session: Session, campaign_id: int) -> bool:
        """Serialise claims of one campaign over all nodes; False if it is no longer running. PostgreSQL locks
        its row; SQLite starts the transaction with a write (a no-op UPDATE), taking the database write lock
        first so that what is read next is current."""
        running = Campaign.id == campaign_id, Campaign.state == CampaignState.RUNNING
        if self.db.is_sqlite:
            touched = session.execute(
                update(Campaign)
                .where(*running)
                .values(priority=Campaign.priority)
                .execution_options(synchronize_session=False)
            ).rowcount
            return touched == 1
        return session.scalar(select(Campaign.id).where(*running).with_for_update()) is not None

    @staticmethod
    def _pacing_room(session: Session, campaign_id: int, rules: CampaignRules, now: datetime) -> int:
        """Calls the campaign may start now over all nodes: at most n = ceil(max(1, pacing_cps)) starts in any
        n / pacing_cps seconds (a token bucket of n tokens, read from the campaign's last n attempts)."""
        burst = math.ceil(max(1.0, rules.pacing_cps))
        window = timedelta(seconds=burst / rules.pacing_cps)
        recent = (
            select(Attempt.started_at.label("at"))
            .where(Attempt.campaign_id == campaign_id)
            .order_by(Attempt.id.desc())
            .limit(burst)
            .subquery()
        )
        started = session.scalar(select(func.count()).select_from(recent).where(recent.c.at > now - window))
        return burst - started

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
        tries = 0
        while True:  # a report is never lost to a database that is down: kept until it is back
            try:
                await asyncio.to_thread(self.record, request.attempt_id, report, rules)
                return
            except UNREACHABLE as exc:
                if tries == 0:
                    logger.warning(
                        "attempt {}: database unreachable, report kept ({})", request.attempt_id, exc
                    )
                await asyncio.sleep(RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF) - 1)])
                tries += 1

    # -- results --------------------------------------------------------------------------------------------

    def record(self, attempt_id: int, report: CallReport, rules: CampaignRules) -> None:
        """Store a call's report and decide the contact's next step (`bot/campaigns/reports.py`)."""
        with self.db.session() as session:
            record_report(session, attempt_id, report, rules, self.clock.now())

    def _complete_if_done(self, campaign_id: int, now: datetime) -> None:
        """Complete a campaign with no open contacts (checked at most once a minute)."""
        if self._next_completion_check.get(campaign_id, now) > now:
            return
        self._next_completion_check[campaign_id] = now + timedelta(minutes=1)
        with self.db.session() as session:
            open_contacts = session.scalar(
                select(func.count()).where(
                    Contact.campaign_id == campaign_id, Contact.state.in_(OPEN_CONTACT_STATES)
                )
            )
        if not open_contacts:
            self._finish(campaign_id, now, "every contact is done")

    def _finish(self, campaign_id: int, now: datetime, why: str) -> None:
        """Complete a running campaign: its pending contacts expire and, once no call of it is in flight (their
        reports may still retry or close contacts), it becomes `completed` and `campaign.completed` is emitted
        in the same transaction. Until then each tick tries again."""
        with self.db.session() as session:
            running = Campaign.id == campaign_id, Campaign.state == CampaignState.RUNNING
            if session.scalar(select(Campaign.id).where(*running)) is None:
                return
            service.close_pending(session, campaign_id, CampaignState.COMPLETED, why)
            in_flight = session.scalar(
                select(func.count()).where(
                    Contact.campaign_id == campaign_id, Contact.state == ContactState.IN_FLIGHT
                )
            )
            if in_flight:
                return
            done = session.execute(
                update(Campaign).where(*running).values(state=CampaignState.COMPLETED, updated_at=now)
            ).rowcount
            if done:
                service.finish(session, session.get(Campaign, campaign_id), why, now)
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

    async def _tick_unless_unreachable(self) -> None:
        """A tick; while the database cannot be reached the dialer pauses (claims nothing; the calls up go on and
        keep their reports) and says why in `paused`, then resumes on the first tick that reaches it. A tick also
        pauses while the placer's line is down (`LineStatus`)."""
        try:
            await self.tick()
        except UNREACHABLE as exc:
            self._pause(DialerPause.DATABASE_UNREACHABLE, str(exc))
            self._next_stale_check = None  # back: take the lease again first (a restart dropped it)

    def _pause(self, why: DialerPause, detail: str) -> None:
        if self.paused is not why:
            logger.warning("the dialer pauses, {}: {}", why, detail)
        self.paused = why

    def _resume(self) -> None:
        if self.paused is not None:
            logger.info("the dialer resumes ({} is over)", self.paused)
            self.paused = None

    def running_campaigns(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).where(Campaign.state == CampaignState.RUNNING))

    async def run(self, stop: asyncio.Event, until_idle: bool = False) -> None:
        """Reconcile (unless done already), then schedule every `tick_seconds` until `stop` is set (or, with
        `until_idle`, until no campaign is running and no call is up); then let calls finish."""
        if not self._lease.held:  # a second reconcile would end this node's own calls started since the first
            await asyncio.to_thread(self.reconcile)
        try:
            while not stop.is_set():
                await self._tick_unless_unreachable()
                if until_idle and not self._calls and not await asyncio.to_thread(self.running_campaigns):
                    break
                await self.clock.sleep(self.settings.tick_seconds)
            await self.drain()
        finally:
            self.close()
