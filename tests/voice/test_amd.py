"""Answering-machine detection on synthetic first seconds of a call: a voicemail greeting and beep vs a short "алло"."""

from __future__ import annotations

import numpy as np

from bot.calls.simulate import caller_speech
from voice.amd import AnsweringMachineDetector, Verdict

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
