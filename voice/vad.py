"""The caller's speech start and end: Silero VAD with one ONNX session per process, and audio-time stamps.

`SileroEngine` scores the 32 ms windows of every call of the process on one worker thread, batching the windows
that are waiting (one `session.run` for all of them; each call keeps its own recurrent state), instead of one
session and one thread per call. `CallerVAD` is a call's VAD processor: it passes audio on at once, scores only
complete windows (no thread hop for the other 20 ms frames), applies pipecat's start/stop rules and announces
`VADUserStartedSpeakingFrame` and `CallerStoppedSpeakingFrame`. The latter carries `speech_ended_at`: when the last
voiced audio arrived (the `received_at` stamp a transport puts in a frame's metadata, else when it reached the
VAD), so recogniser backlog, VAD lag and queueing after it all count in the turn's latency.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import onnxruntime
from pipecat.audio.utils import exp_smoothing
from pipecat.audio.vad.vad_analyzer import VADParams, VADState
from pipecat.audio.volume import AudioVolumeTracker
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    SpeechControlParamsFrame,
    StartFrame,
    VADParamsUpdateFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voice.turn_end import CallerPausedFrame, CommitTurnFrame, EarlyEndOfTurnFrame

RECEIVED_AT = "received_at"  # frame.metadata key: time.monotonic() when a transport received the audio
WINDOW = 256  # samples per Silero window at 8 kHz
CONTEXT = 32  # samples of the previous window Silero sees before each window
RESET_EVERY = 2.0  # seconds of audio between recurrent-state resets (pipecat's rule, only in clear silence)
RESET_QUIET_CONFIDENCE, RESET_QUIET_WINDOWS = 0.1, 5


@dataclass
class CallerStoppedSpeakingFrame(VADUserStoppedSpeakingFrame):
    """The VAD's end of speech, in `time.monotonic()` seconds: `speech_ended_at` when the last voiced audio
    arrived, `detected_at` when the VAD decided the caller had stopped (`stop_secs` of silence later, plus lag)."""

    speech_ended_at: float | None = None
    detected_at: float = field(default_factory=time.monotonic)
    early: bool = False  # ended at a short pause: the words were a complete answer (voice/turn_end.py)


class SileroStream:
    """One call's Silero state (recurrent state, context, volume), scored by the shared engine."""

    def __init__(self) -> None:
        self.volume = AudioVolumeTracker()
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)


@dataclass
class _Job:
    stream: SileroStream
    window: bytes
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class SileroEngine:
    """One Silero ONNX session (8 kHz) for the process; windows waiting at once are scored in one batch."""

    def __init__(self) -> None:
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = options.intra_op_num_threads = 1
        path = resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
        self._session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"], sess_options=options
        )
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._sample_rate = np.array(8000, dtype=np.int64)
        self.batches = 0  # session runs so far
        self.windows = 0  # windows scored so far
        threading.Thread(target=self._work, name="silero", daemon=True).start()

    async def score(self, stream: SileroStream, window: bytes) -> tuple[float, float]:
        """(speech confidence, smoothed-input volume) of one 256-sample window of `stream`. A stream must await
        each window before sending the next (its state moves from one to the next)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(_Job(stream, window, future, loop))
        return await future

    def _work(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            while not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            results = self._run(jobs)
            by_loop: dict[asyncio.AbstractEventLoop, list] = {}
            for job, result in zip(jobs, results, strict=True):
                by_loop.setdefault(job.loop, []).append((job.future, result))
            for loop, done in by_loop.items():
                loop.call_soon_threadsafe(_resolve, done)

    def _run(self, jobs: list[_Job]) -> list[tuple[float, float]]:
        samples = [np.frombuffer(job.window, np.int16).astype(np.float32) / 32768.0 for job in jobs]
        x = np.stack([np.concatenate((job.stream.context, s)) for job, s in zip(jobs, samples, strict=True)])
        state = np.concatenate([job.stream.state for job in jobs], axis=1)
        out, new_state = self._session.run(None, {"input": x, "state": state, "sr": self._sample_rate})
        self.batches += 1
        self.windows += len(jobs)
        results = []
        for i, job in enumerate(jobs):
            job.stream.state = new_state[:, i : i + 1, :]
            job.stream.context = x[i, -CONTEXT:]
            job.stream.volume.update(job.window, 8000)
            results.append((float(out[i, 0]), job.stream.volume.volume))
        return results


def _resolve(done: list[tuple[asyncio.Future, tuple[float, float]]]) -> None:
    for future, result in done:
        if not future.done():
            future.set_result(result)


_engine: SileroEngine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> SileroEngine:
    """The process's Silero engine (made on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = SileroEngine()
        return _engine


