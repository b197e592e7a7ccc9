"""Streaming Vosk speech recognition as a pipecat STT service.

One `vosk.Model` per process and model path (`load_model`), shared by every call; one `KaldiRecognizer` per
call. Audio reaches the recognizer only while the VAD says the caller speaks (plus a short pre-roll, since the VAD
confirms speech late), in chunks of ~160 ms, on a thread pool: the event loop never waits for Kaldi. Partial
results become `InterimTranscriptionFrame`s; when the VAD reports the end of speech the recognizer is finalised
and one `TranscriptionFrame(finalized=True)` carries the whole utterance (empty text if nothing was recognised).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
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

vosk.SetLogLevel(-1)
FINAL_LATENCY = (
    0.05  # seconds from the VAD's end of speech to the final result (measured ~25 ms, small models)
)

_models: dict[Path, vosk.Model] = {}
_models_lock = threading.Lock()
# Kaldi releases the GIL: a few threads serve every call of the process.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vosk")


def load_model(path: Path) -> vosk.Model:
    """The process-wide model for `path` (loaded once; never downloads: Vosk's `lang=` lookup is not used)."""
    path = path.resolve()
    with _models_lock:
        if path not in _models:
            if not (path / "am" / "final.mdl").exists():
                raise FileNotFoundError(f"{path} is not a Vosk model directory (no am/final.mdl)")
            _models[path] = vosk.Model(str(path))
        return _models[path]


def supports_grammar(path: Path) -> bool:
    """Whether the model can take a runtime grammar (it ships a lookahead graph instead of a static HCLG)."""
    graph = path / "graph"
    return (graph / "HCLr.fst").exists() and (graph / "Gr.fst").exists()


@dataclass
class SpeechHintsFrame(SystemFrame):
    """Phrases the caller is expected to say next (pushed upstream by the dialog). Empty: free recognition."""

    phrases: Sequence[str] = field(default_factory=tuple)


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
        self._model = load_model(model_path)
        self._grammar_ok = supports_grammar(model_path.resolve())
        self._rate = sample_rate
        self._chunk_bytes = int(sample_rate * chunk_seconds) * 2
        self._preroll_bytes = int(sample_rate * preroll_seconds) * 2
        self._lock = (
            threading.Lock()
        )  # a cancelled await can leave a thread running: never share the recognizer
        self._hints: tuple[str, ...] = ()
        self._recognizer: vosk.KaldiRecognizer | None = (
            None  # made on the worker thread (big models: ~100 ms)
        )
        self._buffer = bytearray()
        self._speaking = False
        self._said: list[str] = []  # segments Vosk's own endpointer closed within the turn
        self._partial = ""

    @property
    def grammar_supported(self) -> bool:
        return self._grammar_ok

    def _new_recognizer(self) -> vosk.KaldiRecognizer:
        if self._hints and self._grammar_ok:
            grammar = json.dumps([*self._hints, "[unk]"], ensure_ascii=False)
            recognizer = vosk.KaldiRecognizer(self._model, self._rate, grammar)
        else:
            recognizer = vosk.KaldiRecognizer(self._model, self._rate)
        recognizer.SetWords(True)
        return recognizer

    def _accept(self, audio: bytes) -> tuple[str, str]:
        """Feed audio; returns (closed segment text, current partial text)."""
        with self._lock:
            recognizer = self._ready_recognizer()
            if recognizer.AcceptWaveform(audio):
                return json.loads(recognizer.Result()).get("text", ""), ""
            return "", json.loads(recognizer.PartialResult()).get("partial", "")

    def _finish(self, audio: bytes) -> tuple[str, dict]:
        with self._lock:
            recognizer = self._ready_recognizer()
            if audio:
                recognizer.AcceptWaveform(audio)
            result = json.loads(recognizer.FinalResult())
            return result.get("text", ""), result

    def _ready_recognizer(self) -> vosk.KaldiRecognizer:
        if self._recognizer is None:
            self._recognizer = self._new_recognizer()
        return self._recognizer

    async def _in_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        self._buffer += audio
        if not self._speaking:
            del self._buffer[: max(0, len(self._buffer) - self._preroll_bytes)]
            return
        while len(self._buffer) >= self._chunk_bytes:
            chunk = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            closed, partial = await self._in_thread(self._accept, chunk)
            if closed:
                self._said.append(closed)
            text = " ".join([*self._said, partial]).strip()
            if text and text != self._partial:
                self._partial = text
                yield InterimTranscriptionFrame(text=text, user_id="", timestamp=time_now_iso8601())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, SpeechHintsFrame):
            self._hints = tuple(frame.phrases)
            if self._grammar_ok and not self._speaking:
                with self._lock:
                    self._recognizer = None  # the next utterance gets a recognizer with this grammar
            return
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._speaking = True
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._speaking:
            await self._end_utterance()

    async def _end_utterance(self) -> None:
        self._speaking = False
        rest = bytes(self._buffer)
        self._buffer.clear()
        last, result = await self._in_thread(self._finish, rest)
        text = " ".join([*self._said, last]).strip()
        self._said, self._partial = [], ""
        await self.push_frame(
            TranscriptionFrame(
                text=text, user_id="", timestamp=time_now_iso8601(), result=result, finalized=True
            )
        )
