"""Prometheus metrics for operators: live call and hand-off counters (updated by `CallStore` and `HandoffRecords`),
the speech-recognition backlog (from voice/recognizers.py) and webhook delivery health (read from the database at
scrape time). Served at `/metrics` by the API app."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.metrics.latency import turn_latencies
from bot.storage.db import Database
from bot.storage.models import WebhookAttempt, WebhookDelivery
from bot.storage.states import HandoffEnd
from voice import recognizers

if TYPE_CHECKING:
    from bot.handoff.ending import Ending

ACTIVE = Gauge("voicebot_calls_active", "Calls ringing or in progress on this process", ["direction"])
STARTED = Counter("voicebot_calls_started", "Calls started (first ring)", ["direction"])
ANSWERED = Counter("voicebot_calls_answered", "Calls answered", ["direction"])
ENDED = Counter(
    "voicebot_calls_ended", "Calls ended, by outcome ('none': no outcome)", ["direction", "outcome"]
)
ERRORS = Counter(
    "voicebot_call_errors",
    "Calls ended with an error; answered=false are failed set-ups (busy, rejected, network)",
    ["direction", "answered"],
)
LOST = Counter(
    "voicebot_calls_lost",
    "Calls a dead worker left up, ended (worker_lost) by this process when it found them",
    ["direction"],
)
RECORDINGS_FAILED = Counter(
    "voicebot_recordings_failed",
    "Call recordings that could not be written (e.g. the recordings disk full); the calls went on without them",
)
RECORDINGS_WRITABLE = Gauge(
    "voicebot_recordings_writable", "1 while the last call recording was written, 0 after one failed"
)
RECORDINGS_WRITABLE.set(1)
TURN_LATENCY = Histogram(
    "voicebot_turn_latency_seconds",
    "End of the caller's speech to the first robot audio on the line, per spoken turn",
    buckets=(0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0),
)
HANDOFFS_ENDED = Counter(
    "voicebot_handoffs_ended",
    "Hand-offs ended, by queue and how: connected, abandoned (the customer hung up while agents were rung or while"
    " waiting), taken_back (callback), failed",
    ["queue", "end"],
)
HANDOFF_TO_AGENT = Histogram(
    "voicebot_handoff_time_to_agent_seconds",
    "Hand-off requested to the customer joined to an agent, per connected hand-off",
    ["queue"],
    buckets=(5, 10, 15, 20, 30, 45, 60, 90, 120, 180),
)
HANDOFF_AGENT_ANSWER = Histogram(
    "voicebot_handoff_agent_answer_seconds",
    "The accepted agent's ringing to answer, per connected hand-off",
    ["queue"],
    buckets=(1, 2, 3, 5, 8, 10, 15, 20, 30, 60),
)

STT_QUEUED = Gauge(
    "voicebot_stt_jobs_queued", "Speech-recognition jobs waiting for a recognition thread (the backlog)"
)
STT_QUEUED.set_function(lambda: recognizers.executor.queued)
STT_WAIT = Histogram(
    "voicebot_stt_wait_seconds",
    "How long each speech-recognition job (160 ms of audio, or an utterance's end) waited for a thread",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
recognizers.executor.on_wait(STT_WAIT.observe)


def call_started(direction: str) -> None:
    STARTED.labels(direction).inc()
    ACTIVE.labels(direction).inc()


def call_answered(direction: str) -> None:
    ANSWERED.labels(direction).inc()


def call_ended(direction: str, answered: bool, outcome: str, error: str, turns: Iterable[Any]) -> None:
    ACTIVE.labels(direction).dec()
    ENDED.labels(direction, outcome or "none").inc()
    if error:
        ERRORS.labels(direction, str(answered).lower()).inc()
    for ms in turn_latencies(list(turns)):
        TURN_LATENCY.observe(ms / 1000)


def call_lost(direction: str, answered: bool) -> None:
    """A dead worker's call ended here: counted as ended with an error, not as one of this process's active calls."""
    LOST.labels(direction).inc()
    ENDED.labels(direction, "none").inc()
    ERRORS.labels(direction, str(answered).lower()).inc()


def handoff_ended(queue: str, ending: Ending) -> None:
    """A hand-off's result was recorded (bot/handoff/records.py)."""
    HANDOFFS_ENDED.labels(queue, ending.end.value).inc()
    if ending.end is HandoffEnd.CONNECTED:
        if ending.time_to_agent_seconds is not None:
            HANDOFF_TO_AGENT.labels(queue).observe(ending.time_to_agent_seconds)
        if ending.agent_answer_seconds is not None:
            HANDOFF_AGENT_ANSWER.labels(queue).observe(ending.agent_answer_seconds)


def recording_saved(ok: bool) -> None:
    """A call's recording was written (or could not be: counted, and the health flag drops to 0)."""
    RECORDINGS_WRITABLE.set(1 if ok else 0)
    if not ok:
        RECORDINGS_FAILED.inc()


class WebhookCollector(Collector):
    """Webhook deliveries per state and failed delivery attempts, counted in the database at each scrape."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        with self.db.session() as session:
            states = session.execute(
                select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
            ).all()
            failed = session.scalar(select(func.count()).where(WebhookAttempt.result != "delivered"))
        deliveries = GaugeMetricFamily(
            "voicebot_webhook_deliveries", "CRM webhook deliveries by state", labels=["state"]
        )
        for state, count in states:
            deliveries.add_metric([state], count)
        yield deliveries
        yield CounterMetricFamily(
            "voicebot_webhook_attempts_failed", "CRM webhook HTTP attempts that failed", value=failed or 0
        )


__all__ = [
    "CONTENT_TYPE",
    "call_answered",
    "call_ended",
    "call_lost",
    "call_started",
    "exposition",
    "handoff_ended",
    "recording_saved",
]


def exposition(db: Database) -> bytes:
    """The text exposition of the process-wide metrics and this database's webhook metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WebhookCollector(db))
    return generate_latest(REGISTRY) + generate_latest(registry)