class SpeechDetector:
    """pipecat's VAD rules (confidence and volume thresholds, start/stop delays) over one call's windows."""

    def __init__(self, engine: SileroEngine, params: VADParams) -> None:
        self._engine = engine
        self._stream = SileroStream()
        self._buffer = bytearray()
        self._previous_volume = 0.0
        self._since_reset = 0
        self._quiet_windows = 0
        self.last_voiced_at: float | None = None  # arrival of the audio that completed the last voiced window
        self.set_params(params)

    def set_params(self, params: VADParams) -> None:
        """New thresholds and delays; like pipecat, the state restarts quiet."""
        self.params = params
        window_seconds = WINDOW / 8000
        self._start_windows = round(params.start_secs / window_seconds)
        self._stop_windows = round(params.stop_secs / window_seconds)
        self._starting = self._stopping = 0
        self.state = VADState.QUIET

    @property
    def silent_seconds(self) -> float:
        """How long the caller has been silent in the current utterance (0 unless the VAD is stopping)."""
        return self._stopping * WINDOW / 8000 if self.state is VADState.STOPPING else 0.0

    async def feed(self, audio: bytes, received_at: float) -> VADState:
        """Add 8 kHz audio received at `received_at`; returns the state after its complete windows."""
        self._buffer += audio
        while len(self._buffer) >= WINDOW * 2:
            window = bytes(self._buffer[: WINDOW * 2])
            del self._buffer[: WINDOW * 2]
            confidence, volume = await self._engine.score(self._stream, window)
            volume = exp_smoothing(volume, self._previous_volume, 0.2)
            self._previous_volume = volume
            speaking = confidence >= self.params.confidence and volume >= self.params.min_volume
            if speaking:
                self.last_voiced_at = received_at
            self._step(speaking)
            self._maybe_reset(confidence)
        if self.state is VADState.STARTING and self._starting >= self._start_windows:
            self.state, self._starting = VADState.SPEAKING, 0
        if self.state is VADState.STOPPING and self._stopping >= self._stop_windows:
            self.state, self._stopping = VADState.QUIET, 0
        return self.state

    def _step(self, speaking: bool) -> None:
        match (self.state, speaking):
            case (VADState.QUIET, True):
                self.state, self._starting = VADState.STARTING, 1
            case (VADState.STARTING, True):
                self._starting += 1
            case (VADState.STOPPING, True):
                self.state, self._stopping = VADState.SPEAKING, 0
            case (VADState.STARTING, False):
                self.state, self._starting = VADState.QUIET, 0
            case (VADState.SPEAKING, False):
                self.state, self._stopping = VADState.STOPPING, 1
            case (VADState.STOPPING, False):
                self._stopping += 1

    def _maybe_reset(self, confidence: float) -> None:
        """Silero's recurrent state drifts in long silence: clear it every ~2 s of clearly quiet audio."""
        self._since_reset += 1
        self._quiet_windows = self._quiet_windows + 1 if confidence < RESET_QUIET_CONFIDENCE else 0
        if (
            self._since_reset * WINDOW >= RESET_EVERY * 8000
            and self.state is VADState.QUIET
            and self._quiet_windows >= RESET_QUIET_WINDOWS
        ):
            self._stream.reset()
            self._since_reset = 0


