"""The turn runner: inputs one at a time through the dialog, with their timings; outages and failures.

The dialog here is a fake that records what it was asked (the real one is tested through whole calls)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from bot.call_results.store import EndedBy
from bot.calls.latency import TurnStage
from bot.calls.turn_runner import TurnRunner
from bot.rasa.client import RasaUnavailable


class _Dialog:
    """A stand-in for `Conversation`: each message moves it to the next step; `down` makes it fail."""

    def __init__(self, down: int = 0, status: dict | None = None) -> None:
        self.id = "call-1"
        self.state = SimpleNamespace(step=None, lang="ru", ended=False)
        self.asked: list[tuple[str, str]] = []
        self.down = down  # how many messages fail as if Rasa were down
        self.broken = False
        self.resumed = 0

        reply = status if status is not None else {"model_file": "model.tar.gz"}

        async def rasa_status() -> dict:
            return reply

        self.client = SimpleNamespace(status=rasa_status)

    @property
    def ended(self) -> bool:
        return self.state.ended

    async def _send(self, kind: str, value: str = "") -> SimpleNamespace:
        if self.broken:
            raise ValueError("the script broke")
        if self.down:
            self.down -= 1
            raise RasaUnavailable("Rasa is down")
        self.asked.append((kind, value))
        self.state.step = f"step{len(self.asked)}"
        self.state.ended = kind == "hangup"
        return SimpleNamespace(kind=kind, value=value)

    async def start(self):
        return await self._send("start")

    async def say(self, text: str):
        return await self._send("say", text)

    async def dtmf(self, digits: str):
        return await self._send("dtmf", digits)

    async def silence(self):
        return await self._send("silence")

    async def hangup(self):
        return await self._send("hangup")

    async def resume(self) -> None:
        self.resumed += 1


class _Outlet:
    def __init__(self) -> None:
        self.acted: list[SimpleNamespace] = []
        self.said: list[tuple[str, str]] = []
        self.hung_up: list[EndedBy] = []
        self.unavailable = 0

    async def act(self, exchange) -> None:
        self.acted.append(exchange)

    async def announce(self, event: str, text: str) -> None:
        self.said.append((event, text))

    async def hang_up(self, ended_by: EndedBy) -> None:
        self.hung_up.append(ended_by)

    def dialog_unavailable(self) -> None:
        self.unavailable += 1


async def _run(runner: TurnRunner, until) -> None:
    """Run the runner until `until()` holds (at most 5 s), then stop it."""
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(500):
            if until() or task.done():
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_inputs_reach_the_dialog_in_order_as_turns_with_their_steps():
    dialog, outlet = _Dialog(), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    inputs = [
        runner.start_script,
        lambda: runner.heard("да, это я", time.monotonic()),
        lambda: runner.keyed("12#", time.monotonic()),
        runner.no_input,
    ]
    for count, give in enumerate(inputs, start=1):
        give()
        await _run(runner, lambda count=count: len(outlet.acted) == count)

    assert dialog.asked == [("start", ""), ("say", "да, это я"), ("dtmf", "12#"), ("silence", "")]
    assert [(t.index, t.kind, t.heard) for t in runner.turns] == [
        (0, "start", ""), (1, "text", "да, это я"), (2, "dtmf", "12#"), (3, "silence", ""),
    ]  # fmt: skip
    assert [step for step, _ in runner.exchanges] == [None, "step1", "step2", "step3"]
    assert [e.kind for e in outlet.acted] == ["start", "say", "dtmf", "silence"]
    assert runner.current is runner.turns[-1] and not runner.pending


async def test_no_input_reaches_the_dialog_before_the_script_starts():
    dialog, outlet = _Dialog(), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    runner.no_input()  # an answering machine's call: detection still deciding
    runner.heard("алло", time.monotonic())
    await _run(runner, lambda: not runner.pending)
    assert dialog.asked == [] and runner.turns == []

    runner.start_script()
    await _run(runner, lambda: len(outlet.acted) == 1)
    assert dialog.asked == [("start", "")] and runner.started_at is not None


async def test_a_caller_turn_is_timed_from_the_end_of_speech_to_the_first_audio():
    dialog, outlet = _Dialog(), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    runner.start_script()
    ended = time.monotonic() - 0.5
    runner.heard("двадцать пятого", ended, vad_stop=ended + 0.25, early_end=True)
    await _run(runner, lambda: len(outlet.acted) == 2)
    runner.mark(TurnStage.FIRST_TTS_AUDIO, time.monotonic())
    runner.mark(TurnStage.FIRST_AUDIO_OUT, time.monotonic())

    turn = runner.turns[1].summary()
    assert turn["early_end"] and turn["ms"]["end_of_speech"] == 0 and turn["ms"]["vad_stop"] == 250
    stages = [turn["ms"][stage] for stage in TurnStage]
    assert stages == sorted(stages) and stages[2] >= 500  # the transcript arrived 0.5 s after the speech


async def test_a_key_answer_is_timed_from_its_last_key():
    dialog, outlet = _Dialog(), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    runner.start_script()
    runner.keyed("5", time.monotonic() - 1.0)
    await _run(runner, lambda: len(outlet.acted) == 2)
    assert runner.turns[1].ms["asr_final"] >= 1000


async def test_a_failing_dialog_ends_the_call_as_an_error():
    dialog, outlet = _Dialog(), _Outlet()
    dialog.broken = True
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    runner.start_script()
    await _run(runner, lambda: bool(outlet.hung_up))
    assert outlet.hung_up == [EndedBy.ERROR] and runner.turns == [] and outlet.acted == []


async def test_a_dialog_back_from_an_outage_runs_the_turn_again_after_a_holding_phrase():
    dialog, outlet = _Dialog(down=1), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=5.0)
    runner.start_script()
    await _run(runner, lambda: len(outlet.acted) == 1)  # the start ran into the outage
    assert outlet.said == [("hold", "Одну секунду, пожалуйста.")] and outlet.unavailable == 1
    assert dialog.resumed == 0  # a start needs no carried-over conversation

    dialog.down = 1
    runner.heard("да", time.monotonic())
    await _run(runner, lambda: len(outlet.acted) == 2)
    assert dialog.resumed == 1 and dialog.asked == [("start", ""), ("say", "да")]
    assert not runner.in_outage and outlet.hung_up == []


async def test_a_dialog_not_back_in_time_ends_the_call_with_an_apology():
    dialog, outlet = _Dialog(down=1, status={}), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=0.1)
    runner.start_script()
    await _run(runner, lambda: bool(outlet.hung_up))
    assert [event for event, _ in outlet.said] == ["hold", "apology"]
    assert outlet.said[1][1].startswith("Извините") and outlet.hung_up == [EndedBy.ERROR]
    assert not runner.in_outage and runner.turns == []


@pytest.mark.parametrize("started", [True, False])
async def test_a_caller_hang_up_reaches_a_running_dialog_only(started):
    dialog, outlet = _Dialog(), _Outlet()
    runner = TurnRunner(dialog, outlet, outage_seconds=1.0)
    if started:
        runner.start_script()
        await _run(runner, lambda: len(outlet.acted) == 1)
    assert runner.dialog_running is started
    await runner.caller_hung_up()
    assert [kind for kind, _ in dialog.asked] == (["start", "hangup"] if started else [])
    assert [t.kind for t in runner.turns] == (["start", "hangup"] if started else [])
    assert not runner.dialog_running
