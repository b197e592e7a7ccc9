"""Hosts apart on one machine (tests/netns.py): two dialer workers and PostgreSQL, each in its own network
namespace. One worker's link is cut while it has calls up: the other carries on the campaign, ends the cut
worker's calls `worker_lost` and retries their contacts once the cut worker's lease lapses (the server drops the
lease's session when its keepalives go unanswered); the link restored, the cut worker rejoins and dials again.
Each simulated call is a `calls` row, as the real placer writes it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time as walltime
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.campaigns.rules import CampaignRules
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Contact, WebhookEvent
from telephony import rig
from tests.campaigns.simtools import make_campaign
from tests.campaigns.test_campaign_crash import ALL_DAY, RUN, dials, wait_for
from tests.chaos import ChaosRow, record
from tests.netns import Lab, lab
from tests.postgres import PostgresCluster

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

CONTACTS = 24
LINES = 3  # per worker
CALL_SECONDS = 5.0
LEASE_LAPSES_WITHIN = 45.0  # keepalives ~11 s, then a live worker's next look for dead nodes (its tick)


class NamespacedPostgres(PostgresCluster):
    """The throwaway cluster listening on a lab host's address (and on its Unix socket, which the test itself
    uses: a socket file is reachable from any namespace)."""

    def __init__(self, setup: Lab, host: str) -> None:
        super().__init__()
        self.address = setup.hosts[host]
        self.as_postgres = [*setup.exec(host), *self.as_postgres]
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 198.51.100.0/24 trust\n")
        self.url = f"postgresql+psycopg://postgres@{self.address}:{self.port}"
        self.local_url = f"postgresql+psycopg://postgres@/postgres?host={self.root}&port={self.port}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={self.address} -c fsync=off"
        self._pg("pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "log", "-w", "start")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Lab, NamespacedPostgres]]:
    with lab(f"vb{os.getpid() % 10000}") as setup:
        for host in ("db", "w1", "w2"):
            setup.add(host)
        cluster = NamespacedPostgres(setup, "db")
        cluster.start()
        try:
            yield setup, cluster
        finally:
            cluster.remove()


def worker(setup: Lab, host: str, url: str, data_dir: Path, dial_log: Path, anchor: datetime):
    args = [
        "campaigns",
        "run",
        "--simulate",
        "--call-seconds",
        str(CALL_SECONDS),
        "--dial-log",
        str(dial_log),
    ]
    args += ["--time-scale", "60", "--time-anchor", anchor.isoformat(), "--exit-when-done"]
    env = os.environ | {
        "VOICEBOT_PATHS__DATA_DIR": str(data_dir / host),
        "VOICEBOT_STORAGE__URL": url,
        "VOICEBOT_DIALER__TICK_SECONDS": "60",  # one real second
        "VOICEBOT_DIALER__NODE": host,
        "VOICEBOT_DIALER__MAX_LINES": str(LINES),
    }
    log = (data_dir / f"{host}.log").open("a")
    command = [*setup.exec(host), sys.executable, "-c", RUN, *args]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def calls_up(db: Database, node: str) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Call.call_id).where(Call.state != "ended", Call.node == node)))


def attempts_of(db: Database, node: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Attempt.node == node))


def test_a_worker_cut_off_is_found_dead_its_calls_end_and_it_rejoins(
    site: tuple[Lab, NamespacedPostgres], tmp_path: Path
) -> None:
    setup, cluster = site
    import psycopg

    with psycopg.connect(host=str(cluster.root), port=cluster.port, user="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE voicebot")
    db = Database(cluster.local_url.replace("/postgres?", "/voicebot?"))
    db.migrate()
    anchor = datetime.now(UTC)
    rules = CampaignRules(
        working_hours=ALL_DAY,
        rest_day_hours=ALL_DAY,
        max_concurrent=2 * LINES,
        pacing_cps=0.1,
        retry_minutes={"failed": 1},
    )
    contacts = [(f"+7916777{i:04d}", "UTC") for i in range(CONTACTS)]
    make_campaign(db, contacts, anchor, rules)

    url, dial_log = f"{cluster.url}/voicebot", tmp_path / "dials.jsonl"
    workers = {host: worker(setup, host, url, tmp_path, dial_log, anchor) for host in ("w1", "w2")}
    try:
        wait_for(lambda: calls_up(db, "w1") and attempts_of(db, "w2"), "both workers dialling", 60)
        setup.cut("w1")
        cut_at = walltime.monotonic()
        left_up = calls_up(db, "w1")  # w1 writes nothing from now on
        w2_before = attempts_of(db, "w2")
        wait_for(lambda: not calls_up(db, "w1"), "the cut worker's calls were not ended", LEASE_LAPSES_WITHIN)
        recovered = walltime.monotonic() - cut_at
        assert attempts_of(db, "w2") > w2_before, "the other worker stopped dialling meanwhile"
        w1_before = attempts_of(db, "w1")
        setup.restore("w1")
        wait_for(lambda: attempts_of(db, "w1") > w1_before, "the cut worker did not rejoin", 60)
        for host, process in workers.items():
            assert process.wait(timeout=180) == 0, (tmp_path / f"{host}.log").read_text()[-3000:]
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    log = dials(dial_log)
    twice = [a for a, n in Counter(d["attempt_id"] for d in log).items() if n > 1]
    with db.session() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        states = Counter(session.scalars(select(Contact.state)))
        attempts = {a.id: a for a in session.scalars(select(Attempt))}
        completed = Counter(
            e.payload["call_id"]
            for e in session.scalars(select(WebhookEvent).where(WebhookEvent.type == "call.completed"))
        )
    db.dispose()
    live = [c for c in calls.values() if c.state != "ended"]
    events_off = [call_id for call_id in calls if completed[call_id] != 1]
    record(
        ChaosRow(
            fault="worker host cut off (netns)",
            calls_up=len(left_up),
            contacts=CONTACTS,
            lost=CONTACTS - states["done"],
            dialled_twice=len(twice),
            events_lost=len(events_off),
            calls_left_live=len(live),
            seconds_to_recover=round(recovered, 1),
        )
    )
    assert left_up, "the cut should land while the worker has calls up"
    assert not twice, f"attempts dialled twice: {twice}"
    assert states == Counter({"done": CONTACTS}), f"contacts not done: {states}"
    assert not live, [(c.call_id, c.node, c.state) for c in live]
    assert not events_off, {call_id: completed[call_id] for call_id in events_off}
    for call_id in left_up:  # ended by the survivor, and the contact retried by the `failed` rule
        call = calls[call_id]
        assert call.ended_by == "worker_lost", (call_id, call.ended_by, call.outcome)
        interrupted = attempts[call.attempt_id]
        assert interrupted.state == "interrupted"
        retried = [
            a for a in attempts.values() if a.contact_id == interrupted.contact_id and a.id != interrupted.id
        ]
        assert [a.state for a in retried] == ["done"], (call_id, [(a.node, a.state) for a in retried])


# ---- inbound calls through the dispatcher ---------------------------------------------------------------------
SIP_PORT = 5060


def _spawn_in(setup: Lab, host: str, name: str, command: list[str], folder: Path) -> rig.Peer:
    """A program inside the host's namespace, in its own session (stopped with its children), logging to a file."""
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*setup.exec(host), *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            start_new_session=True,
        )
    return rig.Peer(name, process, log)


