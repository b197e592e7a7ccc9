"""Answering-machine detection from the first seconds of an answered outbound call.

The classic telephony rules (as in Asterisk's AMD), on 20 ms frames of 8 kHz audio:
- a beep (a steady pure tone, 300–3000 Hz, ≥ 200 ms) → machine (the voicemail is recording from here on);
- a greeting that goes on longer than `max_greeting` seconds → machine ("Здравствуйте, вы позвонили в…");
- a short greeting followed by `after_greeting_silence` seconds of silence → human ("Алло?" … waiting);
- nothing said within `initial_silence` seconds, or no decision within `max_analysis` seconds → unknown.
Feed audio as it arrives; `feed` returns the verdict once it is reached (and keeps returning it). In a call,
`AmdProcessor` does the feeding and pushes the verdict as an `AmdResultFrame`.

After a machine verdict, `RecordingStart` finds the moment a message can be left: the end of the beep, or (a
voicemail without a beep) `voicemail_silence` seconds of silence after the greeting; none within
`voicemail_max_wait` seconds means no message. `AmdProcessor(wait_for_recording=True)` pushes it as a
`VoicemailReadyFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pipecat.frames.frames import Frame, InputAudioRawFrame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

FRAME_SECONDS = 0.02


class Verdict(StrEnum):
    """Who answered a call, as answering-machine detection judged it (`not_run`: no detection on the call)."""

    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"
    NOT_RUN = "not_run"


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
    voicemail_silence: float = 1.5  # no beep: this much silence after the greeting means it is recording
    voicemail_max_wait: float = 20.0


class _FrameAnalyser:
    """Cuts fed audio into 20 ms frames and runs `_step` on each until it returns a result."""

    def __init__(self, sample_rate: int, params: AmdParams | None) -> None:
        self.rate = sample_rate
        self.params = params or AmdParams()
        self._frame = int(sample_rate * FRAME_SECONDS)
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames = 0
        self.result = None

    def feed(self, pcm: bytes):
        """Feed audio as it arrives; returns the result once reached (and keeps returning it)."""
        self._pending = np.concatenate([self._pending, np.frombuffer(pcm, dtype=np.int16)])
        while self.result is None and self._pending.size >= self._frame:
            frame, self._pending = self._pending[: self._frame], self._pending[self._frame :]
            self._frames += 1
            self.result = self._step(frame.astype(np.float64))
        return self.result

    def _step(self, frame: np.ndarray):
        raise NotImplementedError


class AnsweringMachineDetector(_FrameAnalyser):
    def __init__(self, sample_rate: int = 8000, params: AmdParams | None = None) -> None:
        super().__init__(sample_rate, params)
        self._voice_start: int | None = None
        self._last_voice = -1
        self._tone_frames = 0
        self._tone_hz = 0.0
        self.result: AmdResult | None = None

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
        hz = _tone_hz(frame, self.rate, self.params.beep_purity)
        if hz is None:
            return False
        steady = self._tone_frames == 0 or abs(hz - self._tone_hz) <= 2 * self.rate / frame.size
        self._tone_hz = hz
        return steady


def _tone_hz(frame: np.ndarray, rate: int, purity: float) -> float | None:
    """The frequency of a frame that is a pure tone in the beep range, else None."""
    spectrum = np.abs(np.fft.rfft(frame * np.hanning(frame.size))) ** 2
    peak = int(np.argmax(spectrum))
    hz = peak * rate / frame.size
    if 300 <= hz <= 3000 and spectrum[max(0, peak - 1) : peak + 2].sum() / spectrum.sum() >= purity:
        return hz
    return None


@dataclass(frozen=True)
class RecordingReady:
    ready: bool  # False: no moment to leave a message was found in time
    reason: str
    at: float  # seconds of audio analysed since the machine verdict


class RecordingStart(_FrameAnalyser):
    """After a machine verdict: when the voicemail is recording (its beep has ended, or silence after the
    greeting); `beeping` says the verdict came from a beep that may still be sounding."""

    def __init__(
        self, sample_rate: int = 8000, params: AmdParams | None = None, *, beeping: bool = False
    ) -> None:
        super().__init__(sample_rate, params)
        self._beeping = beeping
        self._tone_frames = 0
        self._quiet_frames = 0
        self.result: RecordingReady | None = None

    def _step(self, frame: np.ndarray) -> RecordingReady | None:
        p = self.params
        now = round(self._frames * FRAME_SECONDS, 2)
        loud = float(np.sqrt(np.mean(frame**2))) > p.voice_rms
        tone = loud and _tone_hz(frame, self.rate, p.beep_purity) is not None
        self._tone_frames = self._tone_frames + 1 if tone else 0
        self._quiet_frames = 0 if loud else self._quiet_frames + 1
        if self._tone_frames * FRAME_SECONDS >= p.beep_seconds:
            self._beeping = True
        elif self._beeping and not tone:
            return RecordingReady(True, "after the beep", now)
        if not self._beeping and self._quiet_frames * FRAME_SECONDS >= p.voicemail_silence:
            return RecordingReady(True, f"{p.voicemail_silence} s of silence after the greeting", now)
        if now >= p.voicemail_max_wait:
            return RecordingReady(False, f"no beep or silence in {p.voicemail_max_wait:.0f} s", now)
        return None


@dataclass
class AmdResultFrame(SystemFrame):
    """The detector's verdict, pushed downstream once per call."""

    result: AmdResult | None = None


@dataclass
class VoicemailReadyFrame(SystemFrame):
    """After a machine verdict (`AmdProcessor(wait_for_recording=True)`): the voicemail records now, or never."""

    result: RecordingReady | None = None


class AmdProcessor(FrameProcessor):
    """Feeds the caller's first seconds to an `AnsweringMachineDetector`; pushes one `AmdResultFrame`, and with
    `wait_for_recording` after a machine verdict one `VoicemailReadyFrame`."""

    def __init__(
        self,
        sample_rate: int = 8000,
        params: AmdParams | None = None,
        *,
        wait_for_recording: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.rate, self.params = sample_rate, params or AmdParams()
        self.detector = AnsweringMachineDetector(sample_rate, self.params)
        self.wait_for_recording = wait_for_recording
        self.recording: RecordingStart | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if not isinstance(frame, InputAudioRawFrame) or direction is not FrameDirection.DOWNSTREAM:
            return
        if self.detector.result is None:
            if result := self.detector.feed(frame.audio):
                await self.push_frame(AmdResultFrame(result=result))
                if result.verdict is Verdict.MACHINE and self.wait_for_recording:
                    beeping = result.reason.startswith("beep")
                    self.recording = RecordingStart(self.rate, self.params, beeping=beeping)
        elif self.recording and self.recording.result is None and (ready := self.recording.feed(frame.audio)):
            await self.push_frame(VoicemailReadyFrame(result=ready))
