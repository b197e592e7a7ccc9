"""The dialer in simulated time, on SQLite and PostgreSQL: windows, retries, caps, DNC, states, crash recovery."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.campaigns import service
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules, Preset
from bot.campaigns.simulated import ScriptedPlacer
from bot.contacts import dnc
from bot.core.calendar import Hours, is_rest_day
from bot.core.clock import SimulatedClock
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Campaign, Contact
from tests.campaigns.simtools import SCRIPTS, dialer_for, make_campaign, run_until
from voice.amd import Verdict

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
MSK, NSK, NY = "Europe/Moscow", "Asia/Novosibirsk", "America/New_York"
A, B, C, D, E = "+79161110001", "+79161110002", "+79161110003", "+79161110004", "+79161110005"
BUSY = CallReport(result=TelephonyResult.BUSY, ring_seconds=3)
NO_ANSWER = CallReport(result=TelephonyResult.NO_ANSWER, ring_seconds=30)
FAILED = CallReport(result=TelephonyResult.FAILED)
MACHINE = CallReport(result=TelephonyResult.ANSWERED, amd=Verdict.MACHINE, outcome=Outcome.MACHINE)
EVERY_DAY = CampaignRules(rest_day_hours=Hours(start=time(9), end=time(21)), holidays_country="")


def calls_by_phone(placer: ScriptedPlacer) -> dict[str, list[datetime]]:
    result: dict[str, list[datetime]] = {}
    for call in placer.placed:
        result.setdefault(call.request.phone, []).append(call.at)
    return result


def contact_states(db: Database, campaign_id: int) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(select(Contact.phone, Contact.state).where(Contact.campaign_id == campaign_id))
        return dict(rows.all())


async def test_calls_only_inside_each_contacts_local_window(db: Database) -> None:
    start = MONDAY + timedelta(hours=3)  # 06:00 in Moscow, 10:00 in Novosibirsk, 22:00 Sunday in New York
    clock = SimulatedClock(start)
    placer = ScriptedPlacer(clock=clock)
    campaign = make_campaign(db, [(A, MSK), (B, NSK), (C, NY)], clock.now(), EVERY_DAY)
    await run_until(dialer_for(db, placer, clock), clock, MONDAY + timedelta(days=2), timedelta(minutes=10))
    calls = calls_by_phone(placer)
    assert sorted(calls) == [A, B, C]
    assert calls[B] == [start]
    for phone, zone in ((A, MSK), (C, NY)):
        local = calls[phone][0].astimezone(ZoneInfo(zone))
        assert local.date() == date(2025, 3, 3), (phone, local)
        assert time(9) <= local.time() < time(9, 10), (phone, local)
    assert set(contact_states(db, campaign).values()) == {"done"}
    with db.session() as session:
        assert session.get(Campaign, campaign).state == "completed"


async def test_retries_follow_the_policy_per_result(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))  # 10:00 in Moscow
    callback_at = MONDAY + timedelta(hours=12, minutes=30)
    callback = CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CALLBACK, callback_at=callback_at)
    placer = ScriptedPlacer(
        {A: [BUSY], B: [NO_ANSWER] * 5, C: [MACHINE], D: [callback], E: [FAILED]}, clock=clock
    )
    campaign = make_campaign(db, [(p, MSK) for p in (A, B, C, D, E)], clock.now(), EVERY_DAY)
    await run_until(dialer_for(db, placer, clock), clock, MONDAY + timedelta(hours=18), timedelta(minutes=1))
    calls = calls_by_phone(placer)
    delays = {phone: [b - a for a, b in itertools.pairwise(times)] for phone, times in calls.items()}
    assert delays[A] == [timedelta(minutes=15)]
    assert delays[B] == [timedelta(minutes=60)] * 2  # three attempts, then exhausted
    assert delays[C] == [timedelta(minutes=120)]
    assert calls[D][1] == callback_at
    assert delays[E] == [timedelta(minutes=30)]
    assert contact_states(db, campaign) == {A: "done", B: "exhausted", C: "done", D: "done", E: "done"}
    with db.session() as session:
        results = Counter(session.scalars(select(Attempt.result)))
    assert results == Counter({"no_answer": 3, "answered": 6, "busy": 1, "failed": 1})


async def test_debt_preset_keeps_the_230fz_caps_and_hours(db: Database) -> None:
    clock = SimulatedClock(MONDAY)
    asks_callback = CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CALLBACK)
    placer = ScriptedPlacer({A: [asks_callback] * 40, B: [NO_ANSWER] * 40}, clock=clock)
    rules = CampaignRules(
        preset=Preset.DEBT_230FZ, max_attempts=50, retry_minutes={"callback": 60, "no_answer": 180}
    )
    make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), rules, script="debt")
    await run_until(dialer_for(db, placer, clock), clock, MONDAY + timedelta(days=35), timedelta(minutes=60))
    calls = calls_by_phone(placer)
    answered = [t.astimezone(ZoneInfo(MSK)) for t in calls[A]]
    days = [t.date() for t in answered]
    assert len(set(days)) == len(days)  # at most one interaction per day
    for t in answered:
        assert sum(0 <= (t.date() - d).days < 7 for d in days) <= 2
        assert sum(0 <= (t.date() - d).days < 28 for d in days) <= 8
        hours = (time(9), time(20)) if is_rest_day(t.date(), "RU") else (time(8), time(22))
        assert hours[0] <= t.time() < hours[1], t
    assert 8 <= len(answered) <= 10  # about 2 a week over 5 weeks: the caps bind, they do not starve
    assert len(calls[B]) > 30  # unanswered calls are no interactions: several a day


async def test_do_not_call_global_per_campaign_and_from_the_dialog(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    placer = ScriptedPlacer(
        {C: [CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.DO_NOT_CALL)]}, clock=clock
    )
    first = make_campaign(db, [(A, MSK), (B, MSK), (C, MSK), (D, MSK)], clock.now(), EVERY_DAY)
    second = make_campaign(db, [(B, MSK), (C, MSK)], clock.now(), EVERY_DAY, start=False)
    with db.session() as session:
        dnc.add(session, A, clock.now(), reason="complaint")
        dnc.add(session, B, clock.now(), campaign_id=first)
    dialer = dialer_for(db, placer, clock)
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    assert sorted(calls_by_phone(placer)) == [C, D]
    assert contact_states(db, first) == {A: "dnc", B: "dnc", C: "dnc", D: "done"}
    with db.session() as session:
        service.apply(session, second, service.Action.START, clock.now())
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    assert [c.request.campaign_id for c in placer.placed if c.request.phone == B] == [second]
    assert contact_states(db, second) == {B: "done", C: "dnc"}  # C asked not to be called in the first


async def test_pause_resume_and_stop(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    placer = ScriptedPlacer(clock=clock)
    rules = EVERY_DAY.model_copy(update={"pacing_cps": 1 / 600})  # one call per 10 minutes
    campaign = make_campaign(db, [(f"+7916222{i:04d}", MSK) for i in range(6)], clock.now(), rules)
    dialer = dialer_for(db, placer, clock)
    await run_until(dialer, clock, clock.now() + timedelta(minutes=15), timedelta(minutes=5))
    assert len(placer.placed) == 2
    steps = [  # (action, then the dialer runs so long, calls placed in all by then)
        (service.Action.PAUSE, timedelta(days=1), 2),
        (service.Action.RESUME, timedelta(minutes=15), 4),
        (service.Action.STOP, timedelta(days=1), 4),
    ]
    for action, span, placed in steps:
        with db.session() as session:
            service.apply(session, campaign, action, clock.now())
        await run_until(dialer, clock, clock.now() + span, timedelta(minutes=5))
        assert len(placer.placed) == placed, action


class HeldPlacer:
    """Calls stay up until the test releases them."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.active = 0
        self.peak = 0

    async def place(self, request: CallRequest) -> CallReport:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await self.release.wait()
        self.active -= 1
        return CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CONFIRMED)