def _answering_phone(setup: Lab, host: str, folder: Path) -> rig.Peer:
    """A phone standing in for the worker host's SIP side: answers every call, and the dispatcher's probes."""
    address = setup.hosts[host]
    command = ["sipp", "-sn", "uas", "-i", address, "-p", str(SIP_PORT), "-aa", "-nostdin"]
    command += ["-trace_msg", "-message_file", str(folder / f"{host}-messages.log")]
    return _spawn_in(setup, host, f"phone-{host}", command, folder)


def _invites_answered(folder: Path, host: str) -> int:
    """Calls the host's phone was offered (distinct Call-IDs of INVITEs it received); each was answered."""
    messages = folder / f"{host}-messages.log"
    text = messages.read_text(errors="replace") if messages.exists() else ""
    return len(set(re.findall(r"\nINVITE [^\n]*\n(?:[^\n]+\n)*?Call-ID: *(\S+)", text)))


def _place(setup: Lab, folder: Path, calls: int, round_no: int) -> None:
    """`calls` calls from the caller host through the dispatcher; each is answered and ended by the caller."""
    scenario = folder / "uac.xml"
    scenario.write_text((rig.RIG / "uac_turns.xml.in").read_text().replace("@WAIT_MS@", "1000"))
    pcap = folder / "caller.pcap"
    if not pcap.exists():
        rig.pcap_from_pcm(rig.speechlike(0.3), pcap, "PCMU")
    command = ["sipp", f"{setup.hosts['pbx']}:{SIP_PORT}", "-sf", str(scenario), "-s", "robot"]
    command += ["-i", setup.hosts["caller"], "-p", str(SIP_PORT + 10 + round_no), "-m", str(calls), "-r", "2"]
    command += ["-l", "1", "-key", "codec", "0", "-key", "codecname", "PCMU", "-key", "pcap", str(pcap)]
    command += ["-timeout", "30", "-default_behaviors", "all,-abortunexp", "-nostdin"]
    caller = _spawn_in(setup, "caller", f"caller-{round_no}", command, folder)
    try:
        assert caller.wait(40) == 0, caller.output()[-2000:]
    finally:
        caller.stop()


