"""The queue wait of a warm transfer: when no agent of the queue is free, the customer joins the queue's line on
the `AgentBoard`, hears the expected wait, then hold audio, and is connected as soon as an agent frees (the
board's change event) — for at most the queue's `max_wait_seconds`; a line already `max_waiting` long takes no one.

The expected wait is the queue's handle time (measured: bridged call durations from the hand-off records, or
the queue's `handle_seconds`) times the customer's place in the line (1 for the head) over the agents able to
take calls, in whole minutes (at least one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.handoff.agents import AgentBoard, AgentState
from voice.spoken.values import say_count, say_number

QUEUE_MESSAGE = {
    "ru": "Все специалисты заняты. Примерное время ожидания — {wait}.",
    "en": "All our specialists are busy. The expected wait is about {wait}.",
}


class WaitEnd(StrEnum):
    """How a customer's wait in the line ended."""

    CONNECTED = "connected"  # an agent freed and took the call
    ABANDONED = "abandoned"  # the customer hung up while waiting
    TIMED_OUT = "timed_out"  # max_wait_seconds passed: the take-back


@dataclass
class QueueWait:
    """One customer's wait in a queue's line (for the hand-off record)."""

    started_at: datetime
    place: int  # 1: the head of the line
    expected_seconds: int
    message: str
    ended_at: datetime | None = None
    ended: WaitEnd | None = None

    def end(self, how: WaitEnd) -> None:
        if self.ended is None:
            self.ended, self.ended_at = how, datetime.now(UTC)

    @property
    def seconds(self) -> float:
        end = self.ended_at or datetime.now(UTC)
        return round((end - self.started_at).total_seconds(), 3)

    def as_record(self) -> dict:
        return {
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended": self.ended.value if self.ended else None,
            "seconds": self.seconds,
            "place": self.place,
            "expected_seconds": self.expected_seconds,
            "message": self.message,
        }


def wait_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def queue_message(lang: str, seconds: float) -> str:
    """ "Все специалисты заняты. Примерное время ожидания — две минуты." (number and noun agreeing)."""
    minutes = wait_minutes(seconds)
    if lang == "ru":
        wait = say_count(minutes, "минута", "ru")
    else:
        wait = f"{say_number(minutes, 'en')} minute{'s' if minutes != 1 else ''}"
    return QUEUE_MESSAGE.get(lang, QUEUE_MESSAGE["en"]).format(wait=wait)


def expected_seconds(place: int, handle_seconds: float, agents: int) -> int:
    """Seconds until an agent is expected for the `place`-th customer (1: head) with `agents` taking calls."""
    return round(handle_seconds * place / max(1, agents))


@dataclass
class QueueLine:
    """A warm transfer's view of its queue on the board: who may be rung now, and the wait in the line."""

    board: AgentBoard
    queue: str
    call_id: str
    lang: str
    max_wait_seconds: float
    max_waiting: int
    handle_seconds: float  # measured or the queue's setting
    on_join: Callable[[QueueWait], None] | None = None  # e.g. the `handoff.queued` event
    wait: QueueWait | None = None

    def full(self) -> bool:
        return self.board.waiting_count(self.queue) >= self.max_waiting

    def join(self) -> QueueWait:
        """Take a place at the end of the line; the wait's message says the expected wait."""
        place = self.board.join_line(self.queue, self.call_id) + 1
        taking = [s for s in self.board.agents(self.queue) if s.state is not AgentState.UNREACHABLE]
        seconds = expected_seconds(place, self.handle_seconds, len(taking))
        self.wait = QueueWait(datetime.now(UTC), place, seconds, queue_message(self.lang, seconds))
        if self.on_join is not None:
            self.on_join(self.wait)
        return self.wait

    def leave(self, how: WaitEnd) -> None:
        self.board.leave_line(self.queue, self.call_id)
        if self.wait is not None:
            self.wait.end(how)

    def at_head(self) -> bool:
        return self.board.position(self.queue, self.call_id) in (0, None)

    def time_left(self) -> float:
        if self.wait is None:
            return self.max_wait_seconds
        return self.max_wait_seconds - self.wait.seconds
