"""Shared test fixtures. The real Rasa server is started once per test session (see `dialog_service`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
VOICEBOT = str(Path(sys.executable).parent / "voicebot")
TEST_DATA_DIR = ROOT / "var" / "test"
# Own ports, so a developer's running platform (5005/5055) does not collide with the tests.
TEST_ENV = {
    "VOICEBOT_PATHS__DATA_DIR": str(TEST_DATA_DIR),
    "VOICEBOT_RASA__PORT": "5105",
    "VOICEBOT_RASA__ACTION_PORT": "5155",
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
                response = httpx.get("http://127.0.0.1:5105/status", params={"token": token.read_text()})
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
