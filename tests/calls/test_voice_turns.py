"""Per-step turn-taking through the real pipeline and the real dialog service: a step's `end_of_turn` re-tunes the
VAD while that step listens (espeak-ng caller → Silero VAD → Vosk tiny model → Rasa)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.calls.simulate import CallerLine, simulate_call
from bot.config import load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.conversation import Conversation, Exchange
from tests.rasa.helpers import VARIABLES, client_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "vosk-model-tiny-ru"


@pytest.fixture
def settings(dialog_service, tmp_path):
    return load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
        }
    )


class _PatientOrderNumber(Conversation):
    """The real conversation, with `end_of_turn: 1.6` on the order-number step (as the script would set it)."""

    async def _send(self, message: str) -> Exchange:
        exchange = await super()._send(message)
        if exchange.result.listening and exchange.result.listening.step == "ask_order_number":
            exchange.result.listening.end_of_turn = 1.6
        return exchange


@pytest.mark.parametrize(
    ("patient", "heard", "number"), [(False, "восемь девять", "89"), (True, "восемь девять один два", "8912")]
)
async def test_a_steps_end_of_turn_lets_the_caller_pause_mid_answer(
    settings, dialog_service, monkeypatch, patient, heard, number
):
    if patient:
        monkeypatch.setattr("bot.calls.simulate.Conversation", _PatientOrderNumber)
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("inbound")
    # "1" (orders) during the greeting, then the order number with a one-second pause in the middle
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine("восемь девять | один два")]
    client = client_for(dialog_service)
    try:
        record, line = await simulate_call(settings, client, script, "ru", VARIABLES["inbound"], lines)
    finally:
        await client.close()

    # the default 0.6 s ends the answer at the pause; the step's 1.6 s waits for the rest of the number
    said = [entry.text for entry in record.transcript if entry.speaker == "caller"]
    assert said[1] == heard
    assert record.slots["order_number"] == number
    assert line.transfer_target == "orders"
    answer = record.turns[2]
    assert answer["ms"]["end_of_speech"] == 0 and answer["ms"]["asr_final"] > 0
