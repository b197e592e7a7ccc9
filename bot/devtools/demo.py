"""The demo scenario on one machine: a PBX (Kamailio), customers who answer with recorded espeak-ng Russian
(baresip), a sales agent (baresip), the platform (`voicebot serve` on SQLite) and two campaigns run through the
REST API: payment reminders, and an offer whose qualified leads are transferred to the agent.

`voicebot demo` runs it for a newcomer and leaves the dashboard up; the end-to-end test runs the same scenario
and checks every result. Speech recognition uses the configured Russian model, or the 12-word test model
(да, нет, digits) when none is installed — enough for these customers, not for real callers.

Its pieces serve other runs too: `Platform` is one `voicebot serve` with its files and API client, `start_phone` a
registered baresip phone (the two-worker test, tests/e2e/test_two_workers.py, runs two platforms on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from bot.calls.simulate import caller_speech
from bot.config import ROOT
from telephony import rig

RATE = 8000
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


def _yesterday() -> str:
    return (datetime.now(ZoneInfo("Europe/Moscow")).date() - timedelta(days=1)).isoformat()


ALWAYS = {"start": "00:00", "end": "23:59"}
RULES = {"working_hours": ALWAYS, "rest_day_hours": ALWAYS, "holidays_country": "", "max_concurrent": 5}
CAMPAIGNS: dict[str, dict[str, Any]] = {
    "reminder": {
        "name": "Демо: напоминание о платеже",
        # overdue since yesterday: "нет", then any day the customer names is a new date (a day by the due date
        # would be an on-time payment, `confirmed`)
        "variables": {"company": "Ромашка", "amount": "1500", "due_date": _yesterday()},
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


def platform_env(workdir: Path, pbx: int, sip: int, rtp: int, api: int, asr_model: Path) -> dict[str, str]:
    """The VOICEBOT_* settings of a platform with its files under `workdir`, registered as `robot` at the PBX on
    port `pbx`: SIP on port `sip`, RTP on 400 ports from `rtp`, the API on port `api`; Russian ASR by the Vosk
    model at `asr_model` unless VOICEBOT_VOICE__ASR_RU names one."""
    data = workdir / "data"
    env = {
        "VOICEBOT_PATHS__DATA_DIR": str(data),
        "VOICEBOT_API__PORT": str(api),
        "VOICEBOT_VOICE__RECORDINGS_DIR": str(data / "recordings"),
        "VOICEBOT_TELEPHONY__REGISTRAR": f"127.0.0.1:{pbx}",
        "VOICEBOT_TELEPHONY__TRUNK_MODE": "false",
        "VOICEBOT_TELEPHONY__USER": "robot",
        "VOICEBOT_TELEPHONY__PASSWORD": "secret",
        "VOICEBOT_TELEPHONY__SIP_PORT": str(sip),
        "VOICEBOT_TELEPHONY__RTP_PORT_MIN": str(rtp),
        "VOICEBOT_TELEPHONY__RTP_PORT_MAX": str(rtp + 398),
        "VOICEBOT_TELEPHONY__RING_TIMEOUT": "8",
        "VOICEBOT_DIALER__TICK_SECONDS": "0.5",
        "VOICEBOT_CONFIG": str(workdir / "voicebot.yml"),  # written by Platform.prepare()
    }
    if not os.environ.get("VOICEBOT_VOICE__ASR_RU"):
        env["VOICEBOT_VOICE__ASR_RU"] = str(asr_model)
    return env


def start_phone(
    pbx_dir: Path, name: str, sip_port: int, pbx_port: int, audio: np.ndarray | None
) -> tuple[Path, rig.Peer]:
    """A baresip phone registered at the PBX as `name`: it answers at once, plays `audio` into the call and records
    what it hears; with `audio` None nobody answers it. Returns its home directory and process."""
    wav = rig.write_wav(pbx_dir / f"{name}.wav", _quiet(60) if audio is None else audio)
    home = rig.make_baresip(pbx_dir, name, sip_port, wav, "PCMU", pbx_port, auto_answer=audio is not None)
    peer = rig.start_baresip(home, timeout=24 * 3600)
    wait_for(lambda: "200 OK" in peer.output(), 10, f"{name} did not register: {peer.log}")
    return home, peer


class Platform:
    """One `voicebot serve` with its files under `workdir` (data directory, configuration file, serve.log), and a
    client of its REST API (`api`). `env` holds its VOICEBOT_* settings (`platform_env()`)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.data = workdir, workdir / "data"
        self.env = {**os.environ, **env}
        self.log = workdir / "serve.log"
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{self.env['VOICEBOT_API__PORT']}/api/v1", timeout=10
        )
        self.api_key = ""
        self._serve: subprocess.Popen | None = None

    def prepare(self, config: str, models_from: Iterable[Path] = ()) -> None:
        """A new data directory with the trained dialog models found in `models_from` (serve trains one when there
        is none: ~2 min), and the configuration file."""
        shutil.rmtree(self.data, ignore_errors=True)
        (self.data / "rasa" / "models").mkdir(parents=True)
        Path(self.env["VOICEBOT_CONFIG"]).write_text(config, encoding="utf-8")
        for models in models_from:
            for model in models.glob("*.tar.gz"):
                shutil.copy2(model, self.data / "rasa" / "models")

    def create_api_key(self) -> str:
        """A new admin key in the platform's database, used by `api` from now on."""
        self.use_api_key(self.voicebot("apikeys", "create", "demo", "--scope", "admin").strip())
        return self.api_key

    def use_api_key(self, key: str) -> None:
        self.api_key = key
        self.api.headers["X-API-Key"] = key

    def voicebot(self, *args: str) -> str:
        """Run a `voicebot` command with this platform's settings; its output."""
        done = subprocess.run([VOICEBOT, *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise DemoError(f"voicebot {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def launch(self) -> None:
        """Start `voicebot serve`; `wait_ready()` then waits for it."""
        with self.log.open("w") as log:
            self._serve = subprocess.Popen(
                [VOICEBOT, "serve"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float) -> None:
        """Until serve says it is ready (its phone registered, the dialer starting) and its API answers."""
        wait_for(self._ready, timeout, f"the platform did not start: see {self.log}", interval=0.5)

    def _ready(self) -> bool:
        if self._serve.poll() is not None:
            raise DemoError(f"the platform exited ({self._serve.returncode}): see {self.log}")
        if "platform ready" not in self.log.read_text(errors="replace"):
            return False
        try:
            return self.api.get("/campaigns").status_code == 200
        except httpx.TransportError:
            return False

    def run_campaign(
        self, script: str, spec: dict[str, Any], rules: dict[str, Any], phones: list[str]
    ) -> int:
        """Create a campaign of `script` for these numbers, upload them and start it; returns its id."""
        body = {**spec, "script": script, "language": "ru", "rules": rules}
        created = self.ok(self.api.post("/campaigns", json=body), 201)
        rows = "phone;name;timezone\n" + "".join(
            f"{phone};Клиент {i + 1};Europe/Moscow\n" for i, phone in enumerate(phones)
        )
        files = {"file": ("customers.csv", rows.encode(), "text/csv")}
        self.ok(self.api.post(f"/campaigns/{created['id']}/contacts", files=files), 200)
        self.ok(self.api.post(f"/campaigns/{created['id']}/start"), 200)
        return created["id"]

    def contacts(self, *campaign_ids: int) -> dict[str, dict[str, Any]]:
        """The contacts of these campaigns by phone number."""
        return {
            c["phone"]: c
            for campaign_id in campaign_ids
            for c in self.ok(self.api.get(f"/campaigns/{campaign_id}/contacts"), 200)
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
                for call in self.ok(self.api.get("/calls", params={"campaign_id": campaign_id}), 200)
            ]
            every_attempt_has_a_call = len(calls) >= sum(c["attempts"] for c in contacts)
            return every_attempt_has_a_call and all(call["state"] == "ended" for call in calls)

        wait_for(done, timeout, "the campaigns' calls did not all end in time", interval=2)

    def ended_inbound_calls(self) -> list[dict[str, Any]]:
        """The call log's inbound calls that have ended (the calls of every platform on its database)."""
        calls = self.ok(self.api.get("/calls", params={"direction": "inbound"}), 200)
        return [call for call in calls if call["state"] == "ended"]

    @staticmethod
    def ok(response: httpx.Response, status: int) -> Any:
        if response.status_code != status:
            raise DemoError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return response.json()

    def terminate(self) -> None:
        """Ask serve to stop (it ends its calls, Rasa and the phone's registration); `stop()` waits for it."""
        if self._serve and self._serve.poll() is None:
            self._serve.terminate()

    def stop(self) -> None:
        self.terminate()
        if self._serve:
            try:
                self._serve.wait(30)
            except subprocess.TimeoutExpired:
                self._serve.kill()
                self._serve.wait()
        self.api.close()


class Demo(Platform):
    """Starts the PBX, the customers, the agents and the platform under `workdir`; `stop()` ends them all."""

    def __init__(
        self, workdir: Path, asr_model: Path, ports: Ports = Ports(), env: dict[str, str] | None = None
    ) -> None:
        p = ports
        super().__init__(
            workdir,
            {**(env or {}), **platform_env(workdir, p.pbx, p.robot_sip, p.robot_rtp, p.api, asr_model)},
        )
        self.ports = ports
        self._agents: dict[str, tuple[Path, rig.Peer]] = {}
        self._pbx: rig.Peer | None = None

    def start(self, models_from: Iterable[Path] = (), timeout: float = 600) -> None:
        """PBX, customers and agents (registered), then `voicebot serve`; returns once it is ready. A trained dialog
        model found in `models_from` is reused (otherwise serve trains one: ~2 min)."""
        if not rig.have_peers():
            raise DemoError("kamailio, baresip and sipp are needed: run `make setup` (scripts/setup.sh)")
        shutil.rmtree(self.workdir, ignore_errors=True)
        pbx_dir = self.workdir / "pbx"
        pbx_dir.mkdir(parents=True)
        self.prepare(CONFIG, models_from)
        self._pbx = rig.start_kamailio(pbx_dir, self.ports.pbx, self.ports.pbx + 90)
        for n, customer in enumerate(CUSTOMERS):
            audio = customer.audio() if customer.audio else None
            start_phone(pbx_dir, customer.phone, self.ports.customers + 2 * n, self.ports.pbx, audio)
        for n, agent in enumerate(AGENTS, start=len(CUSTOMERS)):
            # answers at once, says nothing, records what it hears (`agent_heard()`)
            port = self.ports.customers + 2 * n
            self._agents[agent] = start_phone(pbx_dir, agent, port, self.ports.pbx, _quiet(60))
        self.create_api_key()
        self.launch()
        self.wait_ready(timeout)

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
        wait_for(self.ended_inbound_calls, timeout, "the inbound call did not end in time", interval=1)
        return self.ended_inbound_calls()[0]

    def run_campaigns(self) -> dict[str, int]:
        """Create a campaign per script (reminder, offer), upload its customers, start it; returns their ids."""
        return {
            script: self.run_campaign(script, spec, RULES, [c.phone for c in CUSTOMERS if c.script == script])
            for script, spec in CAMPAIGNS.items()
        }

    def stop(self) -> None:
        super().stop()
        rig.stop_all()
        if self._pbx:
            self._pbx.stop()


def wait_for(condition: Callable[[], Any], seconds: float, message: str, interval: float = 0.2) -> None:
    """Until `condition()` is true (truthy); DemoError with `message` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(message)
        time.sleep(interval)
