"""The speech-recognition backlog as Prometheus sees it: jobs waiting for a recognition thread, and each wait."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY, generate_latest

from bot.metrics import prometheus  # noqa: F401  (registers the metrics)
from voice.recognizers import executor


def value(name: str) -> float:
    text = generate_latest(REGISTRY).decode()
    found = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(found[0]) if found else 0.0


def test_queued_jobs_and_their_waits_are_exported():
    waits_before = value("voicebot_stt_wait_seconds_count")
    release = threading.Event()
    busy = [executor.submit(release.wait) for _ in range(executor.workers)]
    waiting = executor.submit(time.sleep, 0)
    deadline = time.monotonic() + 5
    while executor.queued != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value("voicebot_stt_jobs_queued") == 1
    release.set()
    for job in [*busy, waiting]:
        job.result(timeout=5)
    assert value("voicebot_stt_jobs_queued") == 0
    assert value("voicebot_stt_wait_seconds_count") == waits_before + executor.workers + 1
