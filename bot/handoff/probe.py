"""Agent reachability from the PBX: a SIP OPTIONS to each declared agent's target through the registrar every
`handoff.probe_seconds`; the answer sets the agent reachable or not on the `AgentBoard`.

A registrar relays OPTIONS for a registered user to its phone, which answers (200, or 405/501 from a phone that
does not do OPTIONS: reachable either way); for a user with no registration it answers 404 or 480 itself; no
answer at all counts as unreachable too. OPTIONS says nothing about a call the agent has from elsewhere: that
would need dialog-event SUBSCRIBE/NOTIFY (RFC 4235) from the PBX, which is not done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from loguru import logger

from bot.handoff.agents import AgentBoard

UNREACHABLE_CODES = frozenset(
    {404, 408, 410, 480, 503, 604}
)  # the registrar speaks: no phone behind the name
PROBE_TIMEOUT = 4.0  # seconds an OPTIONS may take

Options = Callable[[str, float], Awaitable[int | None]]  # `Phone.options`: target → final code or None


def reachable(code: int | None) -> bool:
    """Whether an OPTIONS answer means a phone is registered behind the target."""
    return code is not None and code not in UNREACHABLE_CODES


class AgentProbe:
    """Probes every agent of `board` with `options` every `interval` seconds while started."""

    def __init__(self, board: AgentBoard, options: Options, interval: float) -> None:
        self.board, self.options, self.interval = board, options, interval
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.interval > 0 and self.board.settings.agents and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="agent-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def probe_all(self) -> None:
        """One round: every agent at once."""
        agents = self.board.settings.agents
        codes = await asyncio.gather(
            *(self.options(agent.target, PROBE_TIMEOUT) for agent in agents.values()), return_exceptions=True
        )
        for name, code in zip(agents, codes, strict=True):
            if isinstance(code, BaseException):
                logger.warning(f"agent {name}: OPTIONS failed ({code!r})")
                code = None
            self.board.reachable(name, reachable(code))

    async def _run(self) -> None:
        while True:
            try:
                await self.probe_all()
            except Exception:
                logger.exception("probing the agents failed")
            await asyncio.sleep(self.interval)