async def test_concurrency_limits_of_campaign_and_node(sqlite_db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    placer = HeldPlacer()
    rules = EVERY_DAY.model_copy(update={"max_concurrent": 3, "pacing_cps": 100})
    make_campaign(sqlite_db, [(f"+7916333{i:04d}", MSK) for i in range(10)], clock.now(), rules)
    make_campaign(sqlite_db, [(f"+7916444{i:04d}", MSK) for i in range(10)], clock.now(), rules)
    dialer = dialer_for(sqlite_db, placer, clock, max_lines=5)
    for _ in range(3):
        await dialer.tick()
        await asyncio.sleep(0)
        clock.advance(timedelta(seconds=1))
    assert placer.peak == 5  # 3 for the first campaign, 2 lines left for the second
    placer.release.set()
    await dialer.drain()


async def test_reconcile_after_a_crash_never_redials_the_same_attempt(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    rules = EVERY_DAY.model_copy(update={"pacing_cps": 10})
    campaign = make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), rules)
    crashed = dialer_for(db, HeldPlacer(), clock)
    await crashed.tick()
    await asyncio.sleep(0)
    for task in list(crashed._calls):  # the process dies: the calls never report back
        task.cancel()
    crashed.close()  # and its node lease goes with it
    clock.advance(timedelta(minutes=1))
    placer = ScriptedPlacer(clock=clock)
    restarted = dialer_for(db, placer, clock)
    assert restarted.reconcile() == 2
    with db.session() as session:
        interrupted = {a.id for a in session.scalars(select(Attempt).where(Attempt.state == "interrupted"))}
    await run_until(restarted, clock, clock.now() + timedelta(hours=2), timedelta(minutes=5))
    retried = [c.request for c in placer.placed]
    assert sorted(r.phone for r in retried) == [A, B]
    assert not interrupted & {r.attempt_id for r in retried}
    assert all(c.at >= MONDAY + timedelta(hours=7, minutes=31) for c in placer.placed)  # the "failed" delay
    assert contact_states(db, campaign) == {A: "done", B: "done"}


