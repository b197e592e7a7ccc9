"""Warm recognisers: reused across utterances and calls, never two live utterances on one, one per grammar; the
recognition thread pool's backlog is measured. Real Vosk on the 12-word test model."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import vosk
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.tests.utils import run_test

from bot.calls.simulate import caller_speech
from tests.conftest import TINY
from tests.voice.test_stt_vosk import utterance
from voice import recognizers
from voice.recognizers import RecognitionExecutor, RecognizerKey, RecognizerPool
from voice.stt_vosk import SpeechHintsFrame, VoskSTTService

FREE = RecognizerKey(TINY.resolve())


@pytest.fixture
def pool(monkeypatch) -> RecognizerPool:
    """A fresh process pool with the model's warm recogniser (as after loading), recording what it hands out."""
    fresh = RecognizerPool()
    fresh.warm(FREE)
    fresh.handed: list[tuple[RecognizerKey, vosk.KaldiRecognizer]] = []
    acquire = fresh.acquire

    def recorded(key, **options):
        recognizer = acquire(key, **options)
        fresh.handed.append((key, recognizer))
        return recognizer

    fresh.acquire = recorded
    monkeypatch.setattr("voice.stt_vosk.pool", fresh)
    monkeypatch.setattr("voice.recognizers.pool", fresh)
    return fresh


async def heard(stt: VoskSTTService, *frames) -> list[str]:
    down, _ = await run_test(stt, frames_to_send=list(frames), expected_down_frames=None)
    return [f.text for f in down if isinstance(f, TranscriptionFrame)]


def test_loading_a_model_warms_one_recogniser_for_line_audio(monkeypatch):
    pool = RecognizerPool()
    monkeypatch.setattr(recognizers, "pool", pool)
    monkeypatch.setattr(recognizers, "_models", {})
    recognizers.load_model(TINY)
    assert pool.idle(FREE) == 1 and pool.created == 1
    recognizers.load_model(TINY)  # loaded already: nothing more is built
    assert pool.created == 1


def test_a_recogniser_is_handed_out_once_until_released(pool):
    first, second = pool.acquire(FREE), pool.acquire(FREE)
    assert first is not second
    pool.release(FREE, first)
    assert pool.acquire(FREE) is first


async def test_one_recogniser_serves_every_utterance_of_a_call_and_the_next_call(pool):
    created = pool.created
    da, net = caller_speech("да", "ru"), caller_speech("нет", "ru")
    assert await heard(VoskSTTService(TINY), *utterance(da), *utterance(net)) == ["да", "нет"]
    assert await heard(VoskSTTService(TINY), *utterance(net)) == ["нет"]
    assert pool.created == created == 1, "no recogniser may be built per utterance or per call"
    assert len({id(r) for _, r in pool.handed}) == 1 and len(pool.handed) == 2  # one per call
    assert pool.idle(FREE) == 1


async def test_two_live_utterances_never_share_a_recogniser(pool):
    da, digits = caller_speech("да", "ru"), caller_speech("восемь девять один", "ru")
    first, second = await asyncio.gather(
        heard(VoskSTTService(TINY), *utterance(da)), heard(VoskSTTService(TINY), *utterance(digits))
    )
    assert (first, second) == (["да"], ["восемь девять один"])
    assert len({id(r) for _, r in pool.handed}) == 2, "overlapping utterances got one recogniser"
    assert pool.idle(FREE) == 2  # both back, reset, for the next utterances


async def test_new_hints_get_a_recogniser_for_their_grammar(monkeypatch, pool):
    grammars: list[str] = []
    real = vosk.KaldiRecognizer

    def spy(model, rate, *grammar):
        grammars.extend(grammar)
        return real(model, rate)  # the tiny model cannot take a grammar: recognise freely

    monkeypatch.setattr("voice.stt_vosk.supports_grammar", lambda path: True)
    monkeypatch.setattr(vosk, "KaldiRecognizer", spy)
    da, vosem = caller_speech("да", "ru"), caller_speech("восемь", "ru")
    said = await heard(
        VoskSTTService(TINY),
        SpeechHintsFrame(phrases=("да", "нет")),
        *utterance(da),
        SpeechHintsFrame(phrases=("восемь", "девять")),
        *utterance(vosem),
    )
    assert said == ["да", "восемь"]
    yes_no = RecognizerKey(FREE.model, 8000, '["да", "нет", "[unk]"]')
    digits = RecognizerKey(FREE.model, 8000, '["восемь", "девять", "[unk]"]')
    assert [key for key, _ in pool.handed] == [FREE, yes_no, digits]
    assert set(grammars) == {yes_no.grammar, digits.grammar}
    assert pool.idle(yes_no) >= 1 and pool.idle(digits) >= 1


async def test_a_call_that_hangs_up_mid_utterance_gives_its_recogniser_back(pool):
    frames = utterance(caller_speech("восемь девять", "ru"))[:-2]  # no end of speech: the call ends first
    assert await heard(VoskSTTService(TINY), *frames) == []
    assert len(pool.handed) == 1 and pool.idle(FREE) == 1


async def test_a_word_cut_off_by_a_hang_up_never_reaches_the_next_call(pool):
    # Vosk's Reset() alone keeps audio it has not decoded yet: the next call on that recogniser heard "один" first
    odin = caller_speech("один", "ru")
    cut = [VADUserStartedSpeakingFrame()] + [
        InputAudioRawFrame(audio=odin[i : i + 320], sample_rate=8000, num_channels=1)
        for i in range(0, len(odin) // 2 // 320 * 320, 320)
    ]
    assert await heard(VoskSTTService(TINY), *cut) == []
    assert await heard(VoskSTTService(TINY), *utterance(caller_speech("восемь девять", "ru"))) == [
        "восемь девять"
    ]
    assert len({id(r) for _, r in pool.handed}) == 1  # the same recogniser served both calls


async def test_the_executor_measures_jobs_waiting_for_a_thread():
    executor = RecognitionExecutor(workers=1)
    waits: list[float] = []
    executor.on_wait(waits.append)
    release = threading.Event()
    busy = executor.submit(release.wait)
    queued = [executor.submit(time.sleep, 0) for _ in range(3)]
    await asyncio.sleep(0.2)
    assert executor.queued == 3
    release.set()
    await asyncio.gather(*(asyncio.wrap_future(f) for f in [busy, *queued]))
    assert executor.queued == 0
    assert len(waits) == 4 and min(waits[1:]) >= 0.2
    assert executor.recent_waits() == waits


async def test_a_call_that_finds_no_idle_recogniser_gets_one_warmed_while_it_starts(monkeypatch):
    empty = RecognizerPool()
    monkeypatch.setattr("voice.stt_vosk.pool", empty)
    stt = VoskSTTService(TINY)  # nothing idle: a recogniser is built and warmed on the low-priority thread
    assert await heard(stt, *utterance(caller_speech("да", "ru"))) == ["да"]
    assert empty.created == 1 and empty.idle(FREE) == 1  # back in the pool for the next call
