"""The early end of turn through the real pipeline and the real dialog service (espeak-ng caller → Silero VAD →
Vosk tiny model → Rasa): a complete expected answer ends the turn at a short pause; an unfinished one (digits,
which callers say in groups) waits for the step's full end-of-turn silence; a step can switch it off."""

from __future__ import annotations

import pytest

from bot.calls.simulate import CallerLine
from bot.dialog.transcript import Exchange
from bot.rasa.conversation import Conversation
from tests.calls.helpers import call

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def spoken_turns(record) -> list[dict]:
    return [turn for turn in record.turns if turn["kind"] == "text"]


async def test_complete_answers_end_the_turn_at_a_short_pause(settings, dialog_service):
    # "нет" at the reminder's yes/no question, then a date ("пятого" is not in the tiny model: "пять")
    record, _ = await call(settings, dialog_service, "reminder", [CallerLine("нет"), CallerLine("пять")])

    turns = spoken_turns(record)
    assert [turn["heard"] for turn in turns] == ["нет", "пять"]
    assert [turn["early_end"] for turn in turns] == [True, True]
    assert record.slots["promise_date"].endswith("-05")
    # ended at the short pause (0.25 s), not at the full end-of-turn silence (0.6 s)
    assert all(turn["ms"]["vad_stop"] < 600 for turn in turns)


async def test_digits_wait_for_the_full_silence(settings, dialog_service):
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine("восемь девять")]
    record, _ = await call(settings, dialog_service, "inbound", lines)

    (answer,) = spoken_turns(record)
    assert answer["heard"] == "восемь девять"
    assert answer["early_end"] is False
    assert answer["ms"]["vad_stop"] >= 600


class _NeverEarly(Conversation):
    """The real conversation, with `early_end_of_turn: 0` on every step (as a script author would set it)."""

    async def _send(self, message: str) -> Exchange:
        exchange = await super()._send(message)
        if exchange.result.listening:
            exchange.result.listening.early_end_of_turn = 0
        return exchange


async def test_a_step_can_switch_the_early_end_off(settings, dialog_service, monkeypatch):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _NeverEarly)
    record, _ = await call(settings, dialog_service, "reminder", [CallerLine("нет")])

    (answer, *_) = spoken_turns(record)
    assert answer["heard"] == "нет"
    assert answer["early_end"] is False
