"""Inbound routing: the route for a called number (DID), opening hours in the route's time zone with public holidays,
what a call gets out of hours, and the configuration checks at start-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.calls.phone_calls import check_inbound
from bot.config import CallsSettings, ConfigError, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogError
from bot.inbound_routing import InboundRoute, OpeningHours, select_route

ROUTES = [
    InboundRoute(did="74951112233", script="inbound", variables={"company": "Ромашка"}),
    InboundRoute(did="7495*", script="survey"),
    InboundRoute(did="749511*", script="reminder"),
    InboundRoute(did="*", script="appointment"),
]


@pytest.mark.parametrize(
    ("called", "script"),
    [
        ("74951112233", "inbound"),  # exact
        ("+74951112233", "inbound"),  # a leading + on the wire
        ("74951119999", "reminder"),  # the longest prefix
        ("74950000000", "survey"),
        ("78121234567", "appointment"),  # anything else
        ("robot", "appointment"),
    ],
)
def test_the_exact_number_wins_then_the_longest_prefix_then_any(called, script):
    assert select_route(ROUTES, called).script == script


def test_no_route_matches_without_a_catch_all():
    assert select_route(ROUTES[:3], "78121234567") is None
    assert select_route([], "74951112233") is None


MOSCOW_HOURS = OpeningHours(
    timezone="Europe/Moscow",
    working_hours={"start": "09:00", "end": "18:00"},
    rest_day_hours=None,
    holidays_country="RU",
)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2025, 3, 11, 6, 0, tzinfo=UTC), True),  # Tuesday 09:00 in Moscow (UTC+3)
        (datetime(2025, 3, 11, 5, 59, tzinfo=UTC), False),  # 08:59 in Moscow
        (datetime(2025, 3, 11, 14, 59, tzinfo=UTC), True),  # 17:59
        (datetime(2025, 3, 11, 15, 0, tzinfo=UTC), False),  # 18:00: the window is [start, end)
        (datetime(2025, 3, 15, 10, 0, tzinfo=UTC), False),  # Saturday: a rest day, closed
        (datetime(2025, 5, 9, 10, 0, tzinfo=UTC), False),  # Friday 9 May, Victory Day: a public holiday
        (datetime(2025, 11, 1, 10, 0, tzinfo=UTC), True),  # Saturday made a working day by decree in 2025
    ],
)
def test_opening_hours_in_the_routes_time_zone_with_holidays(moment, is_open):
    assert MOSCOW_HOURS.open_at(moment) is is_open


def test_the_same_moment_is_open_in_one_zone_and_closed_in_another():
    moment = datetime(2025, 3, 11, 16, 0, tzinfo=UTC)  # 19:00 in Moscow, 16:00 in London
    london = MOSCOW_HOURS.model_copy(update={"timezone": "Europe/London", "holidays_country": "GB"})
    assert not MOSCOW_HOURS.open_at(moment) and london.open_at(moment)


def test_rest_day_hours_and_weekdays():
    hours = OpeningHours(
        working_hours={"start": "09:00", "end": "21:00"},
        rest_day_hours={"start": "10:00", "end": "16:00"},
        weekdays=[1, 2, 3, 4, 5, 6],
    )
    assert hours.open_at(datetime(2025, 3, 15, 8, 0, tzinfo=UTC))  # Saturday 11:00 Moscow
    assert not hours.open_at(datetime(2025, 3, 15, 13, 30, tzinfo=UTC))  # Saturday 16:30
    assert not hours.open_at(datetime(2025, 3, 16, 8, 0, tzinfo=UTC))  # Sunday: not a weekday of this line


SUNDAY_NIGHT = datetime(2025, 3, 16, 20, 0, tzinfo=UTC)
MONDAY_NOON = datetime(2025, 3, 17, 9, 0, tzinfo=UTC)


def test_out_of_hours_a_call_gets_the_other_script_or_the_message_or_nothing():
    hours = {"working_hours": {"start": "09:00", "end": "18:00"}, "rest_day_hours": None}
    other = InboundRoute(
        did="1",
        script="inbound",
        variables={"company": "Ромашка"},
        hours=hours,
        out_of_hours_script="survey",
        out_of_hours_variables={"name": "Анна", "company": "Ромашка"},
    )
    message = InboundRoute(did="2", script="inbound", hours=hours, out_of_hours_message="Мы закрыты.")
    nothing = InboundRoute(did="3", script="inbound", hours=hours)
    assert (other.plan(MONDAY_NOON).script, other.plan(MONDAY_NOON).open) == ("inbound", True)
    closed = other.plan(SUNDAY_NIGHT)
    assert (closed.script, closed.variables, closed.open) == (
        "survey",
        {"name": "Анна", "company": "Ромашка"},
        False,
    )
    closed = message.plan(SUNDAY_NIGHT)
    assert (closed.script, closed.message) == ("", "Мы закрыты.")
    closed = nothing.plan(SUNDAY_NIGHT)
    assert (closed.script, closed.message, closed.open) == ("", "", False)
    assert InboundRoute(did="4", script="inbound").plan(SUNDAY_NIGHT).open  # no hours: always open


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ({"did": "74 95", "script": "inbound"}, "did"),
        ({"did": "7*95", "script": "inbound"}, "did"),
        ({"did": "1", "script": "inbound", "out_of_hours_message": "closed"}, "need opening hours"),
        (
            {"did": "1", "script": "x", "hours": {}, "out_of_hours_script": "y", "out_of_hours_message": "z"},
            "not both",
        ),
        ({"did": "1", "script": "inbound", "hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"did": "1", "script": "inbound", "hours": {"holidays_country": "XX"}}, "no holiday calendar"),
        ({"did": "1", "script": "inbound", "language": "de"}, "language"),
    ],
)
def test_a_bad_route_is_a_configuration_error_naming_the_key(tmp_path, route, error):
    config = tmp_path / "voicebot.yml"
    config.write_text(f"calls:\n  routes: [{route!r}]\n".replace("'", '"'))
    with pytest.raises(ConfigError, match=rf"calls\.routes\.0.*{error}"):
        load_settings(config, environ={})


def test_two_routes_for_one_number_are_refused():
    with pytest.raises(ValueError, match="two routes for did '\\+7495\\*'"):
        CallsSettings(routes=[{"did": "7495*", "script": "a"}, {"did": "+7495*", "script": "b"}])


def test_the_old_single_inbound_script_is_the_catch_all_after_the_routes():
    calls = CallsSettings(
        inbound_script="survey",
        inbound_variables={"company": "Ромашка"},
        routes=[{"did": "100", "script": "inbound"}],
    )
    assert [(r.did, r.script) for r in calls.inbound_routes] == [("100", "inbound"), ("*", "survey")]
    assert select_route(calls.inbound_routes, "200").variables == {"company": "Ромашка"}


def test_every_routes_scripts_and_variables_are_checked_at_start():
    settings = load_settings(environ={})
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)

    def check(**calls):
        check_inbound(settings.model_copy(update={"calls": CallsSettings(**calls)}), catalogue)

    good = {"did": "100", "script": "inbound", "variables": {"company": "Ромашка"}}
    check(routes=[good])  # the optional `name` comes from the caller lookup, or not at all
    with pytest.raises(DialogError, match=r"calls\.routes\[1\] \(did 200\): script: no script 'nope'"):
        check(routes=[good, {"did": "200", "script": "nope"}])
    with pytest.raises(
        DialogError, match=r"calls\.routes\[0\] \(did 100\): script: .*needs variable\(s\): company"
    ):
        check(routes=[{"did": "100", "script": "inbound"}])
    closed = {
        **good,
        "hours": {},
        "out_of_hours_script": "survey",
        "out_of_hours_variables": {"name": "Анна"},
    }
    with pytest.raises(DialogError, match=r"out_of_hours_script: .*needs variable\(s\): company"):
        check(routes=[closed])
    with pytest.raises(DialogError, match=r"calls\.inbound_script: script: .*needs variable\(s\): company"):
        check(routes=[good], inbound_script="inbound")
