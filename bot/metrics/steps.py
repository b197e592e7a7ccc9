"""Script quality per step, from the caller lines of stored transcripts: where a script author looks first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dialog.engine import TurnEvent
from bot.metrics.filters import CallFilter
from bot.metrics.stats import percent
from bot.storage.models import Call
from telephony import CallState

RE_ASKED = {TurnEvent.NO_MATCH, TurnEvent.SILENCE, TurnEvent.INVALID}


class StepRow(BaseModel):
    step: str
    calls: int = Field(description="calls in which the robot asked this step")
    visits: int = Field(description="times the robot arrived at this step (re-asks are not visits)")
    turns: int = Field(description="caller turns answering this step")
    no_match: int
    silence: int
    invalid: int = Field(description="understood but not a valid value for the capture")
    hangups: int = Field(description="callers who hung up at this step")
    no_match_rate: float | None = Field(description="no_match / turns, %")
    silence_rate: float | None = Field(description="silence / turns, %")
    reprompts: int = Field(description="no-match, silence or invalid turns after which the robot asked again")
    avg_reprompts: float | None = Field(description="reprompts / visits")


@dataclass
class _Step:
    calls: int = 0
    visits: int = 0
    turns: int = 0
    no_match: int = 0
    silence: int = 0
    invalid: int = 0
    hangups: int = 0
    reprompts: int = 0

    def row(self, step: str) -> StepRow:
        return StepRow(
            step=step,
            **self.__dict__,
            no_match_rate=percent(self.no_match, self.turns),
            silence_rate=percent(self.silence, self.turns),
            avg_reprompts=None if not self.visits else round(self.reprompts / self.visits, 2),
        )


def _lines(transcript: Any) -> list[dict[str, Any]]:
    return [line for line in transcript if isinstance(line, dict)] if isinstance(transcript, list) else []


def _count(transcript: Any, steps: defaultdict[str, _Step]) -> None:
    lines = _lines(transcript)
    seen: set[str] = set()
    last_robot_step = None
    for i, line in enumerate(lines):
        step = line.get("step")
        if not isinstance(step, str):
            continue
        if line.get("speaker") == "robot":
            if step != last_robot_step:
                steps[step].visits += 1
                if step not in seen:
                    seen.add(step)
                    steps[step].calls += 1
            last_robot_step = step
            continue
        tally, event = steps[step], line.get("event")
        tally.turns += 1
        tally.no_match += event == TurnEvent.NO_MATCH
        tally.silence += event == TurnEvent.SILENCE
        tally.invalid += event == TurnEvent.INVALID
        tally.hangups += event == TurnEvent.HANGUP
        following = lines[i + 1] if i + 1 < len(lines) else {}
        if event in RE_ASKED and following.get("speaker") == "robot" and following.get("step") == step:
            tally.reprompts += 1


def steps(session: Session, script: str, where: CallFilter) -> list[StepRow]:
    """Per step of `script` (calls matching `where`), the most troublesome first: by no-match + silence rate."""
    tallies: defaultdict[str, _Step] = defaultdict(_Step)
    query = (
        select(Call.transcript)
        .where(Call.state == CallState.ENDED, Call.script == script, *where.where())
        .execution_options(yield_per=1000)
    )
    for (transcript,) in session.execute(query):
        _count(transcript, tallies)
    rows = [tally.row(step) for step, tally in tallies.items() if tally.visits or tally.turns]
    return sorted(rows, key=lambda r: (-(r.no_match + r.silence) / max(r.turns, 1), r.step))
