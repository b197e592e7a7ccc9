"""Which calls a metric looks at, and how they are grouped in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement

from bot.storage.models import Call


class Group(StrEnum):
    """Time buckets of a summary: one total row, one row per local day or per local hour."""

    NONE = "none"
    DAY = "day"
    HOUR = "hour"


class FilterError(ValueError):
    """A filter that cannot be applied (unknown time zone, dates in the wrong order); `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FilterError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Moscow", "tz"
        ) from exc


@dataclass(frozen=True)
class CallFilter:
    """Calls by campaign, script and direction, started between two local dates (both inclusive) in `tz`; test
    calls (placed from the campaign wizard) are never among them."""

    campaign_id: int | None = None
    script: str | None = None
    direction: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        zone(self.tz)
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise FilterError("date_to is before date_from", "date_to")

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def where(self) -> list[ColumnElement[bool]]:
        """SQL conditions on the `calls` table."""
        conditions: list[ColumnElement[bool]] = [Call.test.is_(False)]
        if self.campaign_id is not None:
            conditions.append(Call.campaign_id == self.campaign_id)
        if self.script:
            conditions.append(Call.script == self.script)
        if self.direction:
            conditions.append(Call.direction == self.direction)
        if self.date_from:
            conditions.append(Call.started_at >= self._midnight(self.date_from))
        if self.date_to:
            conditions.append(Call.started_at < self._midnight(self.date_to + timedelta(days=1)))
        return conditions

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)


def bucket(moment: datetime, group: Group, tz: ZoneInfo) -> datetime | None:
    """The start of `moment`'s local day or hour (aware, in `tz`); None for the single total bucket."""
    if group is Group.NONE:
        return None
    local = moment.astimezone(tz)
    if group is Group.DAY:
        return datetime.combine(local.date(), time(0), tz)
    return local.replace(minute=0, second=0, microsecond=0)
