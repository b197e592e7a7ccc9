"""Operational metrics of ended calls per day or hour: answer, reach and machine rates, AHT, conversion,
transfers and hand-off success, do-not-call rate and the outcome distribution."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.metrics.calls import CallFacts, ended_calls
from bot.metrics.filters import CallFilter, Group, bucket
from bot.metrics.stats import mean, percent
from bot.metrics.targets import Targets
from bot.outcomes import Outcome


class SummaryRow(BaseModel):
    """One time bucket (or the whole range when `bucket` is None). Rates are in per cent, None when their
    denominator is zero."""

    bucket: datetime | None = Field(description="local start of the day or hour; null for the total")
    calls: int = Field(description="ended calls (for outbound campaigns: dialling attempts)")
    answered: int
    answer_rate: float | None = Field(description="answered / calls")
    machine: int = Field(description="answered by an answering machine")
    machine_rate: float | None = Field(description="machine / answered")
    reached: int = Field(description="answered by a person")
    reach_rate: float | None = Field(description="reached / calls")
    aht_seconds: float | None = Field(
        description="mean talk time of reached calls (the robot has no wrap-up)"
    )
    contacts: int = Field(description="distinct contacts called (inbound: distinct callers)")
    converted: int = Field(description="distinct contacts with a call ending in a target outcome")
    conversion_rate: float | None = Field(
        description="converted / contacts; null when no call has a target outcome"
    )
    transfers: int = Field(description="reached calls with at least one hand-off request")
    transfer_rate: float | None = Field(description="transfers / reached")
    handoffs: int
    handoffs_completed: int
    handoffs_failed: int
    handoff_success: float | None = Field(description="completed / (completed + failed)")
    do_not_call: int = Field(description="reached calls ending with do_not_call")
    do_not_call_rate: float | None = Field(description="do_not_call / reached")
    outcomes: dict[str, int] = Field(description="answered calls per outcome")


@dataclass
class _Tally:
    calls: int = 0
    answered: int = 0
    machine: int = 0
    reached: int = 0
    talk: float = 0.0
    contacts: set[tuple[str, str]] = field(default_factory=set)
    converted: set[tuple[str, str]] = field(default_factory=set)
    targeted: bool = False
    transfers: int = 0
    handoffs: int = 0
    completed: int = 0
    failed: int = 0
    do_not_call: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, call: CallFacts, targets: frozenset[str]) -> None:
        self.calls += 1
        self.contacts.add(call.contact)
        self.handoffs += call.handoffs
        self.completed += call.handoffs_completed
        self.failed += call.handoffs_failed
        self.targeted |= bool(targets)
        if call.outcome in targets:
            self.converted.add(call.contact)
        if not call.answered:
            return
        self.answered += 1
        if call.outcome:
            self.outcomes[call.outcome] += 1
        if call.machine:
            self.machine += 1
            return
        self.reached += 1
        self.talk += call.talk_seconds
        self.transfers += call.handoffs > 0
        self.do_not_call += call.outcome == Outcome.DO_NOT_CALL

    def row(self, at: datetime | None) -> SummaryRow:
        return SummaryRow(
            bucket=at,
            calls=self.calls,
            answered=self.answered,
            answer_rate=percent(self.answered, self.calls),
            machine=self.machine,
            machine_rate=percent(self.machine, self.answered),
            reached=self.reached,
            reach_rate=percent(self.reached, self.calls),
            aht_seconds=mean(self.talk, self.reached),
            contacts=len(self.contacts),
            converted=len(self.converted),
            conversion_rate=percent(len(self.converted), len(self.contacts)) if self.targeted else None,
            transfers=self.transfers,
            transfer_rate=percent(self.transfers, self.reached),
            handoffs=self.handoffs,
            handoffs_completed=self.completed,
            handoffs_failed=self.failed,
            handoff_success=percent(self.completed, self.completed + self.failed),
            do_not_call=self.do_not_call,
            do_not_call_rate=percent(self.do_not_call, self.reached),
            outcomes=dict(sorted(self.outcomes.items())),
        )


def summary(
    session: Session, where: CallFilter, targets: Targets, group: Group = Group.NONE
) -> list[SummaryRow]:
    """One row per local day or hour that has calls (oldest first), or a single total row (also with no calls)."""
    tallies: dict[datetime | None, _Tally] = {}
    tz = where.zone
    for call in ended_calls(session, where):
        at = bucket(call.started_at, group, tz)
        tallies.setdefault(at, _Tally()).add(call, targets.of(call.script, call.campaign_id))
    if group is Group.NONE:
        return [tallies.get(None, _Tally()).row(None)]
    return [tally.row(at) for at, tally in tallies.items()]
