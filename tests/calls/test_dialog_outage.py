"""Rasa killed in the middle of a call (SIGKILL, as a crash would): the caller is held with a phrase, the dialog
service's supervisor restarts Rasa, and the conversation goes on from the state the call holds; if Rasa is not back
in time, the caller hears an apology and the call ends with no outcome. The real session dialog service: its Rasa
process is killed for real, and each test waits until the supervisor has it serving again."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from bot.calls.simulate import CallerLine
from bot.config import Settings
from bot.dialog.transcript import Exchange
from bot.outcomes import Signal
from bot.rasa.conversation import Conversation
from tests.calls.helpers import call
from tests.chaos import ChaosRow
from tests.chaos import record as record_row
from tests.conftest import TEST_RASA_PORT

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def rasa_pid() -> int:
    """The session's `rasa run` process (the one serving TEST_RASA_PORT)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--enable-api" in argv and str(TEST_RASA_PORT).encode() in argv:
            return int(proc.name)
    raise LookupError(f"no Rasa process serves port {TEST_RASA_PORT}")


def kill_rasa() -> None:
    os.killpg(rasa_pid(), signal.SIGKILL)  # Rasa runs in its own process group with its workers


@pytest.fixture
def rasa_comes_back(dialog_service):
    """After the test, wait until the supervisor's new Rasa serves again (later tests share it)."""
    yield
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            pid = rasa_pid()
            if httpx.get(f"http://127.0.0.1:{TEST_RASA_PORT}/status", timeout=2).status_code in (
                200,
                401,
                403,
            ):
                return
        except (LookupError, httpx.TransportError):
            pid = None
        time.sleep(1)
    pytest.fail(f"Rasa did not come back (pid {pid})")


def call_row(fault: str, record, lost: bool, seconds: float | None) -> None:
    """The chaos row of one of these faults: one simulated call (no contacts, no call rows, no events)."""
    row = ChaosRow(
        fault=fault,
        calls_up=1,
        contacts=None,
        lost=int(lost),
        dialled_twice=None,
        events_lost=None,
        calls_left_live=int(record.ended_by is None),
        seconds_to_recover=seconds,
    )
    record_row(row)


def holding(settings: Settings, seconds: float) -> Settings:
    voice = settings.voice.model_copy(update={"dialog_outage_seconds": seconds})
    return settings.model_copy(update={"voice": voice})


def rasa_serving() -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{TEST_RASA_PORT}/status", timeout=2).status_code in (
            200,
            401,
            403,
        )
    except httpx.TransportError:
        return False


class _RasaDiesBeforeTheAnswer(Conversation):
    """The real conversation; Rasa is killed just before the caller's answer reaches it."""

    async def _send(self, message: str) -> Exchange:
        if message != f"/{Signal.START}" and not self.killed:
            self.killed = True
            type(self).killed_at = time.monotonic()
            await asyncio.to_thread(kill_rasa)
        exchange = await super()._send(message)  # raises while Rasa is down; the call holds and sends again
        if self.killed and type(self).answered_after is None:
            type(self).answered_after = time.monotonic() - self.killed_at
        return exchange

    killed = False
    killed_at: float | None = None  # when the last call's Rasa was killed (the chaos table)
    answered_after: float | None = None  # seconds from the kill to the answered turn (the chaos table)


class _RasaRestartsBetweenTurns(Conversation):
    """The real conversation; Rasa is killed after the greeting and serves again (having forgotten the
    conversation: in-memory tracker store) before the caller answers."""

    async def _send(self, message: str) -> Exchange:
        if message != f"/{Signal.START}" and not self.killed:
            self.killed = True
            killed_at = time.monotonic()
            await asyncio.to_thread(kill_rasa)
            await asyncio.sleep(3)  # the supervisor notices and starts a new one
            while not await asyncio.to_thread(rasa_serving):
                await asyncio.sleep(0.5)
            exchange = await super()._send(message)
            type(self).answered_after = time.monotonic() - killed_at
            return exchange
        return await super()._send(message)

    killed = False
    answered_after: float | None = None  # seconds from the kill to the answered turn (the chaos table)


async def test_a_call_is_held_while_rasa_restarts_and_goes_on(
    settings, dialog_service, monkeypatch, rasa_comes_back
):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _RasaDiesBeforeTheAnswer)
    monkeypatch.setattr(_RasaDiesBeforeTheAnswer, "answered_after", None)
    settings = holding(settings, 120.0)  # Rasa's restart takes 8–25 s on this shared machine
    record, _ = await call(settings, dialog_service, "reminder", [CallerLine("да")], hangup_after=150)

    seconds = round(_RasaDiesBeforeTheAnswer.answered_after or 0, 1) or None
    call_row("Rasa SIGKILLed mid-call (held until back)", record, record.outcome != "confirmed", seconds)
    assert record.outcome == "confirmed", record.transcript
    assert record.ended_by == "robot"
    events = [entry.event for entry in record.transcript if entry.speaker == "robot"]
    assert "hold" in events and "apology" not in events
    said = [(entry.text, entry.intent) for entry in record.transcript if entry.speaker == "caller"]
    assert said == [("да", "affirm")]


async def test_a_call_ends_with_an_apology_if_rasa_is_not_back_in_time(
    settings, dialog_service, monkeypatch, rasa_comes_back
):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _RasaDiesBeforeTheAnswer)
    monkeypatch.setattr(_RasaDiesBeforeTheAnswer, "killed_at", None)
    settings = holding(settings, 0.5)  # shorter than any restart
    record, line = await call(settings, dialog_service, "reminder", [CallerLine("да")])
    killed_at = _RasaDiesBeforeTheAnswer.killed_at
    ended_after = None if killed_at is None else round(time.monotonic() - killed_at, 1)

    robot = [(entry.event, entry.text) for entry in record.transcript if entry.speaker == "robot"]
    # lost: the call's result is not "ended by the error, after an apology"; recovered: the kill until that end
    lost = record.ended_by != "error" or not robot or robot[-1][0] != "apology"
    call_row("Rasa SIGKILLed mid-call, not back in 0.5 s", record, lost, ended_after)
    assert record.outcome is None
    assert record.ended_by == "error"
    assert robot[-2:] == [
        ("hold", "Одну секунду, пожалуйста."),
        ("apology", "Извините, у нас технические неполадки. До свидания!"),
    ]
    assert line.ended_by == "robot"


async def test_a_conversation_rasa_forgot_in_a_restart_between_turns_goes_on(
    settings, dialog_service, monkeypatch, rasa_comes_back
):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _RasaRestartsBetweenTurns)
    monkeypatch.setattr(_RasaRestartsBetweenTurns, "answered_after", None)
    record, _ = await call(settings, dialog_service, "reminder", [CallerLine("да")], hangup_after=150)

    after = _RasaRestartsBetweenTurns.answered_after
    seconds = None if after is None else round(after, 1)
    call_row("Rasa restarted between turns (forgot the call)", record, record.outcome != "confirmed", seconds)
    assert record.outcome == "confirmed", record.transcript
    assert not {"hold", "apology"} & {entry.event for entry in record.transcript}  # nothing to hold for
    said = [(entry.text, entry.intent) for entry in record.transcript if entry.speaker == "caller"]
    assert said == [("да", "affirm")]
