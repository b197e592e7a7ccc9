"""When a contact may be called: calling windows in local time, weekdays and holidays, campaign dates, retry
policy and the 230-FZ interaction caps for debt collection.

`CampaignRules` is validated once and stored as JSON on the campaign. `next_allowed()` answers the dialer's one
question: the earliest moment (>= now) this contact may be dialled, or None when it never may.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.calendar import HolidaysCountry, Hours, Weekdays, hours_on, zone
from bot.outcomes import Outcome


class Preset(StrEnum):
    GENERAL = "general"
    DEBT_230FZ = "debt_230fz"  # Federal Law 230-FZ: debt collection by robots


class RetryReason(StrEnum):
    """Non-final results that may be retried, each with its own delay."""

    BUSY = "busy"  # also a rejected call
    NO_ANSWER = "no_answer"
    FAILED = "failed"  # network failure, or an attempt interrupted by a crash
    MACHINE = "machine"
    CALLBACK = "callback"  # used when the callback time is unknown


class AgentPacing(BaseModel):
    """Pace dialing by the agents of a hand-off queue (bot/campaigns/agent_pacing.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str | None = Field(
        None, min_length=1, max_length=64, description="the queue; null: the one its script hands leads to"
    )


DEBT_WORKING_HOURS = Hours(start=time(8), end=time(22))
DEBT_RESTDAY_HOURS = Hours(start=time(9), end=time(20))
DEBT_CAPS = (1, 2, 8)  # robot interactions per day, per week, per month


class CampaignRules(BaseModel):
    """Scheduling rules of one campaign.

    The debt preset uses the legal hours unless narrower ones are given (wider ones are clamped) and caps
    interactions at 1/2/8 per day/week/month (lower caps may be given).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: Preset = Preset.GENERAL
    working_hours: Hours = Hours(start=time(9), end=time(21))
    rest_day_hours: Hours | None = Field(
        Hours(start=time(10), end=time(20)), description="weekends and public holidays; null: no calls"
    )
    weekdays: Weekdays = Field([1, 2, 3, 4, 5, 6, 7], description="ISO weekdays allowed, 1 = Monday")
    holidays_country: HolidaysCountry = Field(
        "RU", description="public holidays count as rest days; empty: none"
    )
    start_at: datetime | None = None
    end_at: datetime | None = None
    max_concurrent: int = Field(5, ge=1, le=1000)
    pacing_cps: float = Field(1.0, gt=0, le=100, description="new calls per second at most")
    max_attempts: int = Field(3, ge=1, le=50)
    retry_minutes: dict[RetryReason, int] = Field(
        {
            RetryReason.BUSY: 15,
            RetryReason.NO_ANSWER: 60,
            RetryReason.FAILED: 30,
            RetryReason.MACHINE: 120,
            RetryReason.CALLBACK: 60,
        },
        description="delay before retrying, per result; a result left out is final",
    )
    interactions_per_day: int | None = Field(None, ge=1, le=1000)
    interactions_per_week: int | None = Field(None, ge=1, le=1000)
    interactions_per_month: int | None = Field(None, ge=1, le=1000)
    target_outcomes: list[Outcome] = Field(
        [], description="outcomes that count as a conversion; empty: the script's `goal`"
    )
    agent_pacing: AgentPacing | None = Field(
        None, description="start no more calls than the queue's free agents can take their leads; null: off"
    )

    @field_validator("retry_minutes")
    @classmethod
    def _delays(cls, value: dict[RetryReason, int]) -> dict[RetryReason, int]:
        if any(minutes < 1 or minutes > 60 * 24 * 90 for minutes in value.values()):
            raise ValueError("retry delays must be between 1 minute and 90 days")
        return value

    @field_validator("start_at", "end_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. 2025-03-01T09:00:00+03:00")
        return value

    @model_validator(mode="after")
    def _legal(self) -> Self:
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        if self.preset is Preset.DEBT_230FZ:
            day, week, month = DEBT_CAPS
            given = self.model_fields_set
            working = self.working_hours if "working_hours" in given else DEBT_WORKING_HOURS
            rest = (
                self.rest_day_hours
                if "rest_day_hours" in given and self.rest_day_hours
                else DEBT_RESTDAY_HOURS
            )
            try:
                working, rest = working.clamp(DEBT_WORKING_HOURS), rest.clamp(DEBT_RESTDAY_HOURS)
            except ValueError as exc:
                raise ValueError("hours must overlap 08:00-22:00 / 09:00-20:00 (230-FZ)") from exc
            for name, value in (
                ("working_hours", working),
                ("rest_day_hours", rest if self.rest_day_hours or "rest_day_hours" not in given else None),
                ("holidays_country", self.holidays_country or "RU"),
                ("interactions_per_day", min(self.interactions_per_day or day, day)),
                ("interactions_per_week", min(self.interactions_per_week or week, week)),
                ("interactions_per_month", min(self.interactions_per_month or month, month)),
            ):
                object.__setattr__(self, name, value)
        return self

    @property
    def has_caps(self) -> bool:
        return any((self.interactions_per_day, self.interactions_per_week, self.interactions_per_month))

    def hours_on(self, day: date) -> Hours | None:
        """The calling window on a local date, or None when no calls are allowed that day."""
        return hours_on(day, self.weekdays, self.holidays_country, self.working_hours, self.rest_day_hours)


SEARCH_DAYS = 400


def next_open(rules: CampaignRules, at: datetime, tz: ZoneInfo) -> datetime | None:
    """The earliest moment >= `at` inside a calling window in time zone `tz`."""
    local = at.astimezone(tz)
    day = local.date()
    for offset in range(SEARCH_DAYS):
        current = day + timedelta(days=offset)
        hours = rules.hours_on(current)
        if hours is None:
            continue
        start = datetime.combine(current, hours.start, tz).astimezone(UTC)
        end = datetime.combine(current, hours.end, tz).astimezone(UTC)
        if at < end:
            return max(at, start)
    return None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def next_free(rules: CampaignRules, at: datetime, tz: ZoneInfo, history: Sequence[datetime]) -> datetime:
    """The earliest moment >= `at` when one more interaction stays within the caps.

    Periods are read conservatively in the debtor's local time: the calendar day, the 7 days ending today and
    the month ending today (e.g. 15 March counts back to 16 February).
    """
    if not rules.has_caps or not history:
        return at
    today = at.astimezone(tz).date()
    days = sorted(t.astimezone(tz).date() for t in history)
    earliest = today
    for cap, start_of_period, reopen in (
        (rules.interactions_per_day, lambda d: d, lambda d: d + timedelta(days=1)),
        (rules.interactions_per_week, lambda d: d - timedelta(days=6), lambda d: d + timedelta(days=7)),
        (
            rules.interactions_per_month,
            lambda d: _add_months(d, -1) + timedelta(days=1),
            lambda d: _add_months(d, 1),
        ),
    ):
        if cap is None:
            continue
        first = start_of_period(today)
        in_period = days[bisect_right(days, first - timedelta(days=1)) :]
        if len(in_period) >= cap:
            earliest = max(earliest, reopen(in_period[len(in_period) - cap]))
    if earliest == today:
        return at
    return datetime.combine(earliest, time(0), tz).astimezone(UTC)


def next_allowed(
    rules: CampaignRules, zones: Sequence[str], at: datetime, history: Sequence[datetime] = ()
) -> datetime | None:
    """The earliest moment >= `at` the contact may be dialled, or None if never (campaign over, no window).

    With several candidate zones (a number whose region spans zones) the moment must be inside the window in
    every one of them. `history` holds the start times of the debtor's past robot interactions.
    """
    if rules.start_at and at < rules.start_at:
        at = rules.start_at.astimezone(UTC)
    tzs = [zone(z) for z in zones] or [zone("UTC")]
    candidate = at
    for _ in range(64):
        moved = False
        for tz in tzs:
            opened = next_open(rules, candidate, tz)
            if opened is None:
                return None
            if opened != candidate:
                candidate, moved = opened, True
        freed = next_free(rules, candidate, tzs[0], history)
        if freed != candidate:
            candidate, moved = freed, True
        if rules.end_at and candidate >= rules.end_at:
            return None
        if not moved:
            return candidate
    return None
