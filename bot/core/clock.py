"""Injectable time: the dialer reads `now()` and waits with `sleep()`, so tests can run it in simulated time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of aware UTC time."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SimulatedClock:
    """Time that moves only when told to: `advance()` or `sleep()` (which returns at once)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


class ScaledClock:
    """Wall-clock time sped up `scale` times from `anchor` (demos and crash tests: retries in seconds).

    Processes given the same anchor and scale agree on the time, so a restarted dialer continues the timeline.
    """

    def __init__(self, anchor: datetime, scale: float) -> None:
        if anchor.tzinfo is None or scale <= 0:
            raise ValueError("ScaledClock needs an aware anchor and a positive scale")
        self.anchor, self.scale = anchor.astimezone(UTC), scale

    def now(self) -> datetime:
        return self.anchor + (datetime.now(UTC) - self.anchor) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)