class CallerVAD(FrameProcessor):
    """A call's VAD on the shared Silero engine (8 kHz input). Takes `VADParamsUpdateFrame` and announces its
    parameters with `SpeechControlParamsFrame`, like pipecat's `VADProcessor`; if the audio stops while the caller
    speaks (RTP gone quiet), the utterance ends after `idle_timeout` seconds. With an `EarlyEndOfTurnFrame` it
    announces each pause of that length in an utterance (`CallerPausedFrame`) and ends the utterance at once on a
    `CommitTurnFrame` that comes while the caller is still silent (voice/turn_end.py)."""

    def __init__(
        self, params: VADParams, engine: SileroEngine | None = None, idle_timeout: float = 1.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self._detector = SpeechDetector(engine or shared_engine(), params)
        self._speaking = False
        self._idle_timeout = idle_timeout
        self._last_audio = time.monotonic()
        self._idle_watch: asyncio.Task | None = None
        self._early_pause: float | None = None  # seconds: the current step's early end of turn
        self._pause_announced = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, EarlyEndOfTurnFrame):
            self._early_pause = frame.pause
            return
        if isinstance(frame, CommitTurnFrame):
            await self._commit()
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.broadcast_frame(SpeechControlParamsFrame, vad_params=self._detector.params)
            self._idle_watch = self.create_task(self._watch_idle())
        elif isinstance(frame, VADParamsUpdateFrame):
            self._detector.set_params(frame.params)
            await self.broadcast_frame(SpeechControlParamsFrame, vad_params=frame.params)
        elif isinstance(frame, InputAudioRawFrame):
            await self._audio(frame)
        elif isinstance(frame, (EndFrame, CancelFrame)):
            self._speaking = False
            if self._idle_watch:
                await self.cancel_task(self._idle_watch)
                self._idle_watch = None

    async def _audio(self, frame: InputAudioRawFrame) -> None:
        self._last_audio = time.monotonic()
        received_at = frame.metadata.get(RECEIVED_AT) or self._last_audio
        state = await self._detector.feed(frame.audio, received_at)
        if state is VADState.SPEAKING and not self._speaking:
            self._speaking = True
            await self.broadcast_frame(
                VADUserStartedSpeakingFrame, start_secs=self._detector.params.start_secs
            )
        elif state is VADState.QUIET and self._speaking:
            await self._stopped()
        elif state is VADState.SPEAKING:
            self._pause_announced = False
        elif self._speaking and not self._pause_announced and self._paused_long_enough():
            self._pause_announced = True
            await self.push_frame(CallerPausedFrame())

    def _paused_long_enough(self) -> bool:
        return bool(self._early_pause) and self._detector.silent_seconds >= self._early_pause

    async def _commit(self) -> None:
        """End the utterance now if the caller is still silent after the pause that prompted the commit."""
        if self._speaking and self._detector.state is VADState.STOPPING:
            self._detector.set_params(self._detector.params)  # starts quiet again
            await self._stopped(early=True)

    async def _stopped(self, early: bool = False) -> None:
        self._speaking = False
        self._pause_announced = False
        await self.broadcast_frame(
            CallerStoppedSpeakingFrame,
            stop_secs=self._detector.params.stop_secs,
            speech_ended_at=self._detector.last_voiced_at,
            early=early,
        )

    async def _watch_idle(self) -> None:
        while True:
            remaining = self._last_audio + self._idle_timeout - time.monotonic()
            await asyncio.sleep(remaining if remaining > 0 else self._idle_timeout)
            if self._speaking and time.monotonic() - self._last_audio >= self._idle_timeout:
                self._detector.set_params(self._detector.params)  # starts quiet again
                await self._stopped()
