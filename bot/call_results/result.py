"""What one call produced, made by the call itself: the one record every other view of the call derives from.

The voice pipeline builds a `CallResult` when its call ends (the dialog's outcome, slots and actions, the
timestamped transcript, per-turn timings, the answering-machine verdict, the recording, and what the script's
actions ask of the platform: CRM events and a callback); calls that never reached a script (unanswered, busy,
out of hours, failed) build a smaller one. The `calls` row and its CRM events (`CallStore.ended`), the
`<id>.json` file beside the recording, and the dialer's `CallReport` are derived from it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from bot.call_results.script_actions import ScriptEvent
from bot.dialog.action_log import EngineAction
from voice.amd import Verdict


class EndedBy(StrEnum):
    """Who or what ended a call (`calls.ended_by`, `ended_by` of `call.completed`)."""

    ROBOT = "robot"
    CALLER = "caller"
    MACHINE = "machine"  # an answering machine: the script never ran
    MAX_DURATION = "max_duration"
    ERROR = "error"
    SHUTDOWN = "shutdown"  # still up when a stopping worker's drain time ran out
    WORKER_LOST = "worker_lost"  # its worker died with it up; ended by the worker that found it


class TimedLine(BaseModel):
    """One line of the call's transcript (the one shape the row, the file and the CRM payloads carry)."""

    at: float  # seconds since the call started
    speaker: str  # robot or caller
    text: str
    step: str | None = None
    intent: str | None = None
    event: str | None = None


class AmdCheck(BaseModel):
    """The answering-machine detector's verdict on the call, and why (e.g. machine, "beep at 1000 Hz")."""

    verdict: Verdict
    reason: str = ""


class CallResult(BaseModel):
    """One call's result. `outcome` is None when no script decided one (never answered, or cut off)."""

    id: str = ""
    script: str = ""
    lang: str = ""
    started_at: str = ""  # ISO, when the pipeline started
    seconds: float = 0.0  # the pipeline's duration
    outcome: str | None = None  # an `Outcome`, or a `LineOutcome` of a call that never reached a script
    outcome_data: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    actions: list[EngineAction] = []  # the dialog engine's action log
    ended_by: EndedBy | None = None
    barge_ins: int = 0
    amd: AmdCheck | None = None  # when detection ran
    turns: list[dict[str, Any]] = []  # per-turn records: step, kind, latency stages in ms
    transcript: list[TimedLine] = []
    recording: str | None = None  # the WAV's path
    error: str = ""
    events: tuple[ScriptEvent, ...] = ()  # the CRM events the script's `crm_event` actions named, in order
    callback_at: datetime | None = None  # aware; the script's `schedule_callback`

    def stored_transcript(self) -> list[dict[str, Any]]:
        """The transcript as stored and sent: each line with the fields it was given."""
        return [line.model_dump(exclude_unset=True) for line in self.transcript]
