"""Inbound routing: which script answers a call to a given number (DID), and what it gets out of hours.

A route matches the called number exactly (`74951112233`), by prefix (`7495*`) or always (`*`); a leading `+` is
ignored on both sides. The exact match wins, then the longest prefix, then `*`. Opening hours use the shared
calendar (`bot/core/calendar.py`, as campaigns' calling windows do): daily windows on working and rest days, ISO
weekdays, a country's public holidays as rest days, in the route's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal, Self
from zoneinfo import ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.calendar import HolidaysCountry, Hours, Weekdays, hours_on, zone

ANY_NUMBER = "*"


class OpeningHours(BaseModel):
    """When a line is open, in local time of `timezone`; on a rest day (weekend, public holiday) its own hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Moscow"
    working_hours: Hours = Hours(start=time(9), end=time(21))
    rest_day_hours: Hours | None = Field(
        Hours(start=time(10), end=time(20)), description="weekends and public holidays; null: closed"
    )
    weekdays: Weekdays = Field([1, 2, 3, 4, 5, 6, 7], description="ISO weekdays open, 1 = Monday")
    holidays_country: HolidaysCountry = Field(
        "RU", description="public holidays count as rest days; empty: none"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Moscow)") from exc
        return value

    def open_at(self, moment: datetime) -> bool:
        """Whether the line is open at the aware `moment`."""
        local = moment.astimezone(zone(self.timezone))
        hours = hours_on(
            local.date(), self.weekdays, self.holidays_country, self.working_hours, self.rest_day_hours
        )
        return hours is not None and hours.start <= local.time() < hours.end


class InboundRoute(BaseModel):
    """Calls to `did` talk to `script`; outside `hours` they get `out_of_hours_script` or hear the message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    did: str = Field(pattern=r"^\+?(?:[^\s*+]+\*?|\*)$", description="number, prefix* or *")
    script: str = Field(min_length=1)
    language: Literal["ru", "en"] = "ru"
    variables: dict[str, str] = {}
    hours: OpeningHours | None = Field(None, description="null: always open")
    out_of_hours_script: str = ""
    out_of_hours_variables: dict[str, str] = {}
    out_of_hours_message: str = Field("", description="said before hanging up, in the route's language")

    @model_validator(mode="after")
    def _out_of_hours(self) -> Self:
        if self.out_of_hours_script and self.out_of_hours_message:
            raise ValueError("give out_of_hours_script or out_of_hours_message, not both")
        if self.hours is None and (self.out_of_hours_script or self.out_of_hours_message):
            raise ValueError("out_of_hours_script/out_of_hours_message need opening hours (hours:)")
        return self

    @property
    def pattern(self) -> str:
        return self.did.removeprefix("+")

    def scripts(self) -> list[tuple[str, str, dict[str, str]]]:
        """(setting, script id, variables) of every script this route may run."""
        scripts = [("script", self.script, self.variables)]
        if self.out_of_hours_script:
            scripts.append(("out_of_hours_script", self.out_of_hours_script, self.out_of_hours_variables))
        return scripts

    def plan(self, now: datetime) -> InboundPlan:
        """What a call arriving at `now` gets."""
        if self.hours is None or self.hours.open_at(now):
            return InboundPlan(self, self.script, dict(self.variables))
        if self.out_of_hours_script:
            return InboundPlan(self, self.out_of_hours_script, dict(self.out_of_hours_variables), open=False)
        return InboundPlan(self, message=self.out_of_hours_message, open=False)


@dataclass(frozen=True)
class InboundPlan:
    """A script to talk (`script`), or else a `message` to say before hanging up (none: the call is refused)."""

    route: InboundRoute
    script: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    message: str = ""
    open: bool = True

    @property
    def language(self) -> str:
        return self.route.language


def select_route(routes: list[InboundRoute], called: str) -> InboundRoute | None:
    """The route for a call to `called`: exact number, else longest prefix, else `*`; None when none matches."""
    number = called.strip().removeprefix("+")
    best: tuple[int, InboundRoute] | None = None
    for route in routes:
        pattern = route.pattern
        if pattern == number:
            return route
        if pattern.endswith(ANY_NUMBER) and number.startswith(pattern[:-1]):
            length = len(pattern) - 1
            if best is None or length > best[0]:
                best = (length, route)
    return best[1] if best else None
