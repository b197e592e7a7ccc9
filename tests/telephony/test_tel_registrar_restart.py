"""The PBX/registrar restarting (issue 17 item 2): the test rig's real Kamailio (bindings kept in memory) is stopped
and started again. While it is away the robot's REGISTER refreshes fail and the line is down: the dialer pauses
with `line_down` (in `/api/v1/dialer`) and dials nobody; once it is back the robot registers again with back-off,
the dialer resumes and dials every contact once, and an inbound call through the restarted PBX reaches the robot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from datetime import time as dt_time
from time import monotonic

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from bot.api.auth import Scope, create_key
from bot.campaigns.dialer import Dialer, DialerPause
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings, PathsSettings, Settings
from bot.core.calendar import Hours
from bot.core.clock import SystemClock
from bot.outcomes import Outcome
from bot.storage.models import Contact
from bot.web import create_app
from telephony import Phone, rig
from telephony.events import DialStatus, EndReason
from tests.campaigns.simtools import make_campaign
from tests.chaos import ChaosRow, record
from tests.conftest import TEST_SLOT
from tests.telephony.conftest import robot_settings

pytestmark = [pytest.mark.sip, pytest.mark.slow]

# This slot's ports, clear of the suite's fixed blocks (5160+, 5300+, 30000+) and of test_tel_hostile's.
KAMAILIO = 46000 + 10 * TEST_SLOT
ROBOT_PORTS = (KAMAILIO + 2, 47000 + 400 * TEST_SLOT, 47000 + 400 * TEST_SLOT + 198)
CUSTOMER_PORTS = (KAMAILIO + 3, 47200 + 400 * TEST_SLOT, 47200 + 400 * TEST_SLOT + 198)
ALL_DAY = Hours(start=dt_time(0), end=dt_time(23, 59, 59))
RULES = CampaignRules(working_hours=ALL_DAY, rest_day_hours=ALL_DAY, holidays_country="", max_concurrent=1)
CONTACTS = 2


class PhonePlacer:
    """Dials the registered customer through the PBX for each contact (a short call, hung up by the robot); its
    line is up while the robot's phone is registered (`LineStatus`)."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.dials: list[int] = []

    def line_up(self) -> bool:
        return self.phone.line_up

    async def place(self, request: CallRequest) -> CallReport:
        self.dials.append(request.contact_id)
        result = await self.phone.dial("customer", ring_timeout=10)
        if result.status is not DialStatus.ANSWERED:
            return CallReport(result=TelephonyResult.FAILED, error=result.reason)
        await asyncio.sleep(0.3)
        await result.call.hangup()
        return CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CONFIRMED)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), seconds)
    except TimeoutError:
        raise AssertionError(f"not within {seconds:g} s: {what}") from None


async def calls_left(*phones: Phone, seconds: float = 3.0) -> int:
    """The calls still up on `phones` once those ending have had `seconds` to go (the chaos table)."""
    deadline = monotonic() + seconds
    while any(phone.active_calls for phone in phones) and monotonic() < deadline:
        await asyncio.sleep(0.1)
    return sum(phone.active_calls for phone in phones)


def answering(calls: list[str]) -> Callable[[object], Awaitable[None]]:
    async def on_incoming(call) -> None:
        calls.append(call.info.caller)
        await call.answer()
        asyncio.get_running_loop().call_later(0.5, lambda: asyncio.ensure_future(call.hangup()))

    return on_incoming


