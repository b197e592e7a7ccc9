"""Per-step turn-taking through the real pipeline and the real dialog service: a step's `end_of_turn` re-tunes the
VAD while that step listens (espeak-ng caller → Silero VAD → Vosk tiny model → Rasa)."""

from __future__ import annotations

import pytest

from bot.calls.simulate import CallerLine
from bot.dialog.transcript import Exchange
from bot.rasa.conversation import Conversation
from tests.calls.helpers import call

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


class _PatientOrderNumber(Conversation):
    """The real conversation, with `end_of_turn: 2.0` on the order-number step (as the script would set it)."""

    async def _send(self, message: str) -> Exchange:
        exchange = await super()._send(message)
        if exchange.result.listening and exchange.result.listening.step == "ask_order_number":
            exchange.result.listening.end_of_turn = 2.0
        return exchange


@pytest.mark.parametrize(
    ("patient", "heard", "number"),
    [
        (False, "восемь девять", "89"),
        (True, "восемь девять один два", "8912"),
    ],
)
async def test_a_steps_end_of_turn_lets_the_caller_pause_mid_answer(
    settings, dialog_service, monkeypatch, patient, heard, number
):
    if patient:
        monkeypatch.setattr("bot.calls.simulate.Conversation", _PatientOrderNumber)
    # "1" (orders) during the greeting, then the order number with a 1.5 s pause in the middle
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine("восемь девять |1.5| один два")]
    record, line = await call(settings, dialog_service, "inbound", lines)

    # the default 1.0 s ends the answer at the pause; the step's 2.0 s waits for the rest of the number
    said = [entry.text for entry in record.transcript if entry.speaker == "caller"]
    assert said[1] == heard
    assert record.slots["order_number"] == number
    assert line.transfer_target == "orders"
    answer = record.turns[2]
    assert answer["ms"]["end_of_speech"] == 0 and answer["ms"]["asr_final"] > 0
