"""The demo scenario on one machine: a PBX (Kamailio), customers who answer with recorded espeak-ng Russian
(baresip), a sales agent (baresip), the platform (`voicebot serve` on SQLite) and two campaigns run through the
REST API: payment reminders, and an offer whose qualified leads are transferred to the agent.

`voicebot demo` runs it for a newcomer and leaves the dashboard up; the end-to-end test runs the same scenario
and checks every result. Speech recognition uses the configured Russian model, or the 12-word test model
(да, нет, digits) when none is installed — enough for these customers, not for real callers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bot.calls.simulate import caller_speech
from bot.config import ROOT
from telephony import rig

RATE = 8000
TEST_MODEL = ROOT / "tests" / "fixtures" / "vosk-model-tiny-ru"
VOICEBOT = str(Path(sys.executable).parent / "voicebot")


def _speech(text: str) -> np.ndarray:
    return np.frombuffer(caller_speech(text, "ru"), dtype=np.int16)


def _quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def _beep(seconds: float = 0.6, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


@dataclass(frozen=True)
class Customer:
    """A number in a demo campaign and what its owner does; `audio` is None for one who never answers."""

    phone: str
    does: str
    audio: Callable[[], np.ndarray] | None
    result: str  # the attempt's expected telephony result
    outcome: str  # the expected dialog outcome ("" when not answered)
    script: str = "reminder"  # the campaign it is in


CUSTOMERS = (
    Customer(
        "+79990000001",
        "says yes",
        lambda: np.concatenate([_quiet(0.4), _speech("алло"), _quiet(16), _speech("да"), _quiet(40)]),
        "answered",
        "confirmed",
    ),
    Customer(
        "+79990000002",
        "says no, then a day",
        lambda: np.concatenate(
            [_quiet(0.4), _speech("алло"), _quiet(16), _speech("нет"), _quiet(7), _speech("пять"), _quiet(40)]
        ),
        "answered",
        "rescheduled",
    ),
    Customer(
        "+79990000003",
        "stays silent",
        lambda: np.concatenate([_quiet(0.4), _speech("алло"), _quiet(90)]),
        "answered",
        "no_answer_from_robot",
    ),
    Customer(
        "+79990000004",
        "voicemail",
        lambda: np.concatenate(
            [
                _quiet(0.3),
                _speech(
                    "Здравствуйте. Вы позвонили Ивану Петрову. Сейчас я не могу ответить. Оставьте сообщение."
                ),
                _quiet(0.3),
                _beep(),
                _quiet(40),
            ]
        ),
        "answered",
        "machine",
    ),
    Customer("+79990000005", "does not answer", None, "no_answer", ""),
    Customer(
        "+79990000006",
        "stuck; no agent free",  # "да" is no date: three no-matches hand off to support, which is not there
        lambda: np.concatenate(
            [_quiet(0.4), _speech("алло"), _quiet(16), _speech("нет"), _quiet(7)]
            + [_speech("да"), _quiet(7)] * 3
            + [_quiet(40)]
        ),
        "answered",
        "callback",
    ),
    Customer(
        "+79990000007",
        "interested, 2 people",  # a qualified lead, transferred to the sales agent
        lambda: np.concatenate(
            [_quiet(0.4), _speech("алло"), _quiet(16), _speech("да"), _quiet(7), _speech("два"), _quiet(40)]
        ),
        "answered",
        "transferred",
        script="offer",
    ),
)


@dataclass(frozen=True)
class Caller:
    """Someone who calls the robot's number: the inbound first line answers with the `inbound` script."""

    phone: str
    does: str
    audio: Callable[[], np.ndarray]
    outcome: str


CALLER = Caller(
    "+79990000008",
    "calls in, is not understood twice",  # "да" is no choice of the menu: handed off to the operators
    lambda: np.concatenate([_quiet(13), _speech("да"), _quiet(8), _speech("да"), _quiet(40)]),
    "transferred",
)
# agents answer at once and record what they hear: `sales` takes offer's leads, `operators` the inbound line's
# hand-offs; `support` (the reminder's hand-offs) has nobody, so its transfers fail
AGENTS = ("sales", "operators")

ALWAYS = {"start": "00:00", "end": "23:59"}
RULES = {"working_hours": ALWAYS, "rest_day_hours": ALWAYS, "holidays_country": "", "max_concurrent": 5}
CAMPAIGNS: dict[str, dict[str, Any]] = {
    "reminder": {
        "name": "Демо: напоминание о платеже",
        "variables": {"company": "Ромашка", "amount": "1500", "due_date": "2026-12-25"},
    },
    "offer": {
        "name": "Демо: предложение тарифа",
        "variables": {"company": "Ромашка", "product": "семейный тариф"},
    },
}

# the demo's own configuration file (ports and paths come as VOICEBOT_* variables): the inbound line's script
CONFIG = """\
calls:
  inbound_script: inbound
  inbound_variables: {company: Ромашка}
"""


