"""The clocks of a call's turn-taking: a restartable one-shot timer, the no-input wait and the call-length limit.

Timers run as tasks made by a `Spawn` (a processor's `create_task`, so pipecat tracks and cancels them; plain
`asyncio.create_task` in tests). A timer whose action is running is not cancelled by that action itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Spawn = Callable[[Coroutine[Any, Any, None]], asyncio.Task]
Action = Callable[[], Awaitable[None]]


class OneShotTimer:
    """Runs an action once, `seconds` after `start`, unless cancelled or started again first."""

    def __init__(self, spawn: Spawn = asyncio.create_task) -> None:
        self._spawn = spawn
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, seconds: float, action: Action) -> None:
        """(Re)start the countdown: a pending action is dropped."""
        self.cancel()
        self._task = self._spawn(self._fire(seconds, action))

    def cancel(self) -> None:
        if self.running and self._task is not asyncio.current_task():
            self._task.cancel()

    async def _fire(self, seconds: float, action: Action) -> None:
        await asyncio.sleep(seconds)
        await action()


class CallTimers:
    """The no-input timer (counted from the end of a prompt, stopped by any caller input) and the call-length
    limit (counted from the start of the call, lifted when a warm transfer joins an agent)."""

    def __init__(
        self,
        max_call_seconds: float,
        on_no_input: Action,
        on_call_too_long: Action,
        spawn: Spawn = asyncio.create_task,
    ) -> None:
        self.max_call_seconds = max_call_seconds
        self._on_no_input = on_no_input
        self._on_call_too_long = on_call_too_long
        self._no_input = OneShotTimer(spawn)
        self._call_length = OneShotTimer(spawn)

    @property
    def waiting_for_input(self) -> bool:
        return self._no_input.running

    def start_call(self) -> None:
        self._call_length.start(self.max_call_seconds, self._on_call_too_long)

    def wait_for_input(self, seconds: float) -> None:
        """The caller has `seconds` to say or key something (restarts a running wait)."""
        self._no_input.start(seconds, self._on_no_input)

    def stop_waiting(self) -> None:
        self._no_input.cancel()

    def lift_call_limit(self) -> None:
        self._call_length.cancel()

    def stop(self) -> None:
        """The call is over: no timer fires any more."""
        self._no_input.cancel()
        self._call_length.cancel()
