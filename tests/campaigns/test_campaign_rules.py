"""Calling windows, rest days, DST, the 230-FZ preset and caps: `next_allowed` as a specification."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from bot.campaigns.rules import CampaignRules, Preset, next_allowed
from bot.core.calendar import Hours, is_rest_day

MSK, NSK, NY, VVO = "Europe/Moscow", "Asia/Novosibirsk", "America/New_York", "Asia/Vladivostok"
GENERAL = CampaignRules(
    working_hours=Hours(start=time(9), end=time(21)), rest_day_hours=None, weekdays=[1, 2, 3, 4, 5]
)
DEBT = CampaignRules(preset=Preset.DEBT_230FZ)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_window_is_in_each_contacts_local_time() -> None:
    monday_18_msk = utc(2025, 3, 3, 15)  # 18:00 in Moscow, 22:00 in Novosibirsk
    assert next_allowed(GENERAL, [MSK], monday_18_msk) == monday_18_msk
    assert next_allowed(GENERAL, [NSK], monday_18_msk) == utc(2025, 3, 4, 2)  # Tuesday 09:00 in Novosibirsk


def test_weekend_skipped_when_not_allowed() -> None:
    friday_late = utc(2025, 3, 7, 19)  # 22:00 Friday in Moscow
    assert next_allowed(GENERAL, [MSK], friday_late) == utc(2025, 3, 10, 6)  # Monday 09:00


def test_dst_change_moves_the_window_in_utc() -> None:
    rules = CampaignRules(
        working_hours=Hours(start=time(9), end=time(21)),
        rest_day_hours=Hours(start=time(9), end=time(21)),
        holidays_country="US",
    )
    # New York switches to daylight time on Sunday 9 March 2025: 09:00 local is 14:00 UTC before, 13:00 after.
    assert next_allowed(rules, [NY], utc(2025, 3, 8, 3)) == utc(2025, 3, 8, 14)
    assert next_allowed(rules, [NY], utc(2025, 3, 9, 3)) == utc(2025, 3, 9, 13)
    assert next_allowed(rules, [NY], utc(2025, 3, 10, 0, 59)) == utc(2025, 3, 10, 0, 59)  # 20:59 EDT
    assert next_allowed(rules, [NY], utc(2025, 3, 10, 1)) == utc(2025, 3, 10, 13)  # 21:00 EDT: closed


def test_several_candidate_zones_need_the_window_in_all() -> None:
    # 09-21 in Moscow (06-18 UTC) and in Vladivostok (23-11 UTC): both open only 06-11 UTC.
    assert next_allowed(GENERAL, [MSK, VVO], utc(2025, 3, 4, 12)) == utc(2025, 3, 5, 6)
    assert next_allowed(GENERAL, [MSK, VVO], utc(2025, 3, 4, 7)) == utc(2025, 3, 4, 7)


def test_debt_preset_clamps_hours_and_caps_to_the_law() -> None:
    rules = CampaignRules(
        preset=Preset.DEBT_230FZ,
        working_hours=Hours(start=time(6), end=time(23)),
        interactions_per_day=5,
    )
    assert rules.working_hours == Hours(start=time(8), end=time(22))
    assert rules.rest_day_hours == Hours(start=time(9), end=time(20))
    assert (rules.interactions_per_day, rules.interactions_per_week, rules.interactions_per_month) == (
        1,
        2,
        8,
    )
    with pytest.raises(ValidationError):
        CampaignRules(preset=Preset.DEBT_230FZ, working_hours=Hours(start=time(22, 30), end=time(23)))


def test_debt_hours_on_working_days_weekends_and_holidays() -> None:
    assert next_allowed(DEBT, [MSK], utc(2025, 3, 4, 5, 30)) == utc(2025, 3, 4, 5, 30)  # Tue 08:30
    assert next_allowed(DEBT, [MSK], utc(2025, 3, 8, 5, 30)) == utc(2025, 3, 8, 6)  # Sat 08:30 -> 09:00
    assert next_allowed(DEBT, [MSK], utc(2025, 3, 8, 17, 30)) == utc(2025, 3, 9, 6)  # Sat 20:30 -> Sun 09:00
    assert next_allowed(DEBT, [MSK], utc(2025, 6, 12, 5, 30)) == utc(2025, 6, 12, 6)  # Russia Day, a Thursday
    assert next_allowed(DEBT, [MSK], utc(2025, 11, 1, 5, 30)) == utc(2025, 11, 1, 5, 30)  # working Saturday


def test_rest_days_follow_the_russian_calendar() -> None:
    assert is_rest_day(date(2025, 1, 3), "RU")  # New Year holidays, a Friday
    assert is_rest_day(date(2025, 5, 2), "RU")  # day off moved from a Saturday
    assert not is_rest_day(date(2025, 11, 1), "RU")  # Saturday made a working day
    assert not is_rest_day(date(2025, 3, 4), "RU")


def test_caps_per_day_week_and_month() -> None:
    tuesday = utc(2025, 3, 4, 7)  # 10:00 in Moscow
    assert next_allowed(DEBT, [MSK], tuesday, [utc(2025, 3, 4, 6)]) == utc(2025, 3, 5, 5)  # Wed 08:00
    two_this_week = [utc(2025, 3, 1, 7), utc(2025, 3, 3, 7)]
    assert next_allowed(DEBT, [MSK], tuesday, two_this_week) == utc(2025, 3, 8, 6)  # Sat 09:00, 7 days on
    eight = [utc(2025, 2, day, 7) for day in (5, 7, 12, 14, 19, 21, 26, 28)]
    assert next_allowed(DEBT, [MSK], utc(2025, 3, 4, 7), eight) == utc(2025, 3, 5, 5)  # Feb 5 drops out


def test_campaign_dates_bound_the_schedule() -> None:
    rules = GENERAL.model_copy(update={"start_at": utc(2025, 3, 5, 8), "end_at": utc(2025, 3, 6, 0)})
    assert next_allowed(rules, [MSK], utc(2025, 3, 3)) == utc(2025, 3, 5, 8)
    assert next_allowed(rules, [MSK], utc(2025, 3, 5, 19)) is None


def test_invalid_rules_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CampaignRules(weekdays=[0, 8])
    with pytest.raises(ValidationError):
        Hours(start=time(21), end=time(9))
    with pytest.raises(ValidationError):
        CampaignRules(start_at=datetime(2025, 1, 1))  # no time zone
    with pytest.raises(ValidationError):
        CampaignRules(holidays_country="XX")
    assert timedelta(0) < timedelta(minutes=CampaignRules().retry_minutes["busy"])
