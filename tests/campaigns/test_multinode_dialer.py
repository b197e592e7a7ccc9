"""Two dialer processes share one database (PostgreSQL, and SQLite): one campaign, no contact dialled twice, both
nodes busy, the campaign's limits (calls in flight, pacing) held over both.

Run as `python -m tests.campaigns.test_multinode_dialer URL NODE LOG READY` this module is one worker process.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.nodes import NodeNameInUse
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings
from bot.core.calendar import Hours
from bot.core.clock import SystemClock
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Contact
from tests.campaigns.simtools import make_campaign

CONTACTS = 300
MAX_CONCURRENT = 6
MAX_LINES = 4  # per node: one node alone cannot reach the campaign's limit
PACING_CPS = 40.0
ALL_DAY = Hours(start=dt_time(0), end=dt_time(23, 59, 59))
RULES = CampaignRules(
    working_hours=ALL_DAY,
    rest_day_hours=ALL_DAY,
    holidays_country="",
    max_concurrent=MAX_CONCURRENT,
    pacing_cps=PACING_CPS,
)
REPO = Path(__file__).resolve().parents[2]


class TalkingPlacer:
    """Answers every call and "talks" for a random 20–200 ms; logs each call with its wall-clock span."""

    def __init__(self, node: str, log: Path) -> None:
        self.node, self.log = node, log

    async def place(self, request: CallRequest) -> CallReport:
        start = time.time()
        await asyncio.sleep(random.uniform(0.02, 0.2))
        line = {"attempt": request.attempt_id, "contact": request.contact_id, "node": self.node}
        with self.log.open("a") as log:
            log.write(json.dumps(line | {"start": start, "end": time.time()}) + "\n")
        return CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CONFIRMED)


async def _worker(url: str, node: str, log: Path, ready: Path) -> None:
    """Take the node lease, say ready, wait for a running campaign, dial until none runs."""
    db = Database(url)
    settings = DialerSettings(node=node, tick_seconds=0.02, max_lines=MAX_LINES, batch_size=50)
    dialer = Dialer(db, TalkingPlacer(node, log), SystemClock(), settings)
    dialer.reconcile()
    ready.touch()
    while not dialer.running_campaigns():
        await asyncio.sleep(0.02)
    await dialer.run(asyncio.Event(), until_idle=True)
    db.dispose()


def _start_worker(url: str, node: str, tmp: Path) -> subprocess.Popen:
    args = [url, node, str(tmp / f"{node}.jsonl"), str(tmp / f"{node}.ready")]
    module = "tests.campaigns.test_multinode_dialer"
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=REPO, stderr=subprocess.PIPE, text=True
    )


def _wait_ready(paths: list[Path], workers: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while not all(p.exists() for p in paths):
        for worker in workers:
            assert worker.poll() is None, worker.stderr.read()
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)


def _overlap(a: list[dict], b: list[dict]) -> bool:
    return any(x["start"] < y["end"] and y["start"] < x["end"] for x in a for y in b)


@pytest.mark.slow
def test_two_worker_processes_dial_each_contact_once_within_the_campaigns_limits(
    db: Database, tmp_path: Path
) -> None:
    now = datetime.now().astimezone()
    phones = [(f"+7916777{i:04d}", "UTC") for i in range(CONTACTS)]
    campaign = make_campaign(db, phones, now, RULES, start=False)
    url = db.url.render_as_string(hide_password=False)
    workers = [_start_worker(url, node, tmp_path) for node in ("n1", "n2")]
    _wait_ready([tmp_path / "n1.ready", tmp_path / "n2.ready"], workers)
    with db.session() as session:
        service.apply(session, campaign, service.Action.START, now)

    peak = 0  # calls of the campaign in flight, sampled from the database while both workers run
    while any(w.poll() is None for w in workers):
        with db.session() as session:
            in_flight = session.scalar(
                select(func.count()).where(Attempt.campaign_id == campaign, Attempt.state == "in_flight")
            )
        peak = max(peak, in_flight)
        time.sleep(0.005)
    for worker in workers:
        assert worker.wait(timeout=60) == 0, worker.stderr.read()

    calls = {
        node: [json.loads(line) for line in (tmp_path / f"{node}.jsonl").read_text().splitlines()]
        for node in ("n1", "n2")
    }
    dialled = Counter(c["contact"] for node_calls in calls.values() for c in node_calls)
    assert len(dialled) == CONTACTS and set(dialled.values()) == {1}, "a contact dialled twice or never"
    with db.session() as session:
        attempts = list(session.scalars(select(Attempt).order_by(Attempt.id)))
        states = Counter(session.scalars(select(Contact.state)))
    assert states == Counter({"done": CONTACTS})
    assert len(attempts) == CONTACTS and {a.state for a in attempts} == {"done"}
    assert Counter(a.node for a in attempts) == Counter({n: len(c) for n, c in calls.items()})
    assert min(len(c) for c in calls.values()) >= CONTACTS // 10, "one worker did nearly everything"
    assert _overlap(calls["n1"], calls["n2"]), "the workers never had calls up at the same time"
    assert 0 < peak <= MAX_CONCURRENT
    burst = math.ceil(PACING_CPS)
    window = timedelta(seconds=burst / PACING_CPS)
    starts = sorted(a.started_at for a in attempts)
    busiest = max(sum(1 for t in starts[i:] if t < s + window) for i, s in enumerate(starts))
    assert busiest <= burst, f"{busiest} calls started within {window}"


def test_a_node_name_is_held_by_one_process_and_a_dead_nodes_calls_are_recovered(db: Database) -> None:
    now = datetime.now().astimezone()
    campaign = make_campaign(db, [("+79167770001", "UTC")], now, RULES)
    placer = TalkingPlacer("x", Path("/dev/null"))
    first = Dialer(db, placer, SystemClock(), DialerSettings(node="a"))
    first.reconcile()
    with pytest.raises(NodeNameInUse, match="'a' is in use"):
        Dialer(db, placer, SystemClock(), DialerSettings(node="a")).reconcile()
    requests, _ = first._claim([_contact_ids(db, campaign)[0]], first._running()[0][0], RULES, now)
    assert len(requests) == 1
    other = Dialer(db, placer, SystemClock(), DialerSettings(node="b"))
    assert other.reconcile() == 0  # a is alive: its call is its own
    first.close()  # a dies with its call up
    assert other._settle(own=False) == 1
    with db.session() as session:
        assert session.get(Attempt, requests[0].attempt_id).state == "interrupted"
    other.close()


def _contact_ids(db: Database, campaign: int) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(Contact.id).where(Contact.campaign_id == campaign)))


if __name__ == "__main__":
    asyncio.run(_worker(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))
