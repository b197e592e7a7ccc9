"""End to end over SIP: `voicebot serve` (SQLite, its own Rasa, the tiny Vosk model), Kamailio, baresip customers
answering with recorded espeak-ng Russian, and a CRM receiver on loopback. A reminder campaign runs to its end;
every contact's result is checked in the API, the database and the webhooks the CRM received."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from standardwebhooks import Webhook

from bot.calls.simulate import caller_speech
from telephony import rig
from tests.conftest import ROOT, TEST_DATA_DIR, VOICEBOT
from tests.crm.conftest import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

TINY = ROOT / "tests" / "fixtures" / "vosk-model-tiny-ru"
KAM_PORT, TRUNK_PORT = 5700, 5790  # away from the telephony tests' ports
ROBOT_SIP, ROBOT_RTP = 5710, 33000
RATE = 8000
ARTIFACTS = ROOT / "var" / "test-artifacts" / "e2e"


def speech(text: str) -> np.ndarray:
    return np.frombuffer(caller_speech(text, "ru"), dtype=np.int16)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def beep(seconds: float = 0.6, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


# number -> (what the customer does, audio from the moment they answer; None: never answers)
CUSTOMERS: dict[str, tuple[str, list | None]] = {
    "+79990000001": ("says yes", [quiet(0.4), speech("алло"), quiet(16), speech("да"), quiet(40)]),
    "+79990000002": (
        "says no, then a day",
        [quiet(0.4), speech("алло"), quiet(16), speech("нет"), quiet(7), speech("пять"), quiet(40)],
    ),
    "+79990000003": ("stays silent", [quiet(0.4), speech("алло"), quiet(90)]),
    "+79990000004": (
        "voicemail",
        [
            quiet(0.3),
            speech(
                "Здравствуйте. Вы позвонили Ивану Петрову. Сейчас я не могу ответить. Оставьте сообщение."
            ),
            quiet(0.3),
            beep(),
            quiet(40),
        ],
    ),
    "+79990000005": ("does not answer", None),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def platform(dialog_service, receiver: Receiver):
    """Kamailio, the customers' baresips, and `voicebot serve` on a fresh SQLite database. Everything it writes
    (serve.log, the database, recordings) stays in var/test-artifacts/e2e for a look after the run."""
    tmp_path = ARTIFACTS
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir(parents=True)
    rig_dir = tmp_path / "rig"
    rig_dir.mkdir()
    kamailio = rig.start_kamailio(rig_dir, KAM_PORT, TRUNK_PORT)
    data = tmp_path / "data"
    (data / "rasa").mkdir(parents=True)
    shutil.copytree(TEST_DATA_DIR / "rasa" / "models", data / "rasa" / "models")  # trained by dialog_service
    api_port = free_port()
    env = {
        **dialog_service,
        "VOICEBOT_PATHS__DATA_DIR": str(data),
        "VOICEBOT_RASA__PORT": str(free_port()),
        "VOICEBOT_RASA__ACTION_PORT": str(free_port()),
        "VOICEBOT_API__PORT": str(api_port),
        "VOICEBOT_VOICE__ASR_RU": str(TINY),
        "VOICEBOT_VOICE__RECORDINGS_DIR": str(data / "recordings"),
        "VOICEBOT_TELEPHONY__REGISTRAR": f"127.0.0.1:{KAM_PORT}",
        "VOICEBOT_TELEPHONY__USER": "robot",
        "VOICEBOT_TELEPHONY__PASSWORD": "secret",
        "VOICEBOT_TELEPHONY__SIP_PORT": str(ROBOT_SIP),
        "VOICEBOT_TELEPHONY__RTP_PORT_MIN": str(ROBOT_RTP),
        "VOICEBOT_TELEPHONY__RTP_PORT_MAX": str(ROBOT_RTP + 398),
        "VOICEBOT_TELEPHONY__RING_TIMEOUT": "8",
        "VOICEBOT_DIALER__TICK_SECONDS": "0.5",
    }
    key = subprocess.run(
        [VOICEBOT, "apikeys", "create", "e2e", "--scope", "admin"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log = (tmp_path / "serve.log").open("w")
    serve = None
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}/api/v1", headers={"X-API-Key": key}, timeout=10)
    try:
        for n, (number, (_, audio)) in enumerate(CUSTOMERS.items()):
            pcm = np.concatenate(audio) if audio else quiet(60)
            wav = rig.write_wav(rig_dir / f"customer-{n}.wav", pcm)
            home = rig.make_baresip(
                rig_dir, number, 5720 + 2 * n, wav, "PCMU", KAM_PORT, auto_answer=audio is not None
            )
            customer = rig.start_baresip(home, timeout=300)
            _wait_for(lambda c=customer: "200 OK" in c.output(), 10, f"{number} did not register")
        serve = subprocess.Popen([VOICEBOT, "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            assert serve.poll() is None, f"serve exited: {(tmp_path / 'serve.log').read_text()[-3000:]}"
            try:
                return api.get("/campaigns").status_code == 200
            except httpx.TransportError:
                return False

        _wait_for(up, 240, "serve did not come up")
        yield api, data
    finally:
        if serve:
            serve.terminate()
            serve.wait(30)
        log.close()
        api.close()
        rig.stop_all()
        kamailio.stop()


def _wait_for(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


EXPECTED = {  # number -> (attempt result, outcome)
    "+79990000001": ("answered", "confirmed"),
    "+79990000002": ("answered", "rescheduled"),
    "+79990000003": ("answered", "no_answer_from_robot"),
    "+79990000004": ("answered", "machine"),
    "+79990000005": ("no_answer", ""),
}


def test_a_reminder_campaign_end_to_end(platform, receiver: Receiver) -> None:
    api, data = platform
    subscription = api.post("/webhooks/subscriptions", json={"url": receiver.url, "event_types": ["*"]})
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secrets"][0]
    always = {"start": "00:00", "end": "23:59"}
    campaign = api.post(
        "/campaigns",
        json={
            "name": "E2E напоминание",
            "script": "reminder",
            "language": "ru",
            "variables": {"company": "Ромашка", "amount": "1500", "due_date": "2026-12-25"},
            "rules": {
                "working_hours": always,
                "rest_day_hours": always,
                "holidays_country": "",
                "max_concurrent": 5,
                "pacing_cps": 5,
            },
        },
    )
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    rows = "phone;name;timezone\n" + "".join(
        f"{n};Клиент {i};Europe/Moscow\n" for i, n in enumerate(CUSTOMERS)
    )
    upload = api.post(f"/campaigns/{cid}/contacts", files={"file": ("c.csv", rows.encode(), "text/csv")})
    assert upload.status_code == 200, upload.text
    assert api.post(f"/campaigns/{cid}/start").status_code == 200

    deadline = time.monotonic() + 240
    while True:
        contacts = {c["phone"]: c for c in api.get(f"/campaigns/{cid}/contacts").json()}
        tried = all(c["attempts"] >= 1 and c["state"] != "in_progress" for c in contacts.values())
        if tried and not _calls_in_flight(data):
            break
        assert time.monotonic() < deadline, f"campaign did not finish: {contacts}"
        time.sleep(2)

    attempts, calls = _stored(data)
    for number, (result, outcome) in EXPECTED.items():
        what = CUSTOMERS[number][0]
        attempt = attempts[number]
        assert (attempt["result"], attempt["outcome"]) == (result, outcome), f"{number} ({what}): {attempt}"
        if result == "answered":
            assert attempt["id"] in calls, f"{number} ({what}): no call row; attempts: {attempts}"
            call = calls[attempt["id"]]
            assert call["outcome"] == outcome and call["state"] == "ended", f"{what}: {call}"
            assert Path(call["recording_path"]).is_file(), f"{what}: no recording"
            assert call["transcript"], f"{what}: no transcript"
    assert attempts["+79990000004"]["amd"] == "machine"
    assert "да" in [
        line["text"].split()[0]
        for line in calls[attempts["+79990000001"]["id"]]["transcript"]
        if line["speaker"] == "caller"
    ]
    assert calls[attempts["+79990000002"]["id"]]["slots"].get("promise_date")
    unanswered = contacts["+79990000005"]
    assert unanswered["state"] == "pending" and unanswered["attempts"] == 1, (
        unanswered
    )  # a retry is scheduled

    deadline = time.monotonic() + 30
    while True:  # every answered call's completion reaches the CRM, signed
        completed = {}
        for request in list(receiver.requests):
            event = Webhook(secret).verify(request.body, request.headers)
            if event["type"] == "call.completed":
                completed[event["data"]["called"]] = event["data"]
        if len(completed) == len(EXPECTED):
            break
        assert time.monotonic() < deadline, f"call.completed received for {sorted(completed)}"
        time.sleep(0.5)
    for number, (_, outcome) in EXPECTED.items():
        assert completed[number]["outcome"] == outcome


def _db(data: Path):
    db = sqlite3.connect(data / "voicebot.db")
    db.row_factory = sqlite3.Row
    return db


def _calls_in_flight(data: Path) -> bool:
    with _db(data) as db:
        return db.execute("select count(*) from attempts where state = 'in_flight'").fetchone()[0] > 0


def _stored(data: Path) -> tuple[dict[str, dict], dict[int, dict]]:
    with _db(data) as db:
        attempts = {r["phone"]: dict(r) for r in db.execute("select * from attempts order by id")}
        calls = {}
        for row in db.execute("select * from calls"):
            call = dict(row)
            for key in ("transcript", "slots", "outcome_data", "turns"):
                call[key] = json.loads(call[key])
            calls[call["attempt_id"]] = call
    return attempts, calls
