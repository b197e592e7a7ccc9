"""Answering-machine detection on synthetic first seconds of a call: a voicemail greeting and beep vs a short "алло"."""

from __future__ import annotations

import numpy as np

from bot.calls.simulate import caller_speech
from voice.amd import AmdParams, AnsweringMachineDetector, RecordingStart, Verdict

RATE = 8000


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def beep(seconds: float = 0.5, hz: float = 1000.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16).tobytes()


def detect(audio: bytes, chunk: int = 320):
    detector = AnsweringMachineDetector(RATE)
    for i in range(0, len(audio), chunk):
        if result := detector.feed(audio[i : i + chunk]):
            return result
    return None


GREETING = "Здравствуйте, вы позвонили в компанию Восток. Сейчас никто не может ответить. Оставьте сообщение после сигнала."


def test_a_voicemail_greeting_with_a_beep_is_a_machine():
    result = detect(silence(0.5) + caller_speech(GREETING, "ru") + silence(0.3) + beep() + silence(1))
    assert result.verdict is Verdict.MACHINE
    assert "greeting longer" in result.reason
    assert result.at < 3.0  # decided within the greeting, long before the beep


def test_a_beep_alone_is_a_machine():
    result = detect(silence(1.0) + beep(0.5, 1000) + silence(1))
    assert (result.verdict, result.reason) == (Verdict.MACHINE, "beep at 1000 Hz")
    assert 1.2 <= result.at <= 1.3


def test_a_short_allo_then_silence_is_a_human():
    allo = caller_speech("алло", "ru")
    result = detect(silence(0.4) + allo + silence(2))
    assert result.verdict is Verdict.HUMAN
    assert result.at < 0.4 + len(allo) / 2 / RATE + 1.0


def test_two_short_words_are_still_a_human():
    result = detect(silence(0.3) + caller_speech("алло да", "ru") + silence(2))
    assert result.verdict is Verdict.HUMAN


def test_silence_is_unknown():
    result = detect(silence(5))
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, "silence")


def message_moment(audio: bytes, params: AmdParams | None = None, chunk: int = 320):
    """Detection, then (on a machine) when a message could start: (verdict, ready result, seconds into the audio)."""
    params = params or AmdParams()
    detector = AnsweringMachineDetector(RATE, params)
    waiter = None
    for i in range(0, len(audio), chunk):
        piece = audio[i : i + chunk]
        if waiter is None:
            if (verdict := detector.feed(piece)) and verdict.verdict is Verdict.MACHINE:
                waiter = RecordingStart(RATE, params, beeping=verdict.reason.startswith("beep"))
        elif ready := waiter.feed(piece):
            return verdict, ready, round(verdict.at + ready.at, 2)
    return None


def test_the_message_starts_when_the_beep_after_a_greeting_ends():
    greeting = silence(0.5) + caller_speech(GREETING, "ru") + silence(0.3)
    verdict, ready, at = message_moment(greeting + beep(0.5) + silence(3))
    beep_end = len(greeting) / 2 / RATE + 0.5
    assert "greeting longer" in verdict.reason
    assert (ready.ready, ready.reason) == (True, "after the beep")
    assert beep_end <= at <= beep_end + 0.1


def test_after_a_beep_verdict_the_message_waits_for_the_beep_to_end():
    verdict, ready, at = message_moment(silence(1.0) + beep(0.8) + silence(2))
    assert verdict.reason == "beep at 1000 Hz" and verdict.at < 1.3
    assert ready.ready and 1.8 <= at <= 1.9


def test_a_voicemail_without_a_beep_records_after_the_greetings_silence():
    greeting = silence(0.5) + caller_speech(GREETING, "ru")
    _, ready, at = message_moment(greeting + silence(3))
    assert ready.ready and "silence after the greeting" in ready.reason
    spoken_until = np.flatnonzero(np.abs(np.frombuffer(greeting, dtype=np.int16)) > 1000)[-1] / RATE
    assert spoken_until + 1.5 <= at <= spoken_until + 1.6


def test_no_message_when_the_greeting_never_stops():
    talk = caller_speech(GREETING, "ru")
    _, ready, _ = message_moment(silence(0.3) + talk + talk + talk, AmdParams(voicemail_max_wait=4))
    assert (ready.ready, ready.reason) == (False, "no beep or silence in 4 s")
