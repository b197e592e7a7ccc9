"""Local speech synthesis as a pipecat processor: Piper voices from local files, espeak-ng as the no-download
fallback.

`SpeechSynthesisService` takes `TTSSpeakFrame`s, splits the text at clause punctuation (the first clause is
synthesised alone, so the caller hears audio after one short clause rather than a whole sentence), synthesises each
clause on a thread pool, resamples to the line rate (8 kHz) with soxr, applies the volume and pushes 40 ms
`TTSAudioRawFrame`s between `TTSStartedFrame` and `TTSStoppedFrame`. An interruption cancels the rest of the reply.
Digits still in a text (a configured busy message, a CRM value) are written out as words in the service's language
first (`voice.spoken.normalise_text`): a voice would read "до 15 декабря" as "до пятнадцать декабря".
Synthesised clauses are kept in one cache for the whole process (every call's service shares it), so a script's
fixed clauses are synthesised once per process and only the clauses with a contact's own values per call.

A voice is never downloaded here: `PiperSynthesizer` loads an existing `.onnx` file (pipecat's own Piper service
would fetch a missing voice from the internet; see `voice.models` for explicit, verified downloads).
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import threading
import time
import wave
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soxr
from pipecat.frames.frames import (
    Frame,
    SystemFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voice.spoken import normalise_text

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tts")
CACHE_CLAUSES = 1024  # line-rate audio of ~1 s a clause: ~16 KB each
_Key = tuple["Synthesizer", int, float, str]  # voice, line rate, volume, clause
_cache: OrderedDict[_Key, bytes] = OrderedDict()
_cache_lock = threading.Lock()
_DIGIT = re.compile(r"\d")
_CLAUSE_END = re.compile(r"(?<=[.!?;:,…])\s+|\s+[—–]\s+")
SILENCE_LEVEL = 100  # |sample| at or below this is the engine's padding, not speech
SENTENCE_PAUSE = 0.35  # seconds after . ! ? …
CLAUSE_PAUSE = 0.15  # seconds after , ; : —


class Synthesizer(Protocol):
    """Text to 16-bit mono PCM at `sample_rate` (blocking; called on a worker thread)."""

    sample_rate: int

    def synthesize(self, text: str) -> bytes: ...


class PiperSynthesizer:
    """A Piper voice loaded from a local `.onnx` (its `.onnx.json` config next to it). Thread-safe."""

    def __init__(self, model: Path) -> None:
        from piper import PiperVoice  # heavy import, only when a Piper voice is used

        if not model.exists():
            raise FileNotFoundError(f"Piper voice {model} does not exist")
        self.voice = PiperVoice.load(model)
        self.sample_rate: int = self.voice.config.sample_rate

    def synthesize(self, text: str) -> bytes:
        return b"".join(chunk.audio_int16_bytes for chunk in self.voice.synthesize(text))


class EspeakSynthesizer:
    """espeak-ng through its command line (`espeak-ng -v ru --stdout`): robotic but intelligible, no model files."""

    def __init__(self, voice: str = "ru", executable: str = "espeak-ng") -> None:
        self.voice = voice
        self.executable = executable
        self.sample_rate = 22050

    def synthesize(self, text: str) -> bytes:
        wav = subprocess.run(
            [self.executable, "-v", self.voice, "--stdout", text], capture_output=True, check=True, timeout=30
        ).stdout
        with wave.open(io.BytesIO(wav)) as reader:
            self.sample_rate = reader.getframerate()
            return reader.readframes(reader.getnframes())


def split_clauses(text: str) -> list[str]:
    """Clauses in speaking order; punctuation stays with its clause ("10,5" is not split: no space follows)."""
    return [part.strip() for part in _CLAUSE_END.split(text) if part.strip()]


def to_line_audio(pcm: bytes, in_rate: int, out_rate: int, volume: float) -> bytes:
    """Resample 16-bit mono PCM with soxr and scale it by `volume` (clipped to 16 bits)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    if in_rate != out_rate and samples.size:
        samples = soxr.resample(samples, in_rate, out_rate)
    return np.clip(samples * volume, -32768, 32767).astype(np.int16).tobytes()


def with_pause(pcm: bytes, clause: str, rate: int) -> bytes:
    """The clause's audio without the engine's leading/trailing silence, followed by a pause that fits its
    punctuation (engines pad every call differently; clause-by-clause synthesis would otherwise stutter)."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    voiced = np.flatnonzero(np.abs(samples) > SILENCE_LEVEL)
    if voiced.size:
        samples = samples[max(0, voiced[0] - rate // 100) : voiced[-1] + rate // 100]
    pause = SENTENCE_PAUSE if clause.rstrip()[-1:] in ".!?…" else CLAUSE_PAUSE
    return samples.tobytes() + bytes(int(rate * pause) * 2)


@dataclass
class SpeechAudioStartedFrame(SystemFrame):
    """Pushed upstream when a reply's first synthesised audio leaves the TTS (`at`: `time.monotonic()`)."""

    at: float = 0.0


class SpeechSynthesisService(FrameProcessor):
    """Speaks `TTSSpeakFrame` text in `language` (ru/en) with a `Synthesizer` at the line's sample rate."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        *,
        language: str,
        sample_rate: int = 8000,
        volume: float = 0.7,
        frame_seconds: float = 0.04,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.synthesizer = synthesizer
        self.language = language
        self.sample_rate = sample_rate
        self.volume = volume
        self._frame_bytes = int(sample_rate * frame_seconds) * 2
        self._replies = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSSpeakFrame) and direction is FrameDirection.DOWNSTREAM:
            await self._speak(frame.text)
        else:
            await self.push_frame(frame, direction)

    async def clause_audio(self, clause: str) -> bytes:
        """Line-rate audio of one clause (from the process's cache, or synthesised on a worker thread)."""
        key = (self.synthesizer, self.sample_rate, self.volume, clause)
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
        audio = await asyncio.get_running_loop().run_in_executor(_pool, self._synthesize, clause)
        with _cache_lock:
            _cache[key] = audio
            while len(_cache) > CACHE_CLAUSES:
                _cache.popitem(last=False)
        return audio

    def _synthesize(self, clause: str) -> bytes:
        pcm = self.synthesizer.synthesize(clause)
        audio = to_line_audio(pcm, self.synthesizer.sample_rate, self.sample_rate, self.volume)
        return with_pause(audio, clause, self.sample_rate)

    async def _speak(self, text: str) -> None:
        self._replies += 1
        context = f"reply-{self._replies}"
        started = False
        if _DIGIT.search(text):
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(_pool, normalise_text, text, self.language)
        for clause in split_clauses(text):
            audio = await self.clause_audio(clause)
            if not started:
                started = True
                await self.push_frame(TTSStartedFrame(context_id=context))
                await self.push_frame(SpeechAudioStartedFrame(at=time.monotonic()), FrameDirection.UPSTREAM)
            for i in range(0, len(audio), self._frame_bytes):
                await self.push_frame(
                    TTSAudioRawFrame(
                        audio=audio[i : i + self._frame_bytes],
                        sample_rate=self.sample_rate,
                        num_channels=1,
                        context_id=context,
                    )
                )
        if started:
            await self.push_frame(TTSStoppedFrame(context_id=context))
