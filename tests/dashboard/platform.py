"""The real platform app served by uvicorn on a free port, with a dialer running, for the browser tests.

The dialer's call placer is `StoredCallPlacer`: instead of a phone network it writes each call through the
platform's own `CallStore` (ringing, answered, ended with transcript, turns, outcome) with a short WAV recording
of a tone, and reports it back to the dialer — real stored calls, quickly, without SIP or speech models.
"""

from __future__ import annotations

import asyncio
import math
import socket
import struct
import threading
import wave
from datetime import UTC, datetime, time
from pathlib import Path

from bot.api.auth import Scope, create_key
from bot.asgi import serve_app
from bot.call_results.result import AmdCheck, CallResult
from bot.call_results.store import CallStart, CallStore
from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings, PathsSettings, Settings
from bot.contacts.importer import ColumnMapping
from bot.core.calendar import Hours
from bot.core.clock import SystemClock
from bot.core.phones import PhoneNormalizer
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.web import create_app
from voice.amd import Verdict

ROOT = Path(__file__).resolve().parents[2]


def write_tone(path: Path, seconds: float = 3.0, rate: int = 8000) -> None:
    """A 440 Hz tone as 16-bit mono WAV."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


class StoredCallPlacer:
    """Each call rings, is answered and confirms, in `seconds`; stored by CallStore with a recording."""

    def __init__(self, db: Database, recordings: Path, seconds: float) -> None:
        self.store, self.recordings, self.seconds = CallStore(db, node="browser-test"), recordings, seconds
        self.line = True  # a test sets it False: the phone line down (the dialer pauses, LineStatus)

    def line_up(self) -> bool:
        return self.line

    async def place(self, request: CallRequest) -> CallReport:
        call_id = f"test-{request.attempt_id}"
        start = CallStart(
            call_id, "outbound", caller=request.caller_id, called=request.phone, script=request.script,
            language=request.language, campaign_id=request.campaign_id, contact_id=request.contact_id,
            attempt_id=request.attempt_id,
        )  # fmt: skip
        await self.store.started(start)
        await asyncio.sleep(self.seconds / 3)
        await self.store.answered(call_id)
        await asyncio.sleep(self.seconds / 3)
        recording = self.recordings / f"{call_id}.wav"
        await asyncio.to_thread(write_tone, recording)
        transcript = [
            {"at": 0.4, "speaker": "robot", "text": "Здравствуйте! Напоминаем об оплате.", "step": "greet",
             "intent": "", "event": ""},
            {"at": 3.1, "speaker": "caller", "text": "да оплачу", "step": "greet", "intent": "affirm",
             "event": "answered"},
            {"at": 3.9, "speaker": "robot", "text": "Спасибо, до свидания!", "step": "confirmed", "intent": "",
             "event": ""},
        ]  # fmt: skip
        turns = [
            {"index": 0, "kind": "start", "heard": "", "started": 0.0, "ms": {"first_audio_out": 310.0}},
            {"index": 1, "kind": "text", "heard": "да оплачу", "started": 2.2,
             "ms": {"end_of_speech": 0.0, "asr_final": 42.0, "dialog_decision": 61.0, "first_tts_audio": 240.0,
                    "first_audio_out": 402.0}},
        ]  # fmt: skip
        end = CallResult(
            outcome=Outcome.CONFIRMED.value, slots={"confirmed": True}, transcript=transcript, turns=turns,
            ended_by="robot", amd=AmdCheck(verdict=Verdict.HUMAN), recording=str(recording),
        )  # fmt: skip
        await self.store.ended(call_id, end)
        return CallReport(
            result=TelephonyResult.ANSWERED,
            outcome=Outcome.CONFIRMED,
            ring_seconds=self.seconds / 3,
            talk_seconds=self.seconds / 3,
            amd=Verdict.HUMAN,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Platform:
    """App + dialer in a background thread's event loop; `url` is the server's base URL."""

    def __init__(self, tmp: Path, contacts: int, call_seconds: float) -> None:
        self.settings = Settings(paths=PathsSettings(data_dir=tmp / "var"))
        self.db = Database(f"sqlite:///{tmp / 'voicebot.db'}")
        self.db.migrate()
        recordings = tmp / "recordings"
        recordings.mkdir()
        self.placer = StoredCallPlacer(self.db, recordings, call_seconds)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        now = datetime.now(UTC)
        with self.db.session() as session:
            self.key = create_key(session, "operator", [Scope.WRITE], now)[1]
            rules = CampaignRules(
                working_hours=Hours(start=time(0), end=time(23, 59, 59)),
                rest_day_hours=Hours(start=time(0), end=time(23, 59, 59)),  # any day, any hour the test runs
                holidays_country="",
                pacing_cps=1.0,
                max_concurrent=2,
            )
            spec = service.CampaignSpec(name="Напоминание об оплате", script="reminder", rules=rules)
            self.campaign_id = service.create(session, spec, {"reminder"}, now).id
        rows = "".join(f"+7916555{n:04d},Клиент {n},Europe/Moscow\n" for n in range(contacts))
        service.import_contacts(
            self.db, self.campaign_id, f"phone,name,timezone\n{rows}".encode(), ColumnMapping(),
            PhoneNormalizer("RU"), now,
        )  # fmt: skip
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = create_app(self.settings, db=self.db)
        server = await serve_app(app, "127.0.0.1", self.port)
        dialer = app.state.dialer = Dialer(
            self.db, self.placer, SystemClock(), DialerSettings(tick_seconds=0.2, node="browser-test")
        )
        self._ready.set()
        await dialer.run(self._stop)
        await server.stop_serving()

    def __enter__(self) -> Platform:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the platform did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.db.dispose()
