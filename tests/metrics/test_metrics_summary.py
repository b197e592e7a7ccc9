"""Summary and campaign metrics against hand-computed values (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import PathsSettings
from bot.metrics.campaign import CampaignNotFound, campaign_metrics
from bot.metrics.filters import CallFilter, FilterError, Group
from bot.metrics.summary import summary
from bot.metrics.targets import Targets, load_targets
from bot.storage.db import Database
from tests.metrics import builders as b

GOALS = Targets(goals={"reminder": "confirmed", "survey": "completed"})


def test_totals_of_a_campaign(db: Database, reminder_campaign: int) -> None:
    with db.session() as session:
        [row] = summary(session, CallFilter(campaign_id=reminder_campaign), GOALS)
    assert row.bucket is None
    assert (row.calls, row.answered, row.answer_rate) == (5, 4, 80.0)
    assert (row.machine, row.machine_rate, row.reached, row.reach_rate) == (1, 25.0, 3, 60.0)
    assert row.aht_seconds == 60.0  # (60 + 30 + 90) / 3 reached calls; the machine's 10 s left out
    assert (row.contacts, row.converted, row.conversion_rate) == (3, 1, 33.33)
    assert (row.transfers, row.transfer_rate) == (1, 33.33)
    assert (row.handoffs, row.handoffs_completed, row.handoffs_failed, row.handoff_success) == (
        1,
        1,
        0,
        100.0,
    )
    assert (row.do_not_call, row.do_not_call_rate) == (1, 33.33)
    assert row.outcomes == {"confirmed": 1, "do_not_call": 1, "machine": 1, "transferred": 1}


def test_by_day_and_hour_in_utc_and_in_a_local_zone(db: Database, reminder_campaign: int) -> None:
    with db.session() as session:
        days = summary(session, CallFilter(campaign_id=reminder_campaign), GOALS, Group.DAY)
        hours = summary(session, CallFilter(campaign_id=reminder_campaign), GOALS, Group.HOUR)
        new_york = summary(
            session, CallFilter(campaign_id=reminder_campaign, tz="America/New_York"), GOALS, Group.DAY
        )
    assert [(r.bucket.date(), r.calls, r.reached, r.converted, r.conversion_rate) for r in days] == [
        (date(2026, 3, 2), 3, 1, 1, 33.33),
        (date(2026, 3, 3), 2, 2, 0, 0.0),
    ]
    assert (days[1].do_not_call_rate, days[1].transfer_rate, days[1].machine_rate) == (50.0, 50.0, 0.0)
    assert [(r.bucket, r.calls) for r in hours] == [
        (b.at(2, 2), 1),
        (b.at(2, 10), 1),
        (b.at(2, 11), 1),
        (b.at(3, 9), 2),
    ]
    zone = ZoneInfo("America/New_York")
    assert [(r.bucket, r.calls) for r in new_york] == [
        (datetime(2026, 3, 1, tzinfo=zone), 1),
        (datetime(2026, 3, 2, tzinfo=zone), 2),
        (datetime(2026, 3, 3, tzinfo=zone), 2),
    ]


def test_date_range_is_in_local_days_both_ends_included(db: Database, reminder_campaign: int) -> None:
    def calls(**where) -> int:
        with db.session() as session:
            return summary(session, CallFilter(campaign_id=reminder_campaign, **where), GOALS)[0].calls

    assert calls(date_from=date(2026, 3, 2)) == 5
    assert calls(date_from=date(2026, 3, 2), tz="America/New_York") == 4
    assert calls(date_to=date(2026, 3, 2)) == 3
    assert calls(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3)) == 2
    assert calls(script="survey") == 0
    assert calls(direction="inbound") == 0


def test_a_filter_with_no_calls_has_counts_of_zero_and_rates_of_none(db: Database) -> None:
    with db.session() as session:
        [row] = summary(session, CallFilter(script="reminder"), GOALS)
        grouped = summary(session, CallFilter(), GOALS, Group.DAY)
    assert (row.calls, row.answer_rate, row.aht_seconds, row.conversion_rate, row.handoff_success) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert row.outcomes == {} and grouped == []


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"date_from": date(2026, 3, 3), "date_to": date(2026, 3, 2)}, "date_to"),
    ],
)
def test_bad_filters_name_their_field(where: dict, field: str) -> None:
    with pytest.raises(FilterError) as caught:
        CallFilter(**where)
    assert caught.value.field == field


def test_campaign_progress_conversion_and_results(db: Database, reminder_campaign: int) -> None:
    with db.session() as session:
        metrics = campaign_metrics(session, reminder_campaign, GOALS)
    progress = metrics.progress
    assert metrics.target_outcomes == ["confirmed"]
    assert (progress.contacts, progress.dialled, progress.reached, progress.remaining) == (4, 3, 3, 1)
    assert (progress.converted, progress.conversion_rate) == (1, 25.0)  # of all 4 contacts, D included
    assert (progress.do_not_call, progress.do_not_call_rate) == (1, 33.33)
    assert progress.by_state == {"dnc": 1, "done": 2, "pending": 1}
    assert metrics.attempt_results == {"answered": 4, "busy": 1}
    assert metrics.calls.calls == 5 and metrics.survey.nps_answers == 0 and metrics.latency.turns == 0


def test_campaign_target_outcomes_override_the_script_goal(db: Database) -> None:
    with db.session() as session:
        campaign = b.campaign(
            session, "Долги", "debt", {"target_outcomes": ["promise_to_pay", "already_paid"]}
        )
        for i, outcome in enumerate(("promise_to_pay", "already_paid", "refused")):
            person = b.contact(session, campaign.id, f"+7916000001{i}", "done")
            b.call(session, f"x{i}", b.at(2, 12), contact=person, talk=20, outcome=outcome, script="debt")
    with db.session() as session:
        targets = load_targets(session, PathsSettings().dialogs_dir)
        metrics = campaign_metrics(session, campaign.id, targets)
    assert targets.of("debt", None) == {"promise_to_pay"}  # the script's goal in dialogs/debt.yml
    assert metrics.target_outcomes == ["already_paid", "promise_to_pay"]
    assert (metrics.progress.converted, metrics.progress.conversion_rate) == (2, 66.67)
    assert (metrics.calls.converted, metrics.calls.conversion_rate) == (2, 66.67)


def test_an_empty_campaign_has_no_rates(db: Database) -> None:
    with db.session() as session:
        campaign_id = b.campaign(session, "Опрос", "survey").id
    with db.session() as session:
        metrics = campaign_metrics(session, campaign_id, GOALS)
        with pytest.raises(CampaignNotFound):
            campaign_metrics(session, campaign_id + 1, GOALS)
    assert metrics.progress.contacts == 0 and metrics.progress.conversion_rate is None
    assert metrics.calls.calls == 0 and metrics.calls.reach_rate is None and metrics.calls.aht_seconds is None
    assert metrics.survey.nps is None and metrics.survey.csat is None
    assert metrics.latency.p50_ms is None and metrics.latency_by_day == []
