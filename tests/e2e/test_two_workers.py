"""Two full platform workers at once (docs/scaling.md): two `voicebot serve` processes, each with its own Rasa,
SIP phone and dialer, sharing one PostgreSQL database and one Rasa tracker-store database.

Each worker registers at a Kamailio PBX under its own account, so it can dial the customers (baresip phones that
answer "алло … да" in recorded espeak-ng Russian); a Kamailio dispatcher in front of the workers' SIP ports spreads
inbound calls (SIPp callers) over them. Everything the run writes stays in var/test-artifacts/two-workers.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, select, text

from bot.devtools.demo import (
    CAMPAIGNS,
    CONFIG,
    CUSTOMERS,
    RULES,
    Platform,
    free_port,
    platform_env,
    start_phone,
    wait_for,
)
from bot.storage.db import Database
from bot.storage.models import Attempt, Call
from telephony import rig
from tests.conftest import ROOT, TEST_DATA_DIR, TINY, new_postgres_database
from tests.telephony.test_dispatcher import place_calls

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

ARTIFACTS = ROOT / "var" / "test-artifacts" / "two-workers"
PBX, DISPATCHER, CUSTOMER_PORTS, CALLER_PORT, CALLER_RTP = 5800, 5805, 5820, 5840, 36000
WORKERS = {"worker-1": (5810, 34000), "worker-2": (5811, 34500)}  # SIP port, first of 400 RTP ports
MAX_LINES = 2  # per worker: one worker alone cannot reach the campaign's max_concurrent
SAYS_YES = next(customer for customer in CUSTOMERS if customer.does == "says yes")
PHONES = [f"+7999100000{n}" for n in range(1, 7)]
INBOUND_CALLS = 4


@dataclass
class Site:
    workers: dict[str, Platform]
    storage: Database
    tracker_url: str


@contextmanager
def two_workers(dialog_env: dict[str, str], postgres_url: str) -> Iterator[Site]:
    """PBX, customers, both workers (ready) and the dispatcher; everything is stopped when the block ends."""
    if not rig.have_peers():
        pytest.skip("kamailio, baresip and sipp are needed (scripts/setup.sh)")
    storage_url = new_postgres_database(postgres_url, "voicebot")
    tracker_url = new_postgres_database(postgres_url, "rasa_tracker")
    rig_dir = ARTIFACTS / "rig"
    rig_dir.mkdir(parents=True)
    with ExitStack() as stack:
        stack.callback(rig.stop_all)  # the customers and the callers
        stack.callback(rig.start_kamailio(rig_dir, PBX, PBX + 90).stop)
        for n, phone in enumerate(PHONES):
            start_phone(rig_dir, phone, CUSTOMER_PORTS + 2 * n, PBX, SAYS_YES.audio())
        workers = {name: _worker(name, dialog_env, storage_url, tracker_url) for name in WORKERS}
        for worker in workers.values():
            stack.callback(worker.stop)
            worker.launch()  # each migrates the new database at start, as does `voicebot apikeys` below
        for worker in workers.values():
            stack.callback(worker.terminate)  # first both are told to stop, then each is waited for
        destinations = [f"sip:127.0.0.1:{sip}" for sip, _ in WORKERS.values()]
        stack.callback(rig.start_kamailio_dispatcher(rig_dir, DISPATCHER, destinations).stop)
        key = workers["worker-1"].create_api_key()
        for worker in workers.values():
            worker.use_api_key(key)
            worker.wait_ready(timeout=240)
        storage = Database(storage_url)
        stack.callback(storage.dispose)
        yield Site(workers, storage, tracker_url)


def _worker(name: str, dialog_env: dict[str, str], storage_url: str, tracker_url: str) -> Platform:
    """A worker with its own ports, data directory and PBX account, on the shared databases."""
    sip, rtp = WORKERS[name]
    api, rasa, actions = _distinct_free_ports(3)
    env = {
        **dialog_env,
        **platform_env(ARTIFACTS / name, PBX, sip, rtp, api, TINY),
        "VOICEBOT_TELEPHONY__USER": name,
        "VOICEBOT_STORAGE__URL": storage_url,
        "VOICEBOT_RASA__TRACKER_STORE": tracker_url,
        "VOICEBOT_RASA__PORT": str(rasa),
        "VOICEBOT_RASA__ACTION_PORT": str(actions),
        "VOICEBOT_DIALER__NODE": name,
        "VOICEBOT_DIALER__MAX_LINES": str(MAX_LINES),
    }
    worker = Platform(ARTIFACTS / name, env)
    worker.prepare(CONFIG, models_from=[TEST_DATA_DIR / "rasa" / "models"])  # trained by dialog_service
    return worker


_taken: set[int] = set()


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in _taken:
            _taken.add(port)
            ports.append(port)
    return ports


def _own_processes() -> list[str]:
    """Processes still running whose command line names this test's directory (Rasa, Kamailio, baresip, …)."""
    found = subprocess.run(["pgrep", "-af", str(ARTIFACTS)], capture_output=True, text=True)
    return found.stdout.splitlines()


