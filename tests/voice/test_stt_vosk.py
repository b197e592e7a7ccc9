"""Vosk STT service on the tiny test model with espeak-ng caller audio, driven by VAD frames as in a call."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from bot.calls.simulate import caller_speech
from tests.conftest import TINY
from voice.stt_vosk import SpeechHintsFrame, VoskSTTService, load_model, supports_grammar


def utterance(pcm: bytes, before: float = 0.3) -> list:
    """20 ms audio frames with the VAD's start/stop frames around the speech (what VADProcessor sends)."""
    audio = bytes(int(8000 * before) * 2) + pcm + bytes(4800)
    frames: list = [VADUserStartedSpeakingFrame()]
    frames += [
        InputAudioRawFrame(audio=audio[i : i + 320], sample_rate=8000, num_channels=1)
        for i in range(0, len(audio), 320)
    ]
    return [*frames, SleepFrame(0.2), VADUserStoppedSpeakingFrame()]


async def transcribe(pcm: bytes) -> tuple[list[str], list[TranscriptionFrame]]:
    stt = VoskSTTService(TINY)
    down, _ = await run_test(stt, frames_to_send=utterance(pcm), expected_down_frames=None)
    interims = [f.text for f in down if isinstance(f, InterimTranscriptionFrame)]
    finals = [f for f in down if isinstance(f, TranscriptionFrame)]
    return interims, finals


@pytest.mark.parametrize("text", ["да", "восемь девять", "нет"])
async def test_final_transcript_is_what_the_caller_said(text):
    _, finals = await transcribe(caller_speech(text, "ru"))
    assert [f.text for f in finals] == [text]
    assert finals[0].finalized
    assert [w["word"] for w in finals[0].result["result"]] == text.split()


async def test_partial_results_arrive_while_the_caller_speaks():
    interims, _ = await transcribe(caller_speech("восемь девять один два", "ru"))
    assert interims, "no interim transcription"
    assert interims[-1] == "восемь девять один два"
    assert any(len(i.split()) < 4 for i in interims), "interims should grow word by word"


async def test_audio_outside_an_utterance_is_not_recognised():
    stt = VoskSTTService(TINY)
    pcm = caller_speech("да", "ru")
    frames = [
        InputAudioRawFrame(audio=pcm[i : i + 320], sample_rate=8000, num_channels=1)
        for i in range(0, len(pcm), 320)
    ]
    down, _ = await run_test(stt, frames_to_send=frames, expected_down_frames=None)
    assert not [f for f in down if isinstance(f, (TranscriptionFrame, InterimTranscriptionFrame))]


async def test_the_model_is_shared_and_the_tiny_model_takes_no_grammar():
    assert load_model(TINY) is load_model(TINY)
    assert not supports_grammar(TINY)
    stt = VoskSTTService(TINY)
    down, _ = await run_test(
        stt,
        frames_to_send=[SpeechHintsFrame(phrases=("да", "нет")), *utterance(caller_speech("нет", "ru"))],
        expected_down_frames=None,
    )
    assert [f.text for f in down if isinstance(f, TranscriptionFrame)] == ["нет"]


def test_a_missing_model_directory_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Vosk model"):
        load_model(tmp_path)