async def test_the_dialer_pauses_while_the_registrar_is_down_and_all_resumes_when_it_is_back(tmp_path):
    kamailio = rig.start_kamailio(tmp_path, KAMAILIO, KAMAILIO + 1)
    settings = Settings(paths=PathsSettings(data_dir=tmp_path / "var"))
    app = create_app(settings)
    db = app.state.db
    with db.session() as session:
        key = create_key(session, "read key", [Scope.READ], datetime.now(UTC))[1]
    robot_inbound: list[str] = []
    customer_inbound: list[str] = []
    fast = {"register_check_seconds": 1.0}
    robot = Phone(
        robot_settings(ROBOT_PORTS, KAMAILIO, "robot", **fast), on_incoming=answering(robot_inbound)
    )
    customer = Phone(
        robot_settings(CUSTOMER_PORTS, KAMAILIO, "customer", **fast), on_incoming=answering(customer_inbound)
    )
    stop = asyncio.Event()
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api", headers={"X-API-Key": key}
    )
    try:
        await robot.start()
        await customer.start()
        placer = PhonePlacer(robot)
        dialer = Dialer(db, placer, SystemClock(), DialerSettings(node="a", tick_seconds=0.2, max_lines=1))
        app.state.dialer = dialer
        running = asyncio.create_task(dialer.run(stop))
        assert (await api.get("/api/v1/dialer")).json() == {
            "running": True,
            "paused": None,
            "calls_in_progress": 0,
        }

        calls_up = robot.active_calls
        await asyncio.to_thread(kamailio.stop)
        await until(lambda: not robot.line_up, 15, "the robot finds its registration lost")
        campaign = await asyncio.to_thread(
            make_campaign,
            db,
            [(f"+7916000{n:04d}", "Europe/Moscow") for n in range(CONTACTS)],
            datetime.now(UTC),
            RULES,
        )
        await until(lambda: dialer.paused is DialerPause.LINE_DOWN, 5, "the dialer pauses: line down")
        await asyncio.sleep(2.0)
        assert placer.dials == [], "nobody is dialled while the line is down"
        status = (await api.get("/api/v1/dialer")).json()
        assert status["paused"] == "line_down"

        kamailio = await asyncio.to_thread(rig.start_kamailio, tmp_path, KAMAILIO, KAMAILIO + 1)
        back = monotonic()
        await until(lambda: robot.line_up, 30, "the robot registers again")
        line_up_after = monotonic() - back
        await until(lambda: customer.line_up, 30, "the customer registers again")
        await until(
            lambda: len(placer.dials) == CONTACTS and not dialer.calls_in_progress,
            30,
            "every contact dialled",
        )
        with db.session() as session:
            done = set(
                session.scalars(  # the report's outcome, as its contact's last result
                    select(Contact.id).where(
                        Contact.campaign_id == campaign, Contact.last_result == "confirmed"
                    )
                )
            )
        record(
            ChaosRow(
                fault="Kamailio restarted, dialer paused (line down)",
                calls_up=calls_up,
                contacts=CONTACTS,
                lost=CONTACTS - len(done),
                dialled_twice=len(placer.dials) - len(set(placer.dials)),
                events_lost=None,
                calls_left_live=await calls_left(robot, customer),
                seconds_to_recover=round(line_up_after, 1),
            )
        )
        assert dialer.paused is None
        assert (await api.get("/api/v1/dialer")).json()["paused"] is None
        assert sorted(placer.dials) == sorted(set(placer.dials)), "nobody dialled twice"
        assert len(customer_inbound) == CONTACTS, "each dial reached the customer through the restarted PBX"
        with db.session() as session:
            outcomes = list(
                session.scalars(select(Contact.last_result).where(Contact.campaign_id == campaign))
            )
        assert outcomes == ["confirmed"] * CONTACTS

        inbound = await customer.dial("robot", ring_timeout=10)
        assert inbound.status is DialStatus.ANSWERED, "inbound reaches the robot after it registered again"
        await inbound.call.wait_ended()
        assert robot_inbound == ["customer"]
    finally:
        stop.set()
        if "running" in locals():
            await asyncio.wait_for(running, 20)
        await api.aclose()
        await robot.stop()
        await customer.stop()
        kamailio.stop()
        db.dispose()