def test_inbound_calls_go_to_the_worker_host_still_connected_and_the_cut_one_rejoins(tmp_path: Path) -> None:
    """Kamailio's dispatcher on the PBX host spreads inbound calls over two worker hosts' phones; one worker
    host's link cut, every call goes to the other; the link restored, both take calls again."""
    if not rig.have_peers():
        pytest.skip("kamailio and sipp are needed (scripts/setup.sh)")
    with lab(f"vi{os.getpid() % 10000}") as setup, ExitStack() as running:
        for host in ("pbx", "w1", "w2", "caller"):
            setup.add(host)
        for host in ("w1", "w2"):
            running.callback(_answering_phone(setup, host, tmp_path).stop)
        listing = tmp_path / "dispatcher.list"
        listing.write_text("".join(f"1 sip:{setup.hosts[h]}:{SIP_PORT}\n" for h in ("w1", "w2")))
        cfg = (rig.RIG / "kamailio-dispatcher.cfg.in").read_text().replace("127.0.0.1", setup.hosts["pbx"])
        for key, value in {
            "@PORT@": SIP_PORT,
            "@LIST@": listing,
            "@PING_INTERVAL@": 1,
            "@FR_TIMER@": 1000,
        }.items():
            cfg = cfg.replace(key, str(value))
        (tmp_path / "dispatcher.cfg").write_text(cfg)
        kamailio = ["kamailio", "-f", str(tmp_path / "dispatcher.cfg"), "-P", str(tmp_path / "kam.pid")]
        running.callback(_spawn_in(setup, "pbx", "dispatcher", [*kamailio, "-E", "-DD"], tmp_path).stop)
        walltime.sleep(3)  # both phones answer the first probes

        _place(setup, tmp_path, 4, 1)
        both = {h: _invites_answered(tmp_path, h) for h in ("w1", "w2")}
        assert both == {"w1": 2, "w2": 2}, both

        setup.cut("w1")
        walltime.sleep(4)  # an unanswered probe marks w1 inactive
        _place(setup, tmp_path, 4, 2)
        cut = {h: _invites_answered(tmp_path, h) - both[h] for h in ("w1", "w2")}
        assert cut == {"w1": 0, "w2": 4}, cut

        setup.restore("w1")
        walltime.sleep(4)  # an answered probe makes it active again
        _place(setup, tmp_path, 4, 3)
        rejoined = {h: _invites_answered(tmp_path, h) - both[h] - cut[h] for h in ("w1", "w2")}
        assert rejoined == {"w1": 2, "w2": 2}, rejoined