@dataclass(frozen=True)
class Ports:
    pbx: int = 7060
    robot_sip: int = 7070
    robot_rtp: int = 35000  # 400 ports from here
    customers: int = 7100  # two per customer from here, then the agent
    api: int = 8000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoError(RuntimeError):
    """The demo could not start; the message says why (and where the log is)."""


class Demo:
    """Starts the PBX, the customers and the platform under `workdir`; `stop()` ends them all."""

    def __init__(self, workdir: Path, ports: Ports = Ports(), env: dict[str, str] | None = None) -> None:
        self.workdir, self.ports = workdir, ports
        self.data = workdir / "data"
        self.env = {**os.environ, **(env or {}), **self._platform_env()}
        self.api: httpx.Client | None = None
        self.api_key = ""
        self._agents: dict[str, tuple[Path, rig.Peer]] = {}
        self._serve: subprocess.Popen | None = None
        self._pbx: rig.Peer | None = None
        self._log: Any = None

    def _platform_env(self) -> dict[str, str]:
        p = self.ports
        env = {
            "VOICEBOT_PATHS__DATA_DIR": str(self.data),
            "VOICEBOT_API__PORT": str(p.api),
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(self.data / "recordings"),
            "VOICEBOT_TELEPHONY__REGISTRAR": f"127.0.0.1:{p.pbx}",
            "VOICEBOT_TELEPHONY__TRUNK_MODE": "false",
            "VOICEBOT_TELEPHONY__USER": "robot",
            "VOICEBOT_TELEPHONY__PASSWORD": "secret",
            "VOICEBOT_TELEPHONY__SIP_PORT": str(p.robot_sip),
            "VOICEBOT_TELEPHONY__RTP_PORT_MIN": str(p.robot_rtp),
            "VOICEBOT_TELEPHONY__RTP_PORT_MAX": str(p.robot_rtp + 398),
            "VOICEBOT_TELEPHONY__RING_TIMEOUT": "8",
            "VOICEBOT_DIALER__TICK_SECONDS": "0.5",
            "VOICEBOT_CONFIG": str(self.workdir / "voicebot.yml"),  # written by start()
        }
        if not os.environ.get("VOICEBOT_VOICE__ASR_RU"):
            env["VOICEBOT_VOICE__ASR_RU"] = str(TEST_MODEL)
        return env

    def start(self, models_from: list[Path] = (), timeout: float = 600) -> None:
        """PBX, customers (registered), then `voicebot serve`; returns once its API answers. A trained dialog model
        found in `models_from` is reused (otherwise serve trains one: ~2 min)."""
        if not rig.have_peers():
            raise DemoError("kamailio, baresip and sipp are needed: run `make setup` (scripts/setup.sh)")
        shutil.rmtree(self.workdir, ignore_errors=True)
        (self.data / "rasa" / "models").mkdir(parents=True)
        (self.workdir / "voicebot.yml").write_text(CONFIG, encoding="utf-8")
        for models in models_from:
            for model in models.glob("*.tar.gz"):
                shutil.copy2(model, self.data / "rasa" / "models")
        pbx_dir = self.workdir / "pbx"
        pbx_dir.mkdir()
        self._pbx = rig.start_kamailio(pbx_dir, self.ports.pbx, self.ports.pbx + 90)
        for n, customer in enumerate(CUSTOMERS):
            self._start_customer(n, customer, pbx_dir)
        for n, agent in enumerate(AGENTS, start=len(CUSTOMERS)):
            self._start_agent(agent, n, pbx_dir)
        self.api_key = self._voicebot("apikeys", "create", "demo", "--scope", "admin").strip()
        self._log = (self.workdir / "serve.log").open("w")
        self._serve = subprocess.Popen(
            [VOICEBOT, "serve"], env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{self.ports.api}/api/v1",
            headers={"X-API-Key": self.api_key},
            timeout=10,
        )
        wait_for(self._serving, timeout, f"the platform did not start: see {self.workdir / 'serve.log'}")

    def _start_customer(self, n: int, customer: Customer, pbx_dir: Path) -> None:
        audio = customer.audio() if customer.audio else _quiet(60)
        wav = rig.write_wav(pbx_dir / f"customer-{n}.wav", audio)
        home = rig.make_baresip(
            pbx_dir,
            customer.phone,
            self.ports.customers + 2 * n,
            wav,
            "PCMU",
            self.ports.pbx,
            auto_answer=customer.audio is not None,
        )
        peer = rig.start_baresip(home, timeout=24 * 3600)
        wait_for(
            lambda: "200 OK" in peer.output(), 10, f"customer {customer.phone} did not register: {peer.log}"
        )

    def _start_agent(self, name: str, n: int, pbx_dir: Path) -> None:
        """An agent: answers at once, says nothing, records what it hears (`agent_heard()`)."""
        wav = rig.write_wav(pbx_dir / "agent.wav", _quiet(60))
        home = rig.make_baresip(
            pbx_dir, name, self.ports.customers + 2 * n, wav, "PCMU", self.ports.pbx, True
        )
        peer = rig.start_baresip(home, timeout=24 * 3600)
        wait_for(lambda: "200 OK" in peer.output(), 10, f"agent {name} did not register: {peer.log}")
        self._agents[name] = (home, peer)

    def agent_heard(self, name: str) -> np.ndarray:
        """What an agent heard (8 kHz PCM). Ends the agent's calls: baresip completes a recording then."""
        home, peer = self._agents[name]
        peer.stop()
        return rig.read_wav(rig.recording(home, "dec"))

    def call_in(self) -> None:
        """The inbound caller dials the robot's number through the PBX."""
        pbx_dir = self.workdir / "pbx"
        wav = rig.write_wav(pbx_dir / "caller.wav", CALLER.audio())
        port = self.ports.customers + 2 * (len(CUSTOMERS) + len(AGENTS))
        home = rig.make_baresip(pbx_dir, CALLER.phone, port, wav, "PCMU", self.ports.pbx)
        rig.start_baresip(home, timeout=24 * 3600, commands=["/dial sip:robot@127.0.0.1"])

    def wait_for_inbound_call(self, timeout: float = 120) -> dict[str, Any]:
        """The inbound call from the call log, once it has ended."""
        ended: list[dict[str, Any]] = []

        def done() -> bool:
            calls = self._ok(self.api.get("/calls", params={"direction": "inbound"}), 200)
            ended[:] = [call for call in calls if call["state"] == "ended"]
            return bool(ended)

        wait_for(done, timeout, "the inbound call did not end in time", interval=1)
        return ended[0]

    def _voicebot(self, *args: str) -> str:
        done = subprocess.run([VOICEBOT, *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise DemoError(f"voicebot {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def _serving(self) -> bool:
        if self._serve.poll() is not None:
            raise DemoError(
                f"the platform exited ({self._serve.returncode}): see {self.workdir / 'serve.log'}"
            )
        try:
            return self.api.get("/campaigns").status_code == 200
        except httpx.TransportError:
            return False

    def run_campaigns(self) -> dict[str, int]:
        """Create a campaign per script (reminder, offer), upload its customers, start it; returns their ids."""
        ids = {}
        for script, spec in CAMPAIGNS.items():
            body = {**spec, "script": script, "language": "ru", "rules": RULES}
            created = self._ok(self.api.post("/campaigns", json=body), 201)
            rows = "phone;name;timezone\n" + "".join(
                f"{c.phone};Клиент {i + 1};Europe/Moscow\n"
                for i, c in enumerate(CUSTOMERS)
                if c.script == script
            )
            files = {"file": ("customers.csv", rows.encode(), "text/csv")}
            self._ok(self.api.post(f"/campaigns/{created['id']}/contacts", files=files), 200)
            self._ok(self.api.post(f"/campaigns/{created['id']}/start"), 200)
            ids[script] = created["id"]
        return ids

    def contacts(self, *campaign_ids: int) -> dict[str, dict[str, Any]]:
        """The contacts of these campaigns by phone number."""
        return {
            c["phone"]: c
            for campaign_id in campaign_ids
            for c in self._ok(self.api.get(f"/campaigns/{campaign_id}/contacts"), 200)
        }

    def wait_until_every_customer_was_called(self, *campaign_ids: int, timeout: float = 300) -> None:
        """Until each contact had an attempt and no call is up."""

        def done() -> bool:
            contacts = self.contacts(*campaign_ids).values()
            if not all(c["attempts"] >= 1 for c in contacts):
                return False
            calls = [
                call
                for campaign_id in campaign_ids
                for call in self._ok(self.api.get("/calls", params={"campaign_id": campaign_id}), 200)
            ]
            every_attempt_has_a_call = len(calls) >= sum(c["attempts"] for c in contacts)
            return every_attempt_has_a_call and all(call["state"] == "ended" for call in calls)

        wait_for(done, timeout, "the campaigns' calls did not all end in time", interval=2)

    @staticmethod
    def _ok(response: httpx.Response, status: int) -> Any:
        if response.status_code != status:
            raise DemoError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return response.json()

    def stop(self) -> None:
        if self._serve and self._serve.poll() is None:
            self._serve.terminate()
            try:
                self._serve.wait(30)
            except subprocess.TimeoutExpired:
                self._serve.kill()
        if self._log:
            self._log.close()
        if self.api:
            self.api.close()
        rig.stop_all()
        if self._pbx:
            self._pbx.stop()


def wait_for(condition: Callable[[], bool], seconds: float, message: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(message)
        time.sleep(interval)
