"""The simulated caller's words: pauses written inside them, and where the caller's voice begins and ends.

In a caller's line, " | " is a pause of one second (a caller thinking mid-answer) and `|0.6|` a pause of that many
seconds: "я заплачу |0.6| двадцатого"; a pause is the silence between the voices around it. A `|` that is neither is an error, so a typo never reaches espeak-ng as
words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

PAUSE_SECONDS = 1.0  # " | "
MAX_PAUSE_SECONDS = 10.0
VOICE_LEVEL = 300  # a 16-bit sample above this counts as the caller's voice
# the voice's onset and fade around its loud samples that a line keeps; the synthesiser's ±1 hiss before and after
# them is dropped (the 12-word test model hears "один" in it in some frame alignments)
TAIL = 0.05
_PAUSE = re.compile(r"\s*\|(\d+(?:\.\d+)?)\|\s*|\s\|\s")


class PauseError(ValueError):
    """A caller's line with a malformed pause."""


Words = str
Pause = float


def split_pauses(text: str) -> list[Words | Pause]:
    """`text` as words and pauses in order: "да |0.4| восемь" → ["да", 0.4, "восемь"]; no empty words."""
    parts: list[Words | Pause] = []
    position = 0
    for match in _PAUSE.finditer(text):
        parts += _words(text[position : match.start()], text)
        seconds = float(match.group(1)) if match.group(1) else PAUSE_SECONDS
        if not 0 < seconds <= MAX_PAUSE_SECONDS:
            raise PauseError(
                f"{text!r}: a pause of {match.group(1)} s (expected 0 < seconds ≤ {MAX_PAUSE_SECONDS:g})"
            )
        if not parts or isinstance(parts[-1], float):
            raise PauseError(f"{text!r}: a pause must stand between words")
        parts.append(seconds)
        position = match.end()
    parts += _words(text[position:], text)
    if parts and isinstance(parts[-1], float):
        raise PauseError(f"{text!r}: a pause must stand between words")
    return parts


def _words(chunk: str, text: str) -> list[Words]:
    chunk = chunk.strip()
    if "|" in chunk:
        raise PauseError(f'{text!r}: a stray "|" (a pause is " | " for one second or "|0.6|" for 0.6 s)')
    return [chunk] if chunk else []


def join_with_pauses(parts: list[bytes | Pause], sample_rate: int) -> bytes:
    """16-bit audio of words and pauses in order, each pause exactly that long between the voices around it (the
    silence a synthesiser leaves at the edges of words that meet a pause is cut, so it does not lengthen it); the
    line starts TAIL before its first voice and ends TAIL after its last."""
    out = bytearray()
    for index, part in enumerate(parts):
        if isinstance(part, float):
            out += bytes(round(sample_rate * part) * 2)
            continue
        first, last = voiced_span(part, sample_rate)
        start = (
            round(first * sample_rate) * 2 if index > 0 else max(0, round((first - TAIL) * sample_rate) * 2)
        )
        end = (
            round(last * sample_rate) * 2
            if index < len(parts) - 1
            else round((last + TAIL) * sample_rate) * 2
        )
        out += part[start:end]
    return bytes(out)


def pauses(text: str) -> list[Pause]:
    """The pauses written in `text`, in seconds."""
    return [part for part in split_pauses(text) if isinstance(part, float)]


@dataclass(frozen=True)
class SpokenLine:
    """When a caller's line was on the line (monotonic seconds): sent from `started`, voiced from `first_voice`
    to `last_voice` (the end of its last word)."""

    started: float
    first_voice: float
    last_voice: float


def voiced_span(pcm: bytes, sample_rate: int) -> tuple[float, float]:
    """Seconds from the start of 16-bit `pcm` to its first and past its last sample above VOICE_LEVEL ((0, 0) if
    none)."""
    voiced = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype=np.int16).astype(np.int32)) > VOICE_LEVEL)
    if voiced.size == 0:
        return (0.0, 0.0)
    return (voiced[0] / sample_rate, (voiced[-1] + 1) / sample_rate)


def spoken_line(pcm: bytes, sample_rate: int, started: float) -> SpokenLine:
    """The `SpokenLine` of `pcm` sent from `started`."""
    first, last = voiced_span(pcm, sample_rate)
    return SpokenLine(started=started, first_voice=started + first, last_voice=started + last)