def test_two_workers_share_one_campaign_and_the_inbound_calls(dialog_service, postgres_url) -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    with two_workers(dialog_service, postgres_url) as site:
        _one_campaign_over_both_workers(site)
        _inbound_calls_spread_over_both_workers(site)
    assert _own_processes() == []


def _one_campaign_over_both_workers(site: Site) -> None:
    """One campaign (created through worker-1's API), more contacts than both workers' lines: each contact is
    dialled once, by one of the two workers, both at the same time; every call is confirmed."""
    api = site.workers["worker-1"]
    rules = {**RULES, "max_concurrent": MAX_LINES * len(WORKERS)}
    campaign = api.run_campaign("reminder", CAMPAIGNS["reminder"], rules, PHONES)
    api.wait_until_every_customer_was_called(campaign, timeout=180)

    with site.storage.session() as session:
        attempts = list(session.scalars(select(Attempt).where(Attempt.campaign_id == campaign)))
        calls = {c.attempt_id: c for c in session.scalars(select(Call).where(Call.campaign_id == campaign))}
    assert Counter(a.phone for a in attempts) == Counter(PHONES), "a contact dialled twice, or not at all"
    assert {a.node for a in attempts} == set(WORKERS), [(a.phone, a.node) for a in attempts]
    for attempt in attempts:
        call = calls[attempt.id]
        got = (attempt.result, call.outcome)
        assert got == ("answered", "confirmed"), (
            attempt.phone,
            attempt.node,
            got,
            attempt.error,
        )
        assert call.node == attempt.node and call.state == "ended", (call.node, attempt.node, call.state)
        heard = [line["text"] for line in call.transcript if line["speaker"] == "caller"]
        assert heard and heard[0].split()[0] == "да", call.transcript
    spans = {
        name: [(c.answered_at, c.ended_at) for c in calls.values() if c.node == name] for name in WORKERS
    }
    assert any(
        a_start < b_end and b_start < a_end
        for a_start, a_end in spans["worker-1"]
        for b_start, b_end in spans["worker-2"]
    ), f"the workers' calls never overlapped: {spans}"

    tracker = create_engine(site.tracker_url)  # Rasa's own tables, read with the platform's driver
    with tracker.connect() as connection:
        conversations = set(connection.scalars(text("SELECT DISTINCT sender_id FROM events")))
    tracker.dispose()
    missing = [(c.node, c.call_id) for c in calls.values() if c.call_id not in conversations]
    assert not missing, f"conversations missing from the shared tracker store: {missing}"


def _inbound_calls_spread_over_both_workers(site: Site) -> None:
    """SIPp callers through the dispatcher: the calls alternate between the workers, each answered by the
    inbound script (the callers hang up after 8 s)."""
    sipp = asyncio.run(place_calls(ARTIFACTS / "rig", DISPATCHER, INBOUND_CALLS, CALLER_PORT, CALLER_RTP))
    assert sipp.proc.returncode == 0, sipp.output()[-2000:]  # every call answered (200) and ended (BYE)

    api = site.workers["worker-2"]  # its call log holds both workers' calls
    wait_for(
        lambda: len(api.ended_inbound_calls()) == INBOUND_CALLS, 30, "inbound calls not ended", interval=1
    )
    with site.storage.session() as session:
        calls = list(session.scalars(select(Call).where(Call.direction == "inbound")))
    assert Counter(c.node for c in calls) == {name: INBOUND_CALLS // len(WORKERS) for name in WORKERS}, [
        (c.call_id, c.node) for c in calls
    ]
    for call in calls:
        assert (call.script, call.state) == ("inbound", "ended"), (call.script, call.state, call.outcome)
        assert call.answered_at is not None, call.call_id
        assert any(line["speaker"] == "robot" for line in call.transcript), call.transcript
