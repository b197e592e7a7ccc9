"""Exactly-once dialling across a crash, and a dead worker's calls end: a dialer process is SIGKILLed with calls
up, then restarted under its node name or found dead by another live worker once its lease is free (SQLite and
PostgreSQL). Each simulated call is a `calls` row, as the real placer writes it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time as walltime
from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from bot.campaigns.rules import CampaignRules
from bot.core.calendar import Hours
from bot.crm import signing
from bot.crm.delivery import DeliveryWorker
from bot.metrics.calls import ended_calls
from bot.metrics.filters import CallFilter
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Contact, WebhookEvent
from tests.campaigns.simtools import make_campaign
from tests.chaos import ChaosRow, record
from tests.crm.conftest import Receiver
from tests.crm.test_webhook_delivery import FAST, deliver_all, subscribe

CONTACTS = 40
ALL_DAY = Hours(start=time(0), end=time(23, 59, 59))
RUN = "from bot.cli import app; import bot.cli.campaigns; app()"


def dialer_process(
    url: str, data_dir: Path, dial_log: Path, anchor: datetime, node: str, exit_when_done: bool
) -> subprocess.Popen:
    args = ["campaigns", "run", "--simulate", "--call-seconds", "0.4", "--dial-log", str(dial_log)]
    args += ["--time-scale", "120", "--time-anchor", anchor.isoformat()]  # a retry minute lasts half a second
    if exit_when_done:
        args.append("--exit-when-done")
    env = os.environ | {
        "VOICEBOT_PATHS__DATA_DIR": str(data_dir),
        "VOICEBOT_STORAGE__URL": url,
        "VOICEBOT_DIALER__TICK_SECONDS": "6",
        "VOICEBOT_DIALER__NODE": node,
    }
    return subprocess.Popen([sys.executable, "-c", RUN, *args], env=env, stderr=subprocess.PIPE, text=True)


def dials(dial_log: Path) -> list[dict]:
    if not dial_log.exists():
        return []
    return [json.loads(line) for line in dial_log.read_text().splitlines() if line.strip()]


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = walltime.monotonic() + seconds
    while not condition():
        assert walltime.monotonic() < deadline, what
        walltime.sleep(0.05)


def attempts_of(db: Database, node: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Attempt.node == node))


@pytest.mark.slow
@pytest.mark.parametrize("recovery", ["restart", "live_worker"])
def test_a_worker_killed_mid_flight_dials_each_attempt_once_loses_no_contact_and_its_calls_end(
    empty_database_url: str, tmp_path: Path, receiver: Receiver, recovery: str
) -> None:
    """SIGKILL with calls up; then the same node restarts, or a live worker finds the dead one's lease free."""
    data_dir, dial_log = tmp_path / "var", tmp_path / "dials.jsonl"
    db = Database(empty_database_url)
    db.migrate()
    secret = signing.new_secret()
    subscribe(db, receiver.url, [secret], ["call.completed"])
    anchor = datetime.now(UTC)
    rules = CampaignRules(
        working_hours=ALL_DAY,
        rest_day_hours=ALL_DAY,
        max_concurrent=6,
        pacing_cps=0.05,
        retry_minutes={"failed": 1},
    )
    contacts = [(f"+7916555{i:04d}", "UTC") for i in range(CONTACTS)]
    campaign_id = make_campaign(db, contacts, anchor, rules)

    url = db.url.render_as_string(hide_password=False)
    first = dialer_process(url, data_dir, dial_log, anchor, "w1", exit_when_done=False)
    wait_for(lambda: len(dials(dial_log)) >= 12, "the first worker did not dial")
    if recovery == "live_worker":
        second = dialer_process(url, data_dir, dial_log, anchor, "w2", exit_when_done=True)
        wait_for(lambda: attempts_of(db, "w2") > 0, "the second worker did not dial")
    first.send_signal(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    first.wait()
    with db.session() as session:
        in_flight = set(
            session.scalars(select(Attempt.id).where(Attempt.state == "in_flight", Attempt.node == "w1"))
        )
        left_up = set(session.scalars(select(Call.call_id).where(Call.state != "ended", Call.node == "w1")))
    assert in_flight and left_up, "the kill should land while calls are up"
    before_restart = {d["attempt_id"] for d in dials(dial_log)}

    if recovery == "restart":
        second = dialer_process(url, data_dir, dial_log, anchor, "w1", exit_when_done=True)
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr

    log = dials(dial_log)
    assert not [a for a, n in Counter(d["attempt_id"] for d in log).items() if n > 1], (
        "an attempt dialled twice"
    )
    with db.session() as session:
        attempts = {a.id: a for a in session.scalars(select(Attempt))}
        states = Counter(session.scalars(select(Contact.state)))
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        completed = Counter(
            e.payload["call_id"]
            for e in session.scalars(select(WebhookEvent).where(WebhookEvent.type == "call.completed"))
        )
        counted = list(ended_calls(session, CallFilter(campaign_id=campaign_id)))
    found_at = max((c.ended_at for c in calls.values() if c.call_id in left_up), default=None)
    record(
        ChaosRow(
            fault=f"worker SIGKILLed, {'restarted' if recovery == 'restart' else 'found by a live worker'}"
            f" ({db.url.get_backend_name()})",
            calls_up=len(left_up),
            contacts=CONTACTS,
            lost=CONTACTS - states["done"],
            dialled_twice=sum(n - 1 for n in Counter(d["attempt_id"] for d in log).values()),
            events_lost=sum(completed[call_id] != 1 for call_id in calls),
            calls_left_live=sum(c.state != "ended" for c in calls.values()),
            seconds_to_recover=round((found_at.replace(tzinfo=UTC) - killed_at).total_seconds(), 1)
            if found_at
            else None,
        )
    )
    assert {d["attempt_id"] for d in log} <= set(attempts), "a call placed without a claimed attempt"
    assert states == Counter({"done": CONTACTS}), "a contact was forgotten"
    for attempt_id in in_flight:  # the contacts of the dead worker's calls are retried by the `failed` rule
        interrupted = attempts[attempt_id]
        assert interrupted.state == "interrupted"
        retried = [
            a for a in attempts.values() if a.contact_id == interrupted.contact_id and a.id != attempt_id
        ]
        assert [a.state for a in retried] == ["done"]
        assert retried[0].id not in before_restart
    assert Counter(a.state for a in attempts.values()) == Counter(
        {"done": CONTACTS, "interrupted": len(in_flight)}
    )
    dialled_contacts = Counter(d["contact_id"] for d in log)
    assert len(dialled_contacts) == CONTACTS

    # the calls left up end worker_lost, each with one call.completed, and count in the metrics
    assert {c.state for c in calls.values()} == {"ended"}, "a call left live"
    lost = {c.call_id for c in calls.values() if c.ended_by == "worker_lost"}
    assert lost == left_up
    assert {calls[c].attempt_id for c in lost} <= in_flight
    assert completed == Counter(set(calls)), "not exactly one call.completed per call"
    assert len(counted) == len(calls)

    asyncio.run(deliver_all(DeliveryWorker(db, timeout=2.0, retry_delays=FAST)))
    received = [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests if r.status == 200]
    lost_received = Counter(e["data"]["call_id"] for e in received if e["data"]["ended_by"] == "worker_lost")
    assert lost_received == Counter(lost), "each lost call's call.completed arrives once, signed"
    db.dispose()
