"""Rate-limited reports of input the phone drops (malformed SIP, foreign or broken RTP): a flood of it costs one
log line per interval, with the count, instead of one line per packet."""

from __future__ import annotations

import logging
import time


class DropLog:
    """`drop(source, reason)` counts a dropped message and logs at most one warning per `interval` seconds."""

    def __init__(self, logger: logging.Logger, what: str, interval: float = 10.0) -> None:
        self._log, self._what, self._interval = logger, what, interval
        self._last = float("-inf")
        self._unreported = 0
        self.dropped = 0

    def drop(self, source: tuple[str, int] | None, reason: object) -> None:
        self.dropped += 1
        self._unreported += 1
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        where = f"{source[0]}:{source[1]}" if source else "?"
        self._log.warning(
            "%s dropped from %s: %s (%d dropped since the last report, %d in all)",
            self._what,
            where,
            reason,
            self._unreported,
            self.dropped,
        )
        self._last, self._unreported = now, 0
