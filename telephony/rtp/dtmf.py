"""RFC 2833 / RFC 4733 telephone events: payload encoding for sending, de-duplicating detector for receiving."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

DIGITS = "0123456789*#ABCD"


def event_code(digit: str) -> int:
    code = DIGITS.find(digit.upper())
    if code < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return code


def event_payload(code: int, end: bool, duration: int, volume: int = 10) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | (volume & 0x3F), duration & 0xFFFF)


def digit_packets(digit: str, duration_ms: int = 100) -> Iterator[tuple[bytes, bool]]:
    """(payload, marker) for every 20 ms tick of one digit: updates, then three end packets."""
    code = event_code(digit)
    steps = max(1, duration_ms // 20)
    for i in range(1, steps + 1):
        yield event_payload(code, False, i * 160), i == 1
    for _ in range(3):
        yield event_payload(code, True, steps * 160), False


class DtmfDetector:
    """Turns a stream of telephone-event packets into digits, once per event.

    An event is identified by its RTP timestamp and code; retransmitted end packets are ignored, and the
    same packet sequence replayed later (a repeated digit) counts again once the previous event ended.
    """

    REPEAT_AFTER = 0.15

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._ended_at: float | None = None

    def feed(self, timestamp: int, payload: bytes, now: float | None = None) -> str | None:
        if len(payload) < 4:
            return None
        now = time.monotonic() if now is None else now
        code, flags = payload[0], payload[1]
        end = bool(flags & 0x80)
        key = (timestamp, code)
        fresh = key != self._key or (
            self._ended_at is not None and not end and now - self._ended_at > self.REPEAT_AFTER
        )
        if fresh:
            self._key, self._ended_at = key, (now if end else None)
            return DIGITS[code] if code < len(DIGITS) else None
        if end and self._ended_at is None:
            self._ended_at = now
        return None
