"""Dates and moments relative to the day a benchmark runs, so a conversation set never goes stale.

    today            today;  today+3, today-4: days from today
    next day 20      the next 20th on or after today (`next day 31` skips months without a 31st)
    next fri         the first Friday after today (never today); weekdays: mon tue wed thu fri sat sun
    next week fri    Friday of next calendar week (weeks start on Monday)
    2026-12-20       a fixed date

Any of them may end with a time, `HH:MM`: `today+2 10:00`, `next thu 17:30`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXPECTED = (
    "a date like 'today', 'today+3', 'today-4', 'next day 20', 'next fri', 'next week fri' or '2026-12-20', "
    "optionally followed by a time 'HH:MM'"
)
_TIME = re.compile(r"^(.*?)\s+(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^today\s*(?:([+-])\s*(\d+))?$")
_DAY_OF_MONTH = re.compile(r"^next\s+day\s+(\d{1,2})$")
_WEEKDAY = re.compile(r"^next\s+(week\s+)?(" + "|".join(WEEKDAYS) + r")$")


class DateExpressionError(ValueError):
    """Not a date expression; the message says what was expected."""


@dataclass(frozen=True)
class Moment:
    """A resolved expression: a day, and the time of day if one was given."""

    day: date
    at: time | None = None

    def iso(self) -> str:
        """`2026-12-20` or `2026-12-20T10:00` (how the dialog engine stores dates and datetimes)."""
        if self.at is None:
            return self.day.isoformat()
        return datetime.combine(self.day, self.at).isoformat(timespec="minutes")


def resolve(expression: str, today: date) -> Moment:
    """The moment an expression names, counted from `today`; DateExpressionError if it is not one."""
    text = " ".join(str(expression).strip().lower().split())
    at = None
    timed = _TIME.match(text)
    if timed:
        text, hour, minute = timed.group(1), int(timed.group(2)), int(timed.group(3))
        if hour > 23 or minute > 59:
            raise DateExpressionError(f"{expression!r}: the time must be HH:MM between 00:00 and 23:59")
        at = time(hour, minute)
    return Moment(_day(text, today, expression), at)


def _day(text: str, today: date, expression: str) -> date:
    if match := _OFFSET.match(text):
        sign, days = match.groups()
        return today + timedelta(days=int(days or 0) * (-1 if sign == "-" else 1))
    if match := _DAY_OF_MONTH.match(text):
        return _next_day_of_month(int(match.group(1)), today, expression)
    if match := _WEEKDAY.match(text):
        weekday = WEEKDAYS.index(match.group(2))
        if match.group(1):  # next calendar week
            return today - timedelta(days=today.weekday()) + timedelta(days=7 + weekday)
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DateExpressionError(f"{expression!r} is not a date expression: expected {EXPECTED}") from None


def _next_day_of_month(day: int, today: date, expression: str) -> date:
    if not 1 <= day <= 31:
        raise DateExpressionError(f"{expression!r}: the day of the month must be 1 to 31")
    year, month = today.year, today.month
    while True:
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return date(year, month, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