async def test_each_node_reconciles_only_its_own_attempts(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    rules = EVERY_DAY.model_copy(update={"pacing_cps": 10})
    make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), rules)
    node_a = dialer_for(db, HeldPlacer(), clock, node="a")
    await node_a.tick()
    await asyncio.sleep(0)
    assert dialer_for(db, ScriptedPlacer(), clock, node="b").reconcile() == 0  # a's calls are still up
    for task in list(node_a._calls):
        task.cancel()
    node_a.close()
    assert dialer_for(db, ScriptedPlacer(), clock, node="a").reconcile() == 2


async def test_higher_priority_campaign_gets_the_lines_first(sqlite_db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    placer = HeldPlacer()
    rules = EVERY_DAY.model_copy(update={"pacing_cps": 100})
    low = make_campaign(sqlite_db, [(f"+7916333{i:04d}", MSK) for i in range(3)], clock.now(), rules)
    high = make_campaign(sqlite_db, [(f"+7916444{i:04d}", MSK) for i in range(3)], clock.now(), rules)
    with sqlite_db.session() as session:
        session.get(Campaign, high).priority = 10
    dialer = dialer_for(sqlite_db, placer, clock, max_lines=2)
    await dialer.tick()
    with sqlite_db.session() as session:
        dialled = Counter(session.scalars(select(Attempt.campaign_id)))
    assert dialled == Counter({high: 2})
    assert low not in dialled
    placer.release.set()
    await dialer.drain()


async def test_campaign_completes_at_its_end_date(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    rules = CampaignRules.model_validate(
        EVERY_DAY.model_dump() | {"end_at": MONDAY + timedelta(hours=8), "retry_minutes": {"busy": 600}}
    )
    placer = ScriptedPlacer({A: [BUSY] * 3}, clock=clock)
    campaign = make_campaign(db, [(A, MSK)], clock.now(), rules)
    await run_until(dialer_for(db, placer, clock), clock, MONDAY + timedelta(hours=9), timedelta(minutes=10))
    assert len(placer.placed) == 1  # the retry would fall after the end date
    with db.session() as session:
        assert session.get(Campaign, campaign).state == "completed"
    assert contact_states(db, campaign) == {A: "expired"}


async def test_callback_time_from_the_dialog_outcome_data(db: Database) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))
    when = MONDAY + timedelta(hours=9, minutes=45)
    asks = CallReport(
        result=TelephonyResult.ANSWERED, outcome=Outcome.CALLBACK, outcome_data={"when": when.isoformat()}
    )
    placer = ScriptedPlacer({A: [asks]}, clock=clock)
    make_campaign(db, [(A, MSK)], clock.now(), EVERY_DAY)
    await run_until(dialer_for(db, placer, clock), clock, MONDAY + timedelta(hours=12), timedelta(minutes=5))
    assert [c.at for c in placer.placed] == [MONDAY + timedelta(hours=7), when]


