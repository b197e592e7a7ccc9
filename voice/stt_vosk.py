"""Streaming Vosk speech recognition as a pipecat STT service.

One `vosk.Model` per process and model path (`load_model`); a call takes a warm recogniser from the process's
`RecognizerPool` (voice/recognizers.py) when it is built (or one warmed while its greeting plays), resets it between utterances, swaps it for one of the
new grammar when the dialog's hints change and gives it back when the call ends — never rebuilt per utterance,
never shared by two live utterances. Audio reaches the recognizer only while the VAD says the caller
speaks (plus a short pre-roll, since the VAD confirms speech late), in chunks of ~160 ms, on the shared
`RecognitionExecutor`: the event loop never waits for Kaldi. Partial results become `InterimTranscriptionFrame`s;
when the VAD reports the end of speech the recognizer is finalised and one `UtteranceTranscriptionFrame`
(`finalized=True`, with the audio time the speech ended) carries the whole utterance (empty text if nothing was
recognised). At a `CallerPausedFrame` the audio so far is recognised and, if the step's test (`EarlyEndOfTurnFrame`)
finds the words a complete answer, a `CommitTurnFrame` asks the VAD to end the utterance now (voice/turn_end.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import vosk
from pipecat.frames.frames import (
    Frame,
    InterimTranscriptionFrame,
    SystemFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import STTService
from pipecat.utils.time import time_now_iso8601

from voice.recognizers import RecognizerKey, executor, load_model, pool
from voice.turn_end import CallerPausedFrame, CommitTurnFrame, CompleteAnswer, EarlyEndOfTurnFrame
from voice.vad import CallerStoppedSpeakingFrame

FINAL_LATENCY = (
    0.05  # seconds from the VAD's end of speech to the final result (measured ~25 ms, small models)
)


def supports_grammar(path: Path) -> bool:
    """Whether the model can take a runtime grammar (it ships a lookahead graph instead of a static HCLG)."""
    graph = path / "graph"
    return (graph / "HCLr.fst").exists() and (graph / "Gr.fst").exists()


@dataclass
class SpeechHintsFrame(SystemFrame):
    """Phrases the caller is expected to say next (pushed upstream by the dialog). Empty: free recognition."""

    phrases: Sequence[str] = field(default_factory=tuple)


@dataclass
class UtteranceTranscriptionFrame(TranscriptionFrame):
    """The final transcript of one utterance, with the VAD's times (`time.monotonic()`; None when the VAD did
    not say): `speech_ended_at` when its last voiced audio arrived, `stop_detected_at` when the VAD reported it."""

    speech_ended_at: float | None = None
    stop_detected_at: float | None = None
    early_end: bool = False  # ended at a short pause as a complete answer


class VoskSTTService(STTService):
    """Vosk recognition of one call's audio (8 kHz mono 16-bit unless the model says otherwise)."""

    def __init__(
        self,
        model_path: Path,
        *,
        sample_rate: int = 8000,
        chunk_seconds: float = 0.16,
        preroll_seconds: float = 0.5,
        **kwargs,
    ) -> None:
        super().__init__(
            sample_rate=sample_rate,
            audio_passthrough=False,
            ttfs_p99_latency=FINAL_LATENCY,
            settings=STTSettings(model=str(model_path), language=None),
            **kwargs,
        )
        self._model_path = model_path.resolve()
        load_model(self._model_path)
        self._grammar_ok = supports_grammar(self._model_path)
        self._rate = sample_rate
        self._chunk_bytes = int(sample_rate * chunk_seconds) * 2
        self._preroll_bytes = int(sample_rate * preroll_seconds) * 2
        # a cancelled await can leave a thread running on the recogniser: the lock keeps it to one thread
        self._lock = threading.Lock()
        self._hints: tuple[str, ...] = ()
        self._utterance_key = self._key()
        # the call's recogniser: an idle one, or one warming up while the call starts
        self._prepared: Future[vosk.KaldiRecognizer] | None = pool.prepare(self._utterance_key)
        self._recognizer: vosk.KaldiRecognizer | None = None
        self._recognizer_key: RecognizerKey | None = self._utterance_key
        self._buffer = bytearray()
        self._speaking = False
        self._said: list[str] = []  # segments Vosk's own endpointer closed within the turn
        self._partial = ""
        self._is_complete: CompleteAnswer | None = None  # the step's test for an early end of turn

    @property
    def grammar_supported(self) -> bool:
        return self._grammar_ok

    def _key(self) -> RecognizerKey:
        return RecognizerKey.for_hints(self._model_path, self._rate, self._hints, self._grammar_ok)

    def _accept(self, key: RecognizerKey, audio: bytes) -> tuple[str, str]:
        """Feed audio; returns (closed segment text, current partial text)."""
        with self._lock:
            recognizer = self._utterance_recognizer(key)
            if recognizer.AcceptWaveform(audio):
                return json.loads(recognizer.Result()).get("text", ""), ""
            return "", json.loads(recognizer.PartialResult()).get("partial", "")

    def _finish(self, key: RecognizerKey, audio: bytes) -> tuple[str, dict]:
        """The utterance's final result; the recogniser is reset for the call's next utterance."""
        with self._lock:
            recognizer = self._utterance_recognizer(key)
            if audio:
                recognizer.AcceptWaveform(audio)
            result = json.loads(recognizer.FinalResult())
            recognizer.Reset()  # finalised first, so nothing of this utterance stays (see recognizers.clear)
            return result.get("text", ""), result

    def _utterance_recognizer(self, key: RecognizerKey) -> vosk.KaldiRecognizer:
        if self._prepared is not None and key == self._recognizer_key:
            self._recognizer, self._prepared = self._prepared.result(), None
        if self._recognizer is None or key != self._recognizer_key:
            self._give_back()  # another grammar: one of the pool's for it
            self._recognizer, self._recognizer_key = pool.acquire(key), key
        return self._recognizer

    def _give_back(self) -> None:
        """Return the call's recogniser (or the one still warming up for it) to the pool."""
        key, prepared = self._recognizer_key, self._prepared
        if prepared is not None and key is not None:
            prepared.add_done_callback(lambda done: pool.release(key, done.result()))
        elif self._recognizer is not None and key is not None:
            pool.release(key, self._recognizer)
        self._recognizer = self._recognizer_key = self._prepared = None

    def _give_back_locked(self) -> None:
        with self._lock:
            self._give_back()

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        self._buffer += audio
        if not self._speaking:
            del self._buffer[: max(0, len(self._buffer) - self._preroll_bytes)]
            return
        while len(self._buffer) >= self._chunk_bytes:
            chunk = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            if interim := await self._recognise(chunk):
                yield interim

    async def _recognise(self, audio: bytes) -> InterimTranscriptionFrame | None:
        """Feed audio of the current utterance; a new partial result, if the words changed."""
        closed, partial = await executor.run(self._accept, self._utterance_key, audio)
        if closed:
            self._said.append(closed)
        text = " ".join([*self._said, partial]).strip()
        if not text or text == self._partial:
            return None
        self._partial = text
        return InterimTranscriptionFrame(text=text, user_id="", timestamp=time_now_iso8601())

    async def _paused(self) -> None:
        """The caller paused: recognise what is buffered; a complete answer ends the turn now."""
        if not (self._speaking and self._is_complete):
            return
        audio = bytes(self._buffer)
        self._buffer.clear()
        if audio and (interim := await self._recognise(audio)):
            await self.push_frame(interim)
        if self._partial and await self._is_complete(self._partial):
            await self.push_frame(CommitTurnFrame(), FrameDirection.UPSTREAM)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, SpeechHintsFrame):
            self._hints = tuple(frame.phrases)
            return
        if isinstance(frame, EarlyEndOfTurnFrame):
            self._is_complete = frame.is_complete if frame.pause else None
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, CallerPausedFrame):
            await self._paused()
            return
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._speaking = True
            self._utterance_key = self._key()  # hints that change mid-utterance apply to the next one
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._speaking:
            await self._end_utterance(frame if isinstance(frame, CallerStoppedSpeakingFrame) else None)

    async def cleanup(self) -> None:
        """The call is over: its recogniser goes back to the pool (reset, also after a hang-up mid-utterance)."""
        await super().cleanup()
        await executor.run(self._give_back_locked)

    async def _end_utterance(self, stop: CallerStoppedSpeakingFrame | None) -> None:
        self._speaking = False
        rest = bytes(self._buffer)
        self._buffer.clear()
        last, result = await executor.run(self._finish, self._utterance_key, rest)
        text = " ".join([*self._said, last]).strip()
        self._said, self._partial = [], ""
        await self.push_frame(
            UtteranceTranscriptionFrame(
                text=text,
                user_id="",
                timestamp=time_now_iso8601(),
                result=result,
                finalized=True,
                speech_ended_at=stop.speech_ended_at if stop else None,
                stop_detected_at=stop.detected_at if stop else None,
                early_end=stop.early if stop else False,
            )
        )
