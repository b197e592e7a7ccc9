"""One campaign at a glance: contact progress and conversion, attempt results, call metrics, survey, latency."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.metrics.filters import CallFilter, Group
from bot.metrics.latency import LatencyRow, latency
from bot.metrics.stats import percent
from bot.metrics.summary import SummaryRow, summary
from bot.metrics.survey import SurveyRow, survey
from bot.metrics.targets import Targets
from bot.outcomes import Outcome
from bot.storage.models import Attempt, Call, Campaign, Contact
from bot.storage.states import OPEN_CONTACT_STATES, AttemptState
from voice.amd import Verdict


class CampaignNotFound(LookupError):
    pass


class ProgressOut(BaseModel):
    """Contacts of the campaign; `conversion_rate` = converted / contacts (None for a campaign without any)."""

    contacts: int
    by_state: dict[str, int]
    dialled: int = Field(description="contacts with at least one finished attempt")
    reached: int = Field(description="contacts with an attempt answered by a person")
    converted: int = Field(description="contacts with an attempt ending in a target outcome")
    do_not_call: int = Field(description="contacts who asked not to be called during a call")
    remaining: int = Field(description="contacts still to be called (pending or in a call now)")
    conversion_rate: float | None = Field(
        description="converted / contacts, %; null without a target outcome"
    )
    do_not_call_rate: float | None = Field(description="do_not_call / reached, %")


class CampaignMetrics(BaseModel):
    campaign_id: int
    name: str
    script: str
    state: str
    target_outcomes: list[str]
    progress: ProgressOut
    attempt_results: dict[str, int] = Field(description="finished attempts per dialler result")
    calls: SummaryRow = Field(description="metrics over the campaign's stored calls")
    survey: SurveyRow
    latency: LatencyRow
    latency_by_day: list[LatencyRow]


def progress(session: Session, campaign_id: int, targets: frozenset[str]) -> ProgressOut:
    """Contact counts and conversion from the dialler's attempts and their calls (cheap enough to poll)."""
    by_state: dict[str, int] = dict(
        session.execute(
            select(Contact.state, func.count())
            .where(Contact.campaign_id == campaign_id)
            .group_by(Contact.state)
        ).all()
    )
    finished = Attempt.campaign_id == campaign_id, Attempt.state == AttemptState.DONE
    outcome, verdict = (
        func.coalesce(Call.outcome, ""),
        func.coalesce(Call.amd, ""),
    )  # the attempt's call, if any
    person = Attempt.result == "answered", verdict != Verdict.MACHINE, outcome != Outcome.MACHINE

    def contacts(*conditions) -> int:
        attempts = select(func.count(Attempt.contact_id.distinct())).outerjoin(
            Call, Call.attempt_id == Attempt.id
        )
        return session.scalar(attempts.where(*finished, *conditions))

    total, reached = sum(by_state.values()), contacts(*person)
    converted = contacts(outcome.in_(targets)) if targets else 0
    do_not_call = contacts(outcome == Outcome.DO_NOT_CALL)
    return ProgressOut(
        contacts=total,
        by_state=dict(sorted(by_state.items())),
        dialled=contacts(),
        reached=reached,
        converted=converted,
        do_not_call=do_not_call,
        remaining=sum(by_state.get(state, 0) for state in OPEN_CONTACT_STATES),
        conversion_rate=percent(converted, total) if targets else None,
        do_not_call_rate=percent(do_not_call, reached),
    )


def campaign_metrics(
    session: Session, campaign_id: int, targets: Targets, tz: str = "UTC"
) -> CampaignMetrics:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"campaign {campaign_id} not found")
    chosen = targets.of(campaign.script, campaign_id)
    where = CallFilter(campaign_id=campaign_id, tz=tz)
    results = session.execute(
        select(Attempt.result, func.count())
        .where(Attempt.campaign_id == campaign_id, Attempt.state == AttemptState.DONE)
        .group_by(Attempt.result)
    ).all()
    return CampaignMetrics(
        campaign_id=campaign.id,
        name=campaign.name,
        script=campaign.script,
        state=campaign.state,
        target_outcomes=sorted(chosen),
        progress=progress(session, campaign_id, chosen),
        attempt_results=dict(sorted((result, count) for result, count in results)),
        calls=summary(session, where, targets)[0],
        survey=survey(session, where)[0],
        latency=latency(session, where)[0],
        latency_by_day=[row for row in latency(session, where, Group.DAY) if row.bucket is not None],
    )
