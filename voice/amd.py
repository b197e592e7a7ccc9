"""Answering-machine detection from the first seconds of an answered outbound call.

The classic telephony rules (as in Asterisk's AMD), on 20 ms frames of 8 kHz audio:
- a beep (a steady pure tone, 300–3000 Hz, ≥ 200 ms) → machine (the voicemail is recording from here on);
- a greeting that goes on longer than `max_greeting` seconds → machine ("Здравствуйте, вы позвонили в…");
- a short greeting followed by `after_greeting_silence` seconds of silence → human ("Алло?" … waiting);
- nothing said within `initial_silence` seconds, or no decision within `max_analysis` seconds → unknown.
Feed audio as it arrives; `feed` returns the verdict once it is reached (and keeps returning it). In a call,
`AmdProcessor` does the feeding and pushes the verdict as an `AmdResultFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pipecat.frames.frames import Frame, InputAudioRawFrame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

FRAME_SECONDS = 0.02


class Verdict(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AmdResult:
    verdict: Verdict
    reason: str
    at: float  # seconds of audio analysed when the decision was made


@dataclass(frozen=True)
class AmdParams:
    voice_rms: float = 300.0  # 16-bit RMS above which a frame counts as sound
    max_greeting: float = 2.0
    after_greeting_silence: float = 0.8
    initial_silence: float = 3.5
    max_analysis: float = 5.0
    beep_seconds: float = 0.2
    beep_purity: float = 0.6  # share of a frame's energy in its strongest frequency (±1 bin)


class AnsweringMachineDetector:
    def __init__(self, sample_rate: int = 8000, params: AmdParams | None = None) -> None:
        self.rate = sample_rate
        self.params = params or AmdParams()
        self._frame = int(sample_rate * FRAME_SECONDS)
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames = 0
        self._voice_start: int | None = None
        self._last_voice = -1
        self._tone_frames = 0
        self._tone_hz = 0.0
        self.result: AmdResult | None = None

    def feed(self, pcm: bytes) -> AmdResult | None:
        self._pending = np.concatenate([self._pending, np.frombuffer(pcm, dtype=np.int16)])
        while self.result is None and self._pending.size >= self._frame:
            frame, self._pending = self._pending[: self._frame], self._pending[self._frame :]
            self._frames += 1
            self.result = self._step(frame.astype(np.float64))
        return self.result

    def _seconds(self, frames: int) -> float:
        return round(frames * FRAME_SECONDS, 2)

    def _step(self, frame: np.ndarray) -> AmdResult | None:
        p = self.params
        now = self._seconds(self._frames)
        loud = float(np.sqrt(np.mean(frame**2))) > p.voice_rms
        if loud and self._is_tone(frame):
            self._tone_frames += 1
            if self._tone_frames * FRAME_SECONDS >= p.beep_seconds:
                return AmdResult(Verdict.MACHINE, f"beep at {self._tone_hz:.0f} Hz", now)
        else:
            self._tone_frames = 0
        if loud:
            if self._voice_start is None:
                self._voice_start = self._frames
            self._last_voice = self._frames
        if self._voice_start is None:
            if now >= p.initial_silence:
                return AmdResult(Verdict.UNKNOWN, "silence", now)
            return None
        greeting = self._seconds(self._last_voice - self._voice_start + 1)
        if greeting > p.max_greeting:
            return AmdResult(Verdict.MACHINE, f"greeting longer than {p.max_greeting} s", now)
        if self._seconds(self._frames - self._last_voice) >= p.after_greeting_silence:
            return AmdResult(Verdict.HUMAN, f"{greeting} s greeting, then silence", now)
        if now >= p.max_analysis:
            return AmdResult(Verdict.UNKNOWN, "no decision in time", now)
        return None

    def _is_tone(self, frame: np.ndarray) -> bool:
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(frame.size))) ** 2
        peak = int(np.argmax(spectrum))
        hz = peak * self.rate / frame.size
        purity = spectrum[max(0, peak - 1) : peak + 2].sum() / spectrum.sum()
        if not (300 <= hz <= 3000 and purity >= self.params.beep_purity):
            return False
        steady = self._tone_frames == 0 or abs(hz - self._tone_hz) <= 2 * self.rate / frame.size
        self._tone_hz = hz
        return steady


@dataclass
class AmdResultFrame(SystemFrame):
    """The detector's verdict, pushed downstream once per call."""

    result: AmdResult | None = None


class AmdProcessor(FrameProcessor):
    """Feeds the caller's first seconds to an `AnsweringMachineDetector`; pushes one `AmdResultFrame`."""

    def __init__(self, sample_rate: int = 8000, params: AmdParams | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.detector = AnsweringMachineDetector(sample_rate, params)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if (
            isinstance(frame, InputAudioRawFrame)
            and direction is FrameDirection.DOWNSTREAM
            and self.detector.result is None
            and (result := self.detector.feed(frame.audio))
        ):
            await self.push_frame(AmdResultFrame(result=result))
