"""Rasa's tracker store and a restart of Rasa mid-conversation: an SQL store (SQLite or PostgreSQL) keeps the
conversation; the in-memory store (the default) loses it, and the conversation is carried over from the dialog state
it holds (`Conversation.resume`) — either way the next turn goes on where it was.

Each case starts its own dialog service (ports 5205/5255, data under tmp, the session's trained model).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import ConfigError, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import new_state
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation
from bot.rasa.errors import RasaError
from bot.rasa.server import endpoints, rasa_sql_url
from tests.conftest import ROOT, TEST_DATA_DIR, VOICEBOT
from tests.rasa.helpers import VARIABLES
from tests.rasa.test_zz_rasa_supervision import rasa_server_pids

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

PORT, ACTION_PORT = "5205", "5255"


def test_endpoints_name_the_sql_store_as_rasa_reads_it() -> None:
    settings = load_settings(
        environ={"VOICEBOT_RASA__TRACKER_STORE": "postgresql+psycopg://u:p@db:5432/rasa"}
    )
    assert endpoints(settings)["tracker_store"] == {
        "type": "SQL",
        "url": "postgresql+psycopg2://u:p@db:5432/rasa",
    }
    assert rasa_sql_url("sqlite:///var/t.db") == f"sqlite:///{Path('var/t.db').absolute()}"
    assert "tracker_store" not in endpoints(load_settings(environ={}))


def test_a_bad_tracker_store_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"tracker_store.*'memory' or an sqlite:// or postgresql:// URL"):
        load_settings(environ={"VOICEBOT_RASA__TRACKER_STORE": "redis://localhost"})


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path, dialog_service: dict[str, str]) -> Iterator[dict]:
    """`voicebot rasa run` with one tracker store; the session's service has trained the model already."""
    store = request.param
    if store == "sqlite":
        store = f"sqlite:///{tmp_path / 'tracker.db'}"
    elif store == "postgresql":
        import psycopg

        base = request.getfixturevalue("postgres_url")
        name = f"rasa_tracker_{os.getpid()}"
        with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        store = f"{base}/{name}"
    data = tmp_path / "var"
    (data / "rasa").mkdir(parents=True)
    (data / "rasa" / "models").symlink_to(TEST_DATA_DIR / "rasa" / "models")
    env = {
        **os.environ,
        "VOICEBOT_PATHS__DATA_DIR": str(data),
        "VOICEBOT_RASA__PORT": PORT,
        "VOICEBOT_RASA__ACTION_PORT": ACTION_PORT,
        "VOICEBOT_RASA__TRACKER_STORE": store,
    }
    log = (tmp_path / "service.log").open("w")
    process = subprocess.Popen(
        [VOICEBOT, "rasa", "run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        token = data / "rasa" / "api-token"
        _wait_up(env, token, process, tmp_path / "service.log")
        yield {"env": env, "store": request.param, "token": token.read_text()}
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _wait_up(env: dict[str, str], token: Path, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-2000:]
        if token.exists():
            try:
                if httpx.get(
                    f"http://127.0.0.1:{PORT}/status", params={"token": token.read_text()}
                ).is_success:
                    return
            except httpx.TransportError:
                pass
        time.sleep(1)
    pytest.fail(f"the dialog service did not come up: {log}")


async def _wait_restarted(client: RasaClient, old: list[int]) -> None:
    for _ in range(300):
        if rasa_server_pids(PORT) not in ([], old):
            try:
                await client.status()
                return
            except RasaError:
                pass
        await asyncio.sleep(1)
    pytest.fail("Rasa was not restarted within 300 s")


async def test_a_conversation_survives_a_rasa_restart(service: dict) -> None:
    settings = load_settings(environ=service["env"])
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("reminder")
    client = RasaClient(settings.rasa.url, service["token"], settings.rasa.request_timeout)
    try:
        conversation = Conversation(client, new_state(script, "ru", VARIABLES["reminder"]))
        await conversation.start()
        await conversation.say("нет, не смогу")
        assert conversation.state.step == "ask_date"

        pids = rasa_server_pids(PORT)
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        await _wait_restarted(client, pids)

        # an SQL store kept the conversation; the in-memory one lost it, and it is carried over from the state
        # the conversation holds (Conversation.resume)
        await conversation.say("двадцатого числа")
        assert conversation.state.outcome == "rescheduled"
        assert "promise_date" in conversation.state.values
    finally:
        await client.close()
