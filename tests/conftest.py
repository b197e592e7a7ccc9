"""Shared test fixtures: the real Rasa server and a PostgreSQL cluster, each started once per test session, and
a migrated database on SQLite or PostgreSQL (`db`)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.storage.db import Database
from tests.postgres import PostgresCluster

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "vosk-model-tiny-ru"  # the 12-word Russian Vosk model of the tests
VOICEBOT = str(Path(sys.executable).parent / "voicebot")
# Own ports, so a developer's running platform (5005/5055) does not collide with the tests. Developers running
# two test sessions at once give each its own VOICEBOT_TEST_SLOT (1, 2, …): its own ports and data folder.
TEST_SLOT = int(os.environ.get("VOICEBOT_TEST_SLOT") or 0)
TEST_DATA_DIR = ROOT / "var" / ("test" if TEST_SLOT == 0 else f"test-{TEST_SLOT}")
TEST_RASA_PORT = 5105 + 100 * TEST_SLOT
TEST_ENV = {
    "VOICEBOT_PATHS__DATA_DIR": str(TEST_DATA_DIR),
    "VOICEBOT_RASA__PORT": str(TEST_RASA_PORT),
    "VOICEBOT_RASA__ACTION_PORT": str(TEST_RASA_PORT + 50),
}


def service_env() -> dict[str, str]:
    return {**os.environ, **TEST_ENV}


@pytest.fixture(scope="session")
def dialog_service() -> dict[str, str]:
    """A real dialog service (`voicebot rasa run`: Rasa 3.6 + the action server) for the whole session.

    Trains the model on first use (about 2 minutes; reused later while dialogs and training data are
    unchanged). Yields the environment that points `voicebot` commands at it.
    """
    env = service_env()
    TEST_DATA_DIR.mkdir(parents=True, exist_ok=True)
    log = (TEST_DATA_DIR / "dialog-service.log").open("w")
    process = subprocess.Popen(
        [VOICEBOT, "rasa", "run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    token = TEST_DATA_DIR / "rasa" / "api-token"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the dialog service exited with {process.returncode}: see {log.name}")
        if token.exists():
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{TEST_RASA_PORT}/status", params={"token": token.read_text()}
                )
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
        time.sleep(1)
    else:
        process.kill()
        pytest.fail(f"the dialog service did not become ready: see {log.name}")
    yield env
    process.terminate()
    process.wait(30)
    log.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Base URL of a PostgreSQL cluster started for this test session on loopback (Debian's binaries)."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def own_postgres() -> Iterator[tuple[PostgresCluster, Database]]:
    """A PostgreSQL cluster of the test's own (it may stop and start it) and a migrated database in it."""
    cluster = PostgresCluster()
    cluster.start()
    db = Database(new_postgres_database(cluster.url))
    db.migrate()
    try:
        yield cluster, db
    finally:
        db.dispose()
        cluster.remove()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database file (for tests that need one database, not both)."""
    database = Database(f"sqlite:///{tmp_path / 'voicebot.db'}")
    database.migrate()
    yield database
    database.dispose()


_databases = itertools.count()


def new_postgres_database(base: str, prefix: str = "test") -> str:
    """The URL of a new, empty database in the PostgreSQL cluster at `base` (the `postgres_url` fixture)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new database with no tables: a SQLite file, or a database in the session's PostgreSQL
    cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'voicebot.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(empty_database_url: str) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh database in the session's PostgreSQL cluster."""
    database = Database(empty_database_url)
    database.migrate()
    yield database
    database.dispose()
