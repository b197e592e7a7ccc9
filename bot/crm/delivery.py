"""The delivery worker: sends due webhook deliveries, signed, and schedules retries until a 2xx or the end of the
retry window.

At-least-once: a worker claims a delivery by moving its `next_attempt_at` to the end of a lease, in one UPDATE in
a transaction of its own, before the HTTP request. A worker that dies mid-request leaves the
delivery pending; when the lease ends any worker sends it again (same `webhook-id`, so consumers deduplicate).
An attempt's request ends within `timeout` in all (not per connect/read as httpx counts it), so a live worker's
attempt never outlasts its lease. The database work runs in a thread: one attempt's bookkeeping never holds up the
event loop while the other requests of the batch (or, in `voicebot serve`, the calls) are waiting on it.

Retries: network errors, timeouts, 5xx and 429 after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly (each
±20 % jitter) until a failure after `give_up_at` (24 h after the event) makes the delivery `dead`. Any other
status (1xx, 3xx, 4xx) makes it dead at once. Every attempt is logged in `webhook_attempts`. A retry that succeeds
makes the subscription's other waiting deliveries due at once (the receiver is back: its backlog goes now).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from loguru import logger
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.core.clock import Clock, SystemClock
from bot.crm import signing
from bot.crm.outbox import DeliveryState, envelope
from bot.storage.db import Database
from bot.storage.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription

RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)  # then hourly
JITTER = 0.2
USER_AGENT = "voicebot-webhooks/1"


def retry_delay(failures: int, rng: random.Random, delays: tuple[float, ...] = RETRY_DELAYS) -> float:
    """Seconds before the next attempt after `failures` failed attempts (1-based), with jitter."""
    base = delays[min(failures, len(delays)) - 1]
    return base * rng.uniform(1 - JITTER, 1 + JITTER)


def retryable(status: int | None) -> bool:
    """None (network error or timeout), 5xx and 429 are retried; other failures are final."""
    return status is None or status >= 500 or status == 429


@dataclass(frozen=True)
class Job:
    """A claimed delivery with everything needed to send it outside a transaction."""

    delivery_id: int
    attempt: int
    url: str
    secrets: list[str]
    message_id: str
    body: bytes


class DeliveryWorker:
    """Sends due deliveries; `run()` until stopped, or `run_once()` for one batch."""

    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        *,
        timeout: float = 10.0,
        lease: float = 60.0,
        batch: int = 50,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if lease <= timeout:
            raise ValueError("the claim lease must outlast the request timeout")
        self.db, self.clock = db, clock or SystemClock()
        self.timeout, self.lease, self.batch, self.poll_interval = timeout, lease, batch, poll_interval
        self.rng = rng or random.Random()
        self.retry_delays = retry_delays
        self._client = client

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; polls every `poll_interval` seconds of the clock when idle."""
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:  # e.g. the database away for a moment: claims are leased, nothing is lost
                logger.exception("webhook delivery round failed; retrying after the poll interval")
                sent = 0
            if sent == 0:
                sleeper = asyncio.ensure_future(self.clock.sleep(self.poll_interval))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                for task in (sleeper, stopper):
                    task.cancel()

    async def run_once(self) -> int:
        """Claim the due deliveries and send them concurrently; returns how many were attempted."""
        jobs = await asyncio.to_thread(self.claim)
        if not jobs:
            return 0
        client = self._client or httpx.AsyncClient(timeout=self.timeout, headers={"user-agent": USER_AGENT})
        try:
            await asyncio.gather(*(self._send(client, job) for job in jobs))
        finally:
            if self._client is None:
                await client.aclose()
        return len(jobs)

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due (or its claim ends); None when nothing is pending."""
        with self.db.session() as session:
            return session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.state == DeliveryState.PENDING
                )
            )

    def claim(self) -> list[Job]:
        """Take up to `batch` due deliveries by pushing their due time to the end of a lease.

        One UPDATE statement claims them: SQLite runs it under its write lock, PostgreSQL skips rows another
        worker is claiming (`FOR UPDATE SKIP LOCKED`), so concurrent workers never claim the same delivery.
        """
        now = self.clock.now()
        is_due = (WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now)
        due = (
            select(WebhookDelivery.id)
            .where(*is_due)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        with self.db.session() as session:
            claimed = session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(due.scalar_subquery()), *is_due)
                .values(next_attempt_at=now + timedelta(seconds=self.lease))
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            ).all()
            if not claimed:
                return []
            rows = session.execute(
                select(WebhookDelivery, WebhookEvent, WebhookSubscription)
                .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(WebhookDelivery.id.in_(claimed))
                .order_by(WebhookDelivery.id)
            ).all()
            return [
                Job(
                    delivery.id,
                    delivery.attempts + 1,
                    subscription.url,
                    list(subscription.secrets),
                    event.event_id,
                    json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":")).encode(),
                )
                for delivery, event, subscription in rows
            ]

    async def _send(self, client: httpx.AsyncClient, job: Job) -> None:
        started = self.clock.now()
        wall = time.monotonic()
        status: int | None = None
        error = ""
        try:
            # The signature's timestamp is wall time: consumers compare it with their own clock.
            headers = signing.headers(job.secrets, job.message_id, int(time.time()), job.body)
            headers["content-type"] = "application/json"
            async with asyncio.timeout(self.timeout):
                response = await client.post(job.url, content=job.body, headers=headers, timeout=self.timeout)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except (httpx.TimeoutException, TimeoutError) as exc:
            error = f"timeout after {self.timeout:g} s ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except (ValueError, httpx.InvalidURL) as exc:  # a bad secret or URL: retrying will not help
            error = f"cannot send: {exc}"
            status = 0
        await asyncio.to_thread(self.record, job, started, (time.monotonic() - wall) * 1000, status, error)

    def record(self, job: Job, started: datetime, duration_ms: float, status: int | None, error: str) -> None:
        """Log the attempt and move the delivery on: delivered, retried later, or dead."""
        now = self.clock.now()
        with self.db.session() as session:
            delivery = session.get(WebhookDelivery, job.delivery_id)
            if delivery is None or delivery.state != DeliveryState.PENDING:
                return
            delivery.attempts += 1
            delivery.last_status = status or None
            delivery.last_error = error
            if status is not None and 200 <= status < 300:
                result = delivery.state = DeliveryState.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                if delivery.attempts > 1:
                    self._flush_backlog(session, delivery.subscription_id, now)
            elif retryable(status) and now < delivery.give_up_at:
                result = "retry"
                delivery.next_attempt_at = now + timedelta(
                    seconds=retry_delay(delivery.attempts, self.rng, self.retry_delays)
                )
            else:
                result = delivery.state = DeliveryState.DEAD
                delivery.next_attempt_at = None
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    started_at=started,
                    duration_ms=duration_ms,
                    status=status or None,
                    error=error,
                    result=str(result),
                )
            )
        log = logger.info if result == DeliveryState.DELIVERED else logger.warning
        log("webhook {} to {}: attempt {} {} {}", job.message_id, job.url, job.attempt, result, error)

    def _flush_backlog(self, session: Session, subscription_id: int, now: datetime) -> None:
        """A receiver that answers again after failures gets its backlog now, not each delivery at its own retry
        time (up to an hour away). Only deliveries due after a lease from now are moved: one due sooner may be
        claimed by a worker sending it right now (its due time is its claim's end), and must not be sent twice."""
        flushed = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at > now + timedelta(seconds=self.lease),
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if flushed:
            logger.info(
                "webhook subscription {} answers again: {} waiting deliveries sent now",
                subscription_id,
                flushed,
            )
