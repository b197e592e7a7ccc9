"""A turn's end of speech comes from the caller's audio: a recogniser that falls behind makes the turn slower in
its stored stages, instead of moving the end of speech along with it. Real pipeline, real dialog service."""

from __future__ import annotations

import time

import pytest

from bot.calls.simulate import CallerLine
from tests.calls.helpers import call
from voice.stt_vosk import VoskSTTService

pytestmark = [pytest.mark.slow, pytest.mark.rasa]
CHUNK_DELAY = 0.3  # extra seconds of "recognition" per 160 ms chunk: the recogniser falls behind the caller


async def test_recogniser_backlog_shows_in_the_turns_stages(settings, dialog_service, monkeypatch):
    quick, _ = await call(settings, dialog_service, "reminder", [CallerLine("да")])
    accept = VoskSTTService._accept

    def slow_accept(self, key, audio):
        time.sleep(CHUNK_DELAY)
        return accept(self, key, audio)

    monkeypatch.setattr(VoskSTTService, "_accept", slow_accept)
    slow, _ = await call(settings, dialog_service, "reminder", [CallerLine("да")])

    assert quick.outcome == slow.outcome == "confirmed"
    before, after = quick.turns[1]["ms"], slow.turns[1]["ms"]
    assert before["end_of_speech"] == after["end_of_speech"] == 0
    # the VAD never waits for the recogniser beyond its full end-of-turn silence (a backlog can only delay the
    # early end of turn, which needs the words)
    assert after["vad_stop"] < settings.voice.end_of_turn_silence * 1000 + 200
    # the recogniser's backlog (~1 s: ~9 chunks of 0.16 s audio taking 0.46 s each) is in the turn's timing
    assert after["asr_final"] - before["asr_final"] >= 600, (before, after)
    assert after["first_audio_out"] - before["first_audio_out"] >= 600, (before, after)
