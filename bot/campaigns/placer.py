"""The boundary between the dialer and a phone call: the dialer hands a `CallRequest` to a `CallPlacer`.

The voice pipeline (dialog + telephony) implements `CallPlacer`: it stores the call (the `calls` row naming the
attempt, with what was said and decided) and hands the dialer a `CallReport`, the part the dialer acts on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from bot.call_results.result import TimedLine
from bot.outcomes import Outcome
from voice.amd import Verdict


class TelephonyResult(StrEnum):
    """How the network ended the call attempt."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True)
class CallRequest:
    """One claimed attempt to call one contact; `attempt_id` is unique and never dialled twice."""

    attempt_id: int
    campaign_id: int
    contact_id: int
    phone: str  # E.164
    caller_id: str
    script: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    script_version: str = ""  # sha256 of the script text the campaign started with ("": the live script)


@dataclass(frozen=True)
class CallReport:
    """What the dialer needs of a placed call to end its attempt and decide the contact's next step (derived
    from the call's `CallResult`). `outcome` is set when the dialog ran (answered calls)."""

    result: TelephonyResult
    outcome: Outcome | None = None
    outcome_data: dict[str, Any] = field(default_factory=dict)
    callback_at: datetime | None = None  # aware; for Outcome.CALLBACK
    slots: dict[str, Any] = field(default_factory=dict)
    transcript: list[TimedLine] = field(default_factory=list)  # the call's, as its row keeps it
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0
    amd: Verdict = Verdict.NOT_RUN
    error: str = ""


class CallPlacer(Protocol):
    """Places one call and returns when it is over. Raising counts as a `failed` attempt."""

    async def place(self, request: CallRequest) -> CallReport: ...


@runtime_checkable
class LineStatus(Protocol):
    """A placer that can tell whether its phone line is up (registered); the dialer pauses while it is not. A
    placer without it (the simulated one) is taken as always up."""

    def line_up(self) -> bool: ...
