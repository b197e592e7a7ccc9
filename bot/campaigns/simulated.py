"""A deterministic stand-in for the phone network: each number answers from a scripted list of reports.

Used by tests, benchmarks and `voicebot campaigns run --simulate` until the telephony layer places real calls.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.campaigns.clock import Clock
from bot.campaigns.placer import AmdResult, CallReport, CallRequest, TelephonyResult
from bot.outcomes import Outcome

ANSWERED = CallReport(
    result=TelephonyResult.ANSWERED,
    outcome=Outcome.CONFIRMED,
    ring_seconds=4.0,
    talk_seconds=30.0,
    amd=AmdResult.HUMAN,
)


@dataclass(frozen=True)
class PlacedCall:
    at: datetime
    request: CallRequest


class ScriptedPlacer:
    """Answers each call with the next report scripted for its number, else `default`.

    With `log_path`, every dial is appended (and fsynced) to that file as one JSON line before the call "rings",
    so a test can count dials across a crash. `seconds` makes each call last that long in real time.
    """

    def __init__(
        self,
        scripts: dict[str, list[CallReport]] | None = None,
        default: CallReport = ANSWERED,
        clock: Clock | None = None,
        log_path: Path | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.scripts = {phone: list(reports) for phone, reports in (scripts or {}).items()}
        self.default = default
        self.clock = clock
        self.log_path = log_path
        self.seconds = seconds
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
        if self.seconds:
            await asyncio.sleep(self.seconds)
        queue = self.scripts.get(request.phone)
        return queue.pop(0) if queue else self.default
