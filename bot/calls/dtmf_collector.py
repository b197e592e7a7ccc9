"""DTMF collection: the caller's keys → one digit string per answer (like pipecat's `DTMFAggregator`).

Keys closer together than the digit gap form one answer; the terminator key (`#`) ends it at once and stays in
it (the dialog reads it). The answer goes to `on_digits(digits, last_key_at)`, `last_key_at` being the
`time.monotonic()` of its last key (the end of the caller's input for the turn's timing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.calls.call_timers import OneShotTimer, Spawn

TERMINATOR = "#"


class DtmfCollector:
    def __init__(
        self,
        digit_gap: float,
        on_digits: Callable[[str, float], None],
        spawn: Spawn = asyncio.create_task,
        terminator: str = TERMINATOR,
    ) -> None:
        self.digit_gap = digit_gap
        self.terminator = terminator
        self._on_digits = on_digits
        self._gap = OneShotTimer(spawn)
        self._digits = ""
        self._last_key_at = 0.0

    @property
    def pending(self) -> bool:
        """Keys were pressed and their answer is not complete yet."""
        return bool(self._digits)

    def key(self, key: str) -> None:
        self._digits += key
        self._last_key_at = time.monotonic()
        if key == self.terminator:
            self.flush()
        else:
            self._gap.start(self.digit_gap, self._gap_passed)

    def flush(self) -> None:
        """The keys so far are one answer (none pressed: nothing happens)."""
        self._gap.cancel()
        digits, self._digits = self._digits, ""
        if digits:
            self._on_digits(digits, self._last_key_at)

    def stop(self) -> None:
        """The call is over: keys still waiting for the gap are dropped."""
        self._gap.cancel()
        self._digits = ""

    async def _gap_passed(self) -> None:
        self.flush()