async def test_rules_edited_while_paused_apply_to_deferred_contacts_but_keep_retry_times(
    db: Database,
) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=16))  # 19:00 in Moscow
    evening_off = CampaignRules.model_validate(
        EVERY_DAY.model_dump() | {"working_hours": {"start": "09:00", "end": "18:00"}, "pacing_cps": 10}
    )
    placer = ScriptedPlacer({B: [BUSY]}, clock=clock)
    campaign = make_campaign(db, [(A, MSK)], clock.now(), evening_off)
    other = make_campaign(db, [(B, MSK)], clock.now() - timedelta(hours=2), EVERY_DAY.model_copy())
    dialer = dialer_for(db, placer, clock)
    await dialer.tick()  # A is deferred to tomorrow 09:00; B is dialled and busy: retry in 15 minutes
    await dialer.drain()
    with db.session() as session:
        service.apply(session, campaign, service.Action.PAUSE, clock.now())
        service.edit(session, campaign, service.CampaignPatch(rules=EVERY_DAY), SCRIPTS, clock.now())
        service.apply(session, campaign, service.Action.RESUME, clock.now())
        service.apply(session, other, service.Action.PAUSE, clock.now())
        service.edit(session, other, service.CampaignPatch(priority=1, rules=EVERY_DAY), SCRIPTS, clock.now())
        service.apply(session, other, service.Action.RESUME, clock.now())
    clock.advance(timedelta(minutes=1))
    await run_until(dialer, clock, clock.now() + timedelta(minutes=20), timedelta(minutes=1))
    calls = calls_by_phone(placer)
    assert calls[A] == [MONDAY + timedelta(hours=16, minutes=1)]  # at once under the new hours
    assert calls[B][1] == MONDAY + timedelta(hours=16, minutes=15)  # the busy retry delay still holds


async def test_dialer_follows_the_local_window_across_a_dst_change(db: Database) -> None:
    saturday = datetime(2025, 3, 8, 12, tzinfo=UTC)  # New York moves to daylight time on Sunday 9 March
    clock = SimulatedClock(saturday)
    nine_to_half_past = {"start": "09:00", "end": "09:30"}
    rules = CampaignRules(
        working_hours=nine_to_half_past,
        rest_day_hours=nine_to_half_past,
        holidays_country="US",
        max_attempts=5,
        retry_minutes={"no_answer": 600},
    )
    placer = ScriptedPlacer({C: [NO_ANSWER] * 5}, clock=clock)
    make_campaign(db, [(C, NY)], clock.now(), rules)
    await run_until(dialer_for(db, placer, clock), clock, saturday + timedelta(days=3), timedelta(minutes=30))
    assert [c.at for c in placer.placed] == [
        datetime(2025, 3, 8, 14, tzinfo=UTC),  # 09:00 EST
        datetime(2025, 3, 9, 13, tzinfo=UTC),  # 09:00 EDT
        datetime(2025, 3, 10, 13, tzinfo=UTC),
    ]


async def test_a_scheduled_callback_is_the_next_attempt_at_that_time_inside_the_calling_hours(
    db: Database,
) -> None:
    clock = SimulatedClock(MONDAY + timedelta(hours=7))  # 10:00 in Moscow; calls 09:00-21:00 local
    in_hours = MONDAY + timedelta(hours=9, minutes=45)  # 12:45 in Moscow
    late = MONDAY + timedelta(hours=19, minutes=30)  # 22:30 in Moscow: the window is closed
    # a script may schedule a callback whatever outcome it records
    placer = ScriptedPlacer(
        {
            A: [CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CALLBACK, callback_at=in_hours)],
            B: [CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.COMPLETED, callback_at=late)],
        },
        clock=clock,
    )
    campaign = make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), EVERY_DAY)
    dialer = dialer_for(db, placer, clock)
    await run_until(dialer, clock, MONDAY + timedelta(hours=7, minutes=10), timedelta(minutes=1))
    with db.session() as session:
        contacts = {
            c.phone: (c.state, c.retry_at, c.next_attempt_at)
            for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign))
        }
    next_morning = MONDAY + timedelta(days=1, hours=6)  # Tuesday 09:00 in Moscow
    assert contacts == {A: ("pending", in_hours, in_hours), B: ("pending", late, next_morning)}
    await run_until(dialer, clock, MONDAY + timedelta(days=1, hours=7), timedelta(minutes=5))
    again = {phone: times[1:] for phone, times in calls_by_phone(placer).items()}
    assert again == {A: [in_hours], B: [next_morning]}