async def test_a_phone_started_while_the_registrar_is_away_registers_when_it_comes(tmp_path):
    """`voicebot serve` starts with the PBX away (PhoneCalls starts its phone with `wait_for_registrar`): the start
    returns with the line down, and the phone registers (and takes inbound calls) once the registrar answers."""
    robot_inbound: list[str] = []
    robot = Phone(
        robot_settings(ROBOT_PORTS, KAMAILIO, "robot", register_check_seconds=1.0),
        on_incoming=answering(robot_inbound),
    )
    customer = Phone(robot_settings(CUSTOMER_PORTS, KAMAILIO, "customer"))
    kamailio = None
    try:
        await robot.start(wait_for_registrar=True)  # no answer to its REGISTER within the 8 s timeout
        assert not robot.line_up
        calls_up = robot.active_calls
        kamailio = await asyncio.to_thread(rig.start_kamailio, tmp_path, KAMAILIO, KAMAILIO + 1)
        back = monotonic()
        await until(lambda: robot.line_up, 15, "the robot registers once the registrar answers")
        line_up_after = monotonic() - back
        await customer.start()
        inbound = await customer.dial("robot", ring_timeout=10)
        if inbound.status is DialStatus.ANSWERED:
            await inbound.call.wait_ended()
        record(
            ChaosRow(
                fault="Kamailio away when the robot starts",
                calls_up=calls_up,
                contacts=None,
                lost=int(robot_inbound != ["customer"]),  # the inbound call after it came
                dialled_twice=None,
                events_lost=None,
                calls_left_live=await calls_left(robot, customer),
                seconds_to_recover=round(line_up_after, 1),
            )
        )
        assert inbound.status is DialStatus.ANSWERED
        assert robot_inbound == ["customer"]
    finally:
        await robot.stop()
        await customer.stop()
        if kamailio is not None:
            kamailio.stop()


async def test_a_call_up_while_the_pbx_restarts_keeps_its_audio_and_ends_through_it(tmp_path):
    """Media flows peer to peer (the PBX relays signalling only): a call up while Kamailio restarts keeps its audio
    both ways, and its BYE afterwards follows the recorded route through the restarted PBX."""
    kamailio = rig.start_kamailio(tmp_path, KAMAILIO, KAMAILIO + 1)
    answered: list = []

    async def on_incoming(call) -> None:
        answered.append(call)
        await call.answer()

    robot = Phone(robot_settings(ROBOT_PORTS, KAMAILIO, "robot"))
    customer = Phone(robot_settings(CUSTOMER_PORTS, KAMAILIO, "customer"), on_incoming=on_incoming)
    tone = (np.sin(2 * np.pi * 440 * np.arange(160) / 8000) * 8000).astype(np.int16).tobytes()
    try:
        await robot.start()
        await customer.start()
        dialled = await robot.dial("customer", ring_timeout=10)
        assert dialled.status is DialStatus.ANSWERED
        call, [far] = dialled.call, answered
        heard = 0

        async def listen() -> None:
            nonlocal heard
            async for frame in far:
                heard += int(np.abs(np.frombuffer(frame, dtype=np.int16)).max() > 1000)

        listener = asyncio.create_task(listen())
        for _ in range(50):  # 1 s of tone before the PBX goes
            call.write_audio(tone)
        await asyncio.sleep(1.0)
        calls_up = robot.active_calls
        await asyncio.to_thread(kamailio.stop)
        before = heard
        for _ in range(150):  # 3 s of tone while it is away
            call.write_audio(tone)
        await asyncio.sleep(3.0)
        heard_while_away = heard - before
        kamailio = await asyncio.to_thread(rig.start_kamailio, tmp_path, KAMAILIO, KAMAILIO + 1)

        hung_up = await call.hangup()
        far_end = await asyncio.wait_for(far.wait_ended(), 10)
        await asyncio.wait_for(listener, 5)
        record(
            ChaosRow(
                fault="Kamailio restarted under a live call",
                calls_up=calls_up,
                contacts=None,
                lost=int(heard_while_away < 120),  # the call lost its audio
                dialled_twice=None,
                events_lost=None,
                calls_left_live=await calls_left(robot, customer),
                seconds_to_recover=None,  # media never went through the PBX
            )
        )
        assert heard_while_away >= 120, f"{heard_while_away} tone frames of 150 while the PBX was away"
        assert hung_up
        assert far_end is EndReason.REMOTE_BYE
    finally:
        await robot.stop()
        await customer.stop()
        kamailio.stop()
