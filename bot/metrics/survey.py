"""Survey metrics from the survey script's slots: NPS (`nps`, 0–10) and CSAT (`csat`, yes/no or 1–5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.metrics.calls import answered_calls
from bot.metrics.filters import CallFilter, Group, bucket
from bot.metrics.stats import percent
from bot.storage.models import Call

NPS_SLOT, CSAT_SLOT = "nps", "csat"


class SurveyRow(BaseModel):
    """NPS in points (−100…100) and CSAT in per cent; None when there is no answer to count."""

    bucket: datetime | None = Field(description="local start of the day or hour; null for the total")
    nps_answers: int
    promoters: int = Field(description="scores 9–10")
    passives: int = Field(description="scores 7–8")
    detractors: int = Field(description="scores 0–6")
    nps: float | None = Field(description="% promoters − % detractors")
    csat_answers: int
    csat_positive: int = Field(description="yes, or 4–5 on a 1–5 scale")
    csat: float | None = Field(description="csat_positive / csat_answers, %")


def nps_score(value: Any) -> int | None:
    """A valid 0–10 integer score, else None (booleans and fractions are not scores)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value) if 0 <= value <= 10 else None


def csat_positive(value: Any) -> bool | None:
    """True/False for a yes/no answer or a 1–5 rating (4–5 positive); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value == int(value) and 1 <= value <= 5:
        return value >= 4
    return None


class _Tally:
    def __init__(self) -> None:
        self.scores = [0] * 11
        self.csat = [0, 0]  # negative, positive

    def add(self, slots: dict[str, Any]) -> None:
        score = nps_score(slots.get(NPS_SLOT))
        if score is not None:
            self.scores[score] += 1
        positive = csat_positive(slots.get(CSAT_SLOT))
        if positive is not None:
            self.csat[positive] += 1

    def row(self, at: datetime | None) -> SurveyRow:
        answers = sum(self.scores)
        promoters, passives = sum(self.scores[9:]), sum(self.scores[7:9])
        detractors = answers - promoters - passives
        nps = percent(promoters, answers)
        if nps is not None:
            nps = round(nps - percent(detractors, answers), 2)
        return SurveyRow(
            bucket=at,
            nps_answers=answers,
            promoters=promoters,
            passives=passives,
            detractors=detractors,
            nps=nps,
            csat_answers=sum(self.csat),
            csat_positive=self.csat[1],
            csat=percent(self.csat[1], sum(self.csat)),
        )


def survey(session: Session, where: CallFilter, group: Group = Group.NONE) -> list[SurveyRow]:
    """Answers found in the slots of ended calls, per bucket (a total row even when there are none)."""
    tallies: dict[datetime | None, _Tally] = {}
    for started_at, slots in answered_calls(session, where, Call.slots):
        if isinstance(slots, dict) and (NPS_SLOT in slots or CSAT_SLOT in slots):
            tallies.setdefault(bucket(started_at, group, where.zone), _Tally()).add(slots)
    if group is Group.NONE:
        return [tallies.get(None, _Tally()).row(None)]
    return [tally.row(at) for at, tally in tallies.items()]
