"""Fixtures for campaign tests: a migrated database on SQLite and on a throwaway PostgreSQL cluster, campaigns
with contacts, and a loop that runs the dialer in simulated time."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.campaigns import service
from bot.campaigns.clock import SimulatedClock
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallPlacer
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings
from bot.storage.db import Database
from bot.storage.models import Contact

SCRIPTS = {"reminder", "debt"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Base URL of a PostgreSQL cluster started for this test session on loopback (Debian's binaries)."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        pytest.skip("PostgreSQL server binaries absent: apt-get install postgresql")
    pytest.importorskip("psycopg", reason="psycopg[binary] not installed")
    bindir = Path(initdbs[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="voicebot-pg-"))  # not under pytest's 0700 root: postgres must enter
    data = root / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*as_postgres, bindir / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_postgres, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh database in the session's PostgreSQL cluster."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'voicebot.db'}")
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        name = f"test_{os.getpid()}_{next(_databases)}"
        with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        database = Database(f"{base}/{name}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'voicebot.db'}")
    database.migrate()
    yield database
    database.dispose()


def make_campaign(
    db: Database,
    contacts: list[tuple[str, str]],
    now: datetime,
    rules: CampaignRules | None = None,
    script: str = "reminder",
    start: bool = True,
) -> int:
    """A campaign with contacts given as (E.164 phone, comma-separated zones), started unless told not to."""
    with db.session() as session:
        spec = service.CampaignSpec(name="test", script=script, rules=rules or CampaignRules())
        campaign = service.create(session, spec, SCRIPTS, now)
        for phone, zones in contacts:
            session.add(
                Contact(
                    campaign_id=campaign.id,
                    phone=phone,
                    timezones=zones,
                    variables={},
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        if start:
            service.apply(session, campaign.id, service.Action.START, now)
        return campaign.id


async def run_until(dialer: Dialer, clock: SimulatedClock, until: datetime, step: timedelta) -> None:
    """Tick the dialer, let its calls finish, advance simulated time by `step`, until `until`."""
    while clock.now() < until:
        await dialer.tick()
        await dialer.drain()
        clock.advance(step)


def dialer_for(db: Database, placer: CallPlacer, clock: SimulatedClock, **settings) -> Dialer:
    return Dialer(db, placer, clock, DialerSettings(**settings))
