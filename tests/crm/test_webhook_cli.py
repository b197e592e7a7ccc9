"""`voicebot webhooks`: managing subscriptions from a shell, and a worker process killed mid-delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from typer.testing import CliRunner

from bot.cli import app
from bot.crm.outbox import DeliveryState, EventType, emit
from bot.storage.db import Database
from bot.storage.models import WebhookDelivery
from tests.crm.conftest import Receiver

RUN = "from bot.cli import app; app()"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICEBOT_PATHS__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VOICEBOT_CONFIG", str(tmp_path / "none.yml"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "var"


def voicebot(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_add_list_dead_replay_remove(data_dir: Path) -> None:
    out = voicebot("webhooks", "add", "http://127.0.0.1:9/hook", "--event", "call.completed")
    assert out.startswith("subscription 1:") and "secret: whsec_" in out
    assert "http://127.0.0.1:9/hook\tcall.completed" in voicebot("webhooks", "list")
    bad = CliRunner().invoke(app, ["webhooks", "add", "http://x/hook", "--event", "nope"])
    assert bad.exit_code == 2 and "unknown event types" in bad.output

    db = Database(f"sqlite:///{data_dir / 'voicebot.db'}")
    with db.session() as session:
        emit(session, EventType.CALL_COMPLETED, {"attempt_id": 1})
        delivery = session.scalars(select(WebhookDelivery)).one()
        delivery.state, delivery.last_error = DeliveryState.DEAD, "HTTP 404"
    assert "\tcall.completed\tsubscription 1\t0 attempts\tHTTP 404" in voicebot("webhooks", "dead")
    assert "queued again: 1" in voicebot("webhooks", "replay", "1")
    assert voicebot("webhooks", "dead") == ""
    assert CliRunner().invoke(app, ["webhooks", "replay", "1"]).exit_code == 1  # pending, not dead
    assert "removed" in voicebot("webhooks", "remove", "1")
    assert voicebot("webhooks", "list") == ""
    db.dispose()


def test_a_worker_killed_mid_delivery_loses_nothing(data_dir: Path, receiver: Receiver) -> None:
    secret = voicebot("webhooks", "add", receiver.url, "--event", "*").split("secret: ")[1].strip()
    db = Database(f"sqlite:///{data_dir / 'voicebot.db'}")
    ids = []
    for n in range(20):
        with db.session() as session:
            ids.append(emit(session, EventType.CALL_ANSWERED, {"attempt_id": n}).event_id)
    receiver.script = ["ok"] * 3 + ["timeout"]  # the fourth request hangs: the worker is killed meanwhile
    receiver.stall = 3.0
    env = os.environ | {"VOICEBOT_PATHS__DATA_DIR": str(data_dir), "VOICEBOT_CONFIG": "none.yml"}
    args = [
        sys.executable,
        "-c",
        RUN,
        "webhooks",
        "worker",
        "--timeout",
        "0.5",
        "--poll",
        "0.05",
        "--lease",
        "1",
    ]

    first = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while len(receiver.requests) < 4:
        assert time.monotonic() < deadline and first.poll() is None, "the worker sent nothing"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    with db.session() as session:
        pending = session.scalars(select(WebhookDelivery).where(WebhookDelivery.state == "pending")).all()
    assert pending, "the kill happened before every delivery was recorded"

    second = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while receiver.delivered_ids() != set(ids):
            assert time.monotonic() < deadline, f"missing: {set(ids) - receiver.delivered_ids()}"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    with db.session() as session:
        assert {d.state for d in session.scalars(select(WebhookDelivery))} == {DeliveryState.DELIVERED}
    bodies: dict[str, set[bytes]] = {}
    for request in receiver.requests:
        assert Webhook(secret).verify(request.body, request.headers)["id"] == request.headers["webhook-id"]
        bodies.setdefault(request.headers["webhook-id"], set()).add(request.body)
    assert len(receiver.requests) > len(ids), "the interrupted deliveries were sent again"
    assert all(len(b) == 1 for b in bodies.values())
    db.dispose()
