"""Agent availability: one `AgentBoard` per process says, per queue, which agents are free, busy, ringing or
unreachable, and who is waiting in the queue's line.

Two sources feed it: the robot's own transfers (`ringing` while a warm leg rings, `busy` while bridged or while a
blind REFER runs, `idle` when that ends) and the PBX (`reachable`, from SIP OPTIONS probing through the registrar,
bot/handoff/probe.py). An agent the robot is not calling is `free` when the registrar reaches it, `unreachable`
when it does not, and `unknown` before the first probe (or with probing off). Waiters are told of every change by
`changed()` / `subscribe()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.config import HandoffSettings


class AgentState(StrEnum):
    FREE = "free"  # reachable, and the robot has no call with this agent
    BUSY = "busy"  # on a call the robot bridged or transferred
    RINGING = "ringing"  # the robot is calling this agent
    UNREACHABLE = "unreachable"  # the registrar does not reach the agent (not registered, 404/480/timeout)
    UNKNOWN = "unknown"  # not probed yet, or probing is off


class _Activity(StrEnum):
    """What the robot itself is doing with an agent."""

    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"


@dataclass(frozen=True)
class AgentStatus:
    """One agent as the board sees it now; `since` is when its state last changed."""

    name: str
    label: str
    target: str
    state: AgentState
    since: datetime

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "target": self.target,
            "state": self.state.value,
            "since": self.since.isoformat(),
        }


@dataclass
class _Agent:
    name: str
    label: str
    target: str
    activity: _Activity = _Activity.IDLE
    reachable: bool | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def state(self) -> AgentState:
        if self.activity is _Activity.RINGING:
            return AgentState.RINGING
        if self.activity is _Activity.BUSY:
            return AgentState.BUSY
        if self.reachable is None:
            return AgentState.UNKNOWN
        return AgentState.FREE if self.reachable else AgentState.UNREACHABLE


class AgentBoard:
    """Every declared agent's state and every queue's line of waiting customers (one board per process)."""

    def __init__(self, settings: HandoffSettings) -> None:
        self.settings = settings
        now = datetime.now(UTC)
        self._agents = {
            name: _Agent(name, agent.label or name, agent.target, since=now)
            for name, agent in settings.agents.items()
        }
        self._lines: dict[str, list[str]] = {queue: [] for queue in settings.queues}
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []

    # what the board says

    def queues(self) -> list[str]:
        return list(self.settings.queues)

    def agents(self, queue: str) -> list[AgentStatus]:
        """The agents `queue` names, in its order (empty for an unknown queue or one naming none)."""
        settings = self.settings.queues.get(queue)
        names = settings.agents if settings else []
        return [self._status(self._agents[name]) for name in names if name in self._agents]

    def agent(self, name: str) -> AgentStatus | None:
        agent = self._agents.get(name)
        return self._status(agent) if agent else None

    def named_at(self, target: str) -> str | None:
        """The agent whose SIP target is `target` (a blind queue's REFER target), if one is declared."""
        return next((agent.name for agent in self._agents.values() if agent.target == target), None)

    def free_count(self, queue: str) -> int:
        """Agents of `queue` that are free now (reachable and not on a call of the robot's)."""
        return sum(status.state is AgentState.FREE for status in self.agents(queue))

    def waiting_count(self, queue: str) -> int:
        """Customers waiting in `queue`'s line for an agent now."""
        return len(self._lines.get(queue, []))

    def dialable(self, queue: str) -> list[AgentStatus]:
        """The agents a warm transfer may ring now, in order: free ones, and unknown ones (not probed)."""
        return [s for s in self.agents(queue) if s.state in (AgentState.FREE, AgentState.UNKNOWN)]

    def position(self, queue: str, call_id: str) -> int | None:
        """0 for the head of `queue`'s line; None when the call is not in it."""
        line = self._lines.get(queue, [])
        return line.index(call_id) if call_id in line else None

    # being told of changes

    def changed(self) -> Coroutine[Any, Any, bool]:
        """Awaitable until the next change of any agent or line after this call (not after the first await)."""
        return self._changed.wait()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` on every change (from the event loop); returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # sources: the robot's own transfers

    def ringing(self, name: str) -> None:
        self._update(name, activity=_Activity.RINGING)

    def busy(self, name: str) -> None:
        self._update(name, activity=_Activity.BUSY)

    def idle(self, name: str) -> None:
        """The robot's call with the agent ended (or never reached them)."""
        self._update(name, activity=_Activity.IDLE)

    # sources: the PBX

    def reachable(self, name: str, reachable: bool) -> None:
        self._update(name, reachable=reachable)

    # the queue's line

    def join_line(self, queue: str, call_id: str) -> int:
        """Put the call at the end of `queue`'s line; returns its place (0: head)."""
        line = self._lines.setdefault(queue, [])
        if call_id not in line:
            line.append(call_id)
            self._notify()
        return line.index(call_id)

    def leave_line(self, queue: str, call_id: str) -> None:
        line = self._lines.get(queue, [])
        if call_id in line:
            line.remove(call_id)
            self._notify()

    def _update(self, name: str, **facts: _Activity | bool) -> None:
        """Set what is known of an agent (`activity`, `reachable`); a change of its state restarts `since`, any
        change is notified."""
        agent = self._agents.get(name)
        if agent is None:
            return
        updated = replace(agent, **facts)
        if updated == agent:
            return
        if updated.state is not agent.state:
            updated.since = datetime.now(UTC)
        self._agents[name] = updated
        self._notify()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        for listener in list(self._listeners):
            listener()

    @staticmethod
    def _status(agent: _Agent) -> AgentStatus:
        return AgentStatus(agent.name, agent.label, agent.target, agent.state, agent.since)
