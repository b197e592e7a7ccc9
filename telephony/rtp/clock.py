"""One 20 ms pacing clock per event loop, shared by every RTP session of the process."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Protocol

PTIME = 0.020


class Paced(Protocol):
    def tick(self, now: float) -> None: ...


class PacingClock:
    """Calls `tick()` on every registered session at absolute 20 ms deadlines.

    A single timer for all calls keeps wake-ups at 50/s whatever the call count; deadlines are absolute,
    so lateness does not accumulate. After a stall longer than 100 ms it re-synchronizes instead of bursting.
    """

    def __init__(self) -> None:
        self._sessions: dict[int, Paced] = {}
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.late_ticks = 0

    def add(self, session: Paced) -> None:
        self._sessions[id(session)] = session
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-pacing-clock")

    def remove(self, session: Paced) -> None:
        self._sessions.pop(id(session), None)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while self._sessions:
            deadline += PTIME
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:
                self.late_ticks += 1
                deadline = loop.time()
            now = loop.time()
            self.ticks += 1
            for session in list(self._sessions.values()):
                try:
                    session.tick(now)
                except Exception:  # one broken session must not stop the others
                    self.remove(session)

    async def close(self) -> None:
        self._sessions.clear()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


_clocks: dict[int, tuple[asyncio.AbstractEventLoop, PacingClock]] = {}


def shared_clock() -> PacingClock:
    """The pacing clock of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    entry = _clocks.get(id(loop))
    if entry is None or entry[0] is not loop:
        for key, (other, _) in list(_clocks.items()):
            if other.is_closed():
                del _clocks[key]
        entry = (loop, PacingClock())
        _clocks[id(loop)] = entry
    return entry[1]


def use_realtime_priority(priority: int = 10) -> bool:
    """Put the calling thread (run it in the event-loop thread) under SCHED_FIFO, as media servers do.

    On a loaded host, ordinary scheduling delays the 20 ms wake-ups by 30-100 ms; real-time priority
    removes that. Needs CAP_SYS_NICE (root or `setcap`); returns False when not permitted.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, OSError, AttributeError):
        return False
    return True
