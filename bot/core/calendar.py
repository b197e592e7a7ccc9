"""The opening-hours calendar shared by campaigns (calling windows) and inbound routes (opening hours): daily
windows in local time, ISO weekdays, public holidays and rest days per country, time zones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from functools import lru_cache
from typing import Annotated, Self
from zoneinfo import ZoneInfo

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator, model_validator


class Hours(BaseModel):
    """A daily calling window in local time, [start, end)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset, e.g. 09:00: each contact's zone applies")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def clamp(self, other: Hours) -> Hours:
        """The intersection with `other` (a legal window); raises if they do not overlap."""
        return Hours(start=max(self.start, other.start), end=min(self.end, other.end))


def _weekdays(value: list[int]) -> list[int]:
    if not value or any(d < 1 or d > 7 for d in value):
        raise ValueError("weekdays must be a non-empty list of ISO weekdays 1..7")
    return sorted(set(value))


def _holidays_country(value: str) -> str:
    if value and value.upper() not in holidays.list_supported_countries():
        raise ValueError(f"no holiday calendar for country {value!r}")
    return value.upper()


Weekdays = Annotated[list[int], AfterValidator(_weekdays)]
"""ISO weekdays 1..7 (1 = Monday), at least one; stored sorted without repeats."""
HolidaysCountry = Annotated[str, AfterValidator(_holidays_country)]
"""A country code whose public holidays are rest days (upper-cased); empty: none."""


def hours_on(
    day: date, weekdays: Sequence[int], holidays_country: str, working: Hours, rest: Hours | None
) -> Hours | None:
    """The window of a local date: `rest` on a rest day, `working` on a working day, None on a weekday left out."""
    if day.isoweekday() not in weekdays:
        return None
    return rest if is_rest_day(day, holidays_country) else working


@lru_cache(maxsize=64)
def _calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_rest_day(day: date, country: str) -> bool:
    """Weekend or public holiday; a weekend made a working day by decree counts as working."""
    if not country:
        return day.isoweekday() >= 6
    calendar = _calendar(country, day.year)
    if day in calendar:
        return True
    if day in getattr(calendar, "weekend_workdays", ()):
        return False
    return day.weekday() in calendar.weekend


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
