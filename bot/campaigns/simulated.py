"""A deterministic stand-in for the phone network: each number answers from a scripted list of reports.

Used by tests, benchmarks and `voicebot campaigns run --simulate` (the dialer without telephony).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.call_results.result import AmdCheck, CallResult, EndedBy
from bot.call_results.store import CallStart, CallStore
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.core.clock import Clock
from bot.outcomes import Outcome
from telephony import CallDirection
from voice.amd import Verdict

ANSWERED = CallReport(
    result=TelephonyResult.ANSWERED,
    outcome=Outcome.CONFIRMED,
    ring_seconds=4.0,
    talk_seconds=30.0,
    amd=Verdict.HUMAN,
)


@dataclass(frozen=True)
class PlacedCall:
    at: datetime
    request: CallRequest


class ScriptedPlacer:
    """Answers each call with the next report scripted for its number, else `default`.

    With `log_path`, every dial is appended (and fsynced) to that file as one JSON line before the call "rings",
    so a test can count dials across a crash. `seconds` makes each call last that long in real time. With
    `store`, each call is a `calls` row from its ring to its end, as the real placer writes it; without, no call
    is kept (the dialer alone, as `voicebot bench campaigns` measures it): attempts hold no outcome of their own.
    """

    def __init__(
        self,
        scripts: dict[str, list[CallReport]] | None = None,
        default: CallReport = ANSWERED,
        clock: Clock | None = None,
        log_path: Path | None = None,
        seconds: float = 0.0,
        store: CallStore | None = None,
    ) -> None:
        self.scripts = {phone: list(reports) for phone, reports in (scripts or {}).items()}
        self.default = default
        self.clock = clock
        self.log_path = log_path
        self.seconds = seconds
        self.store = store
        self.placed: list[PlacedCall] = []

    async def place(self, request: CallRequest) -> CallReport:
        at = self.clock.now() if self.clock else datetime.now().astimezone()
        self.placed.append(PlacedCall(at, request))
        if self.log_path:
            line = {
                "attempt_id": request.attempt_id,
                "contact_id": request.contact_id,
                "phone": request.phone,
            }
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")
                log.flush()
                os.fsync(log.fileno())
        queue = self.scripts.get(request.phone)
        report = queue.pop(0) if queue else self.default
        call_id = f"sim-{request.attempt_id}"
        if self.store:
            await self.store.started(_call_start(call_id, request))
            if report.result is TelephonyResult.ANSWERED:
                await self.store.answered(call_id)
        if self.seconds:
            await asyncio.sleep(self.seconds)
        if self.store:
            await self.store.ended(call_id, _call_end(report))
        return report


def _call_start(call_id: str, request: CallRequest) -> CallStart:
    return CallStart(
        call_id=call_id,
        direction=CallDirection.OUTBOUND,
        caller=request.caller_id,
        called=request.phone,
        script=request.script,
        language=request.language,
        campaign_id=request.campaign_id,
        contact_id=request.contact_id,
        attempt_id=request.attempt_id,
    )


def _call_end(report: CallReport) -> CallResult:
    if report.result is not TelephonyResult.ANSWERED:
        return CallResult(error=f"{report.result}: simulated")
    machine = report.amd is Verdict.MACHINE or report.outcome is Outcome.MACHINE
    return CallResult(
        outcome=report.outcome.value if report.outcome else None,
        outcome_data=report.outcome_data,
        slots=report.slots,
        transcript=report.transcript,
        ended_by=EndedBy.MACHINE if machine else EndedBy.ROBOT,
        amd=AmdCheck(verdict=report.amd),
    )
