"""Inbound calls through a real SIP proxy: Kamailio stands in for the operator's trunk and delivers calls for two
numbers (DIDs) to the robot, which answers each with its route's script — the first greeting the caller by the name
the CRM lookup gave — and records every call in the `calls` table; out of hours the caller hears the route's
message; over the concurrent-call cap the busy message (or 486 where no voice can say it). The customers are our
own SIP phones dialling through Kamailio, pressing keys and speaking after the robot's prompts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls
from bot.config import BUSY_MESSAGES, Settings
from bot.core.clock import SimulatedClock
from bot.dialog.catalogue import load_catalogue
from bot.storage.db import Database
from bot.storage.models import Call as CallRow
from telephony import DialStatus, EndReason, Phone, TelephonySettings
from telephony.call import Call
from tests.calls.crm_stub import Crm, running_crm
from tests.calls.sip_robot import kamailio_trunk
from tests.calls.sip_robot import robot_settings as sip_robot_settings
from tests.calls.test_call_over_sip import customer_says_yes
from tests.rasa.helpers import VARIABLES, client_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

TRUNK_PORT, ROBOT_PORT, CUSTOMER_PORT = 5975, 5976, 5977  # Kamailio relays numbers 9… to the robot's port
RTP_MIN = 32600
CALLER = "+79161234567"
COMPANY = {"company": "Ромашка"}
CLOSED_MESSAGE = "Мы работаем с девяти до восемнадцати. Позвоните, пожалуйста, в рабочее время."


trunk = kamailio_trunk(TRUNK_PORT, ROBOT_PORT)


def robot_settings(
    env: dict[str, str], tmp_path: Path, extra_env: dict[str, str] | None = None, **calls
) -> Settings:
    return sip_robot_settings(env, tmp_path, ROBOT_PORT, RTP_MIN, extra_env=extra_env, **calls)


def customer_phone(trunk: str, n: int = 0) -> Phone:
    return Phone(
        TelephonySettings(
            proxy=trunk,
            trunk_mode=True,
            user="customer",
            sip_port=CUSTOMER_PORT + 10 * n,
            rtp_port_min=RTP_MIN + 200 + 100 * n,
            rtp_port_max=RTP_MIN + 298 + 100 * n,
            rtp_timeout=20,
        )
    )


@contextlib.asynccontextmanager
async def robot_and_two_customers(
    settings: Settings, dialog_env: dict[str, str], trunk: str, db: Database
) -> AsyncIterator[tuple[PhoneCalls, Phone, Phone]]:
    """The robot answering calls on `settings` and two started customer phones; all stopped afterwards."""
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    client = client_for(dialog_env)
    first, second = customer_phone(trunk), customer_phone(trunk, 1)
    await first.start()
    await second.start()
    try:
        async with PhoneCalls(settings, catalogue, client, store=CallStore(db)) as calls:
            yield calls, first, second
    finally:
        await client.close()
        await first.stop()
        await second.stop()


def loud(frame: bytes) -> bool:
    return bool(np.abs(np.frombuffer(frame, dtype=np.int16)).max() > 300)


async def customer_presses(call: Call, keys: str, heard: list[bytes]) -> None:
    """Press each key once a prompt is over (0.8 s of quiet after speech); hear everything until the call ends."""
    pending, last_voice = list(keys), None
    async for frame in call:
        heard.append(frame)
        if loud(frame):
            last_voice = time.monotonic()
        elif last_voice and time.monotonic() - last_voice > 0.8 and pending:
            await call.send_dtmf(pending.pop(0))
            last_voice = None


async def talk(
    phone: Phone, did: str, customer, timeout: float = 120
) -> tuple[EndReason | None, list[bytes]]:
    """Dial `did` through the trunk, let `customer(call, heard)` act until the robot hangs up."""
    dialed = await phone.dial(did, caller_id=CALLER, ring_timeout=10)
    assert dialed.status is DialStatus.ANSWERED, dialed
    heard: list[bytes] = []
    acting = asyncio.get_running_loop().create_task(customer(dialed.call, heard))
    try:
        reason = await asyncio.wait_for(dialed.call.wait_ended(), timeout)
    finally:
        acting.cancel()
    return reason, heard


async def until_recorded(db: Database, count: int) -> list[CallRow]:
    """The rows once `count` calls have ended (the robot writes the end after the caller heard the BYE)."""
    for _ in range(300):
        with db.session() as session:
            rows = session.scalars(select(CallRow).order_by(CallRow.id)).all()
        if len(rows) == count and all(row.state == "ended" for row in rows):
            return list(rows)
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} ended calls, have {[(r.called, r.state) for r in rows]}")


def robot_lines(row: CallRow) -> list[str]:
    return [line["text"] for line in row.transcript if line["speaker"] == "robot"]


async def test_two_numbers_two_scripts_each_call_recorded(dialog_service, trunk, sqlite_db, tmp_path):
    with running_crm(Crm({CALLER: {"name": "Анна", "customer_id": "C-17"}})) as crm:
        settings = robot_settings(
            dialog_service,
            tmp_path,
            routes=[
                {"did": "9001", "script": "inbound", "variables": COMPANY},
                {"did": "9002", "script": "reminder", "variables": VARIABLES["reminder"]},
            ],
            lookup_url=crm.url,
        )
        catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
        client = client_for(dialog_service)
        customer = customer_phone(trunk)
        await customer.start()
        try:
            async with PhoneCalls(settings, catalogue, client, store=CallStore(sqlite_db, "node-1")):
                # delivery (2) → "no, thanks" (2) → "that's all" (9): the robot says goodbye and hangs up
                first = await talk(customer, "9001", lambda call, heard: customer_presses(call, "229", heard))
                second = await talk(customer, "9002", customer_says_yes)
        finally:
            await client.close()
            await customer.stop()
    assert first[0] is EndReason.REMOTE_BYE and second[0] is EndReason.REMOTE_BYE  # the robot hung up
    inbound, reminder = await until_recorded(sqlite_db, 2)
    assert [(r.direction, r.caller, r.called, r.script, r.outcome, r.node) for r in (inbound, reminder)] == [
        ("inbound", CALLER, "9001", "inbound", "completed", "node-1"),
        ("inbound", CALLER, "9002", "reminder", "confirmed", "node-1"),
    ]
    assert robot_lines(inbound)[0] == "Здравствуйте, Анна!"  # one line per step said
    assert robot_lines(inbound)[1].startswith("Вы позвонили в компанию Ромашка.")
    assert [line["text"] for line in inbound.transcript if line["speaker"] == "caller"] == ["2", "2", "9"]
    assert robot_lines(reminder)[0].startswith("Здравствуйте, Анна!")  # the reminder's own greeting
    assert "напомина" in robot_lines(reminder)[0].lower()
    for row in (inbound, reminder):
        assert row.answered_at is not None and row.talk_seconds > 1 and row.ended_by == "robot"
        assert row.turns and row.turns[0]["kind"] == "start" and Path(row.recording_path).exists()
        assert Path(row.recording_path).stem == row.call_id
    assert crm.requests[0]["query"]["called"] == ["9001"]


async def test_out_of_hours_message_and_a_number_with_no_route(dialog_service, trunk, sqlite_db, tmp_path):
    settings = robot_settings(
        dialog_service,
        tmp_path,
        routes=[
            {
                "did": "9003",
                "script": "inbound",
                "variables": COMPANY,
                "hours": {"working_hours": {"start": "09:00", "end": "18:00"}, "rest_day_hours": None},
                "out_of_hours_message": CLOSED_MESSAGE,
            }
        ],
    )
    sunday_night = SimulatedClock(datetime(2025, 3, 16, 20, 0, tzinfo=UTC))
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    client = client_for(dialog_service)
    customer = customer_phone(trunk)
    await customer.start()
    try:
        async with PhoneCalls(settings, catalogue, client, store=CallStore(sqlite_db), clock=sunday_night):
            reason, heard = await talk(
                customer, "9003", lambda call, heard: customer_presses(call, "", heard)
            )
            refused = await customer.dial("9999", caller_id=CALLER, ring_timeout=10)
    finally:
        await client.close()
        await customer.stop()
    assert reason is EndReason.REMOTE_BYE and sum(loud(f) for f in heard) > 100  # seconds of speech heard
    assert (refused.status, refused.code) == (DialStatus.NO_ANSWER, 480)
    closed, unrouted = await until_recorded(sqlite_db, 2)
    assert (closed.called, closed.script, closed.outcome, closed.ended_by) == (
        "9003",
        "",
        "out_of_hours",
        "robot",
    )
    assert robot_lines(closed) == [CLOSED_MESSAGE] and closed.answered_at is not None
    assert (unrouted.called, unrouted.answered_at, unrouted.outcome) == ("9999", None, "")
    assert unrouted.error == "no inbound route for the number '9999'"


async def test_over_the_cap_callers_hear_the_busy_message_or_get_486_without_a_voice(
    dialog_service, trunk, sqlite_db, tmp_path
):
    settings = robot_settings(
        dialog_service,
        tmp_path,
        extra_env={"VOICEBOT_VOICE__TTS_EN": str(tmp_path / "missing-voice.onnx")},
        routes=[
            {"did": "9001", "script": "inbound", "variables": COMPANY},
            {"did": "9005", "script": "inbound", "language": "en", "variables": COMPANY},
        ],
        max_concurrent=1,
    )
    async with robot_and_two_customers(settings, dialog_service, trunk, sqlite_db) as (calls, first, second):
        talking = await first.dial("9001", caller_id="+79160000001", ring_timeout=10)
        assert talking.answered
        listening = asyncio.get_running_loop().create_task(customer_presses(talking.call, "", []))
        reason, heard = await talk(second, "9001", lambda call, heard: customer_presses(call, "", heard))
        no_voice = await second.dial("9005", caller_id="+79160000003", ring_timeout=10)
        assert calls.robot_calls == 1  # the first call talked all along
        await talking.call.hangup()
        listening.cancel()
    assert reason is EndReason.REMOTE_BYE and sum(loud(f) for f in heard) > 50
    assert (no_voice.status, no_voice.code) == (DialStatus.BUSY, 486)
    rows = {row.caller: row for row in await until_recorded(sqlite_db, 3)}
    busy, refused, first_call = rows[CALLER], rows["+79160000003"], rows["+79160000001"]
    assert (busy.outcome, busy.ended_by, robot_lines(busy)) == ("busy", "robot", [BUSY_MESSAGES["ru"]])
    assert (refused.outcome, refused.answered_at) == ("busy", None) and "no voice" in refused.error
    assert (first_call.outcome, first_call.ended_by) == ("abandoned", "caller")


async def test_over_the_cap_a_worker_set_to_refuse_answers_486_for_the_proxy_to_try_another(
    dialog_service, trunk, sqlite_db, tmp_path
):
    settings = robot_settings(
        dialog_service,
        tmp_path,
        routes=[{"did": "9001", "script": "inbound", "variables": COMPANY}],
        max_concurrent=1,
        over_capacity="refuse",
    )
    async with robot_and_two_customers(settings, dialog_service, trunk, sqlite_db) as (_, first, second):
        talking = await first.dial("9001", caller_id="+79160000001", ring_timeout=10)
        assert talking.answered
        refused = await second.dial("9001", caller_id="+79160000002", ring_timeout=10)
        await talking.call.hangup()
    assert (refused.status, refused.code) == (DialStatus.BUSY, 486)
    rows = {row.caller: row for row in await until_recorded(sqlite_db, 2)}
    row = rows["+79160000002"]
    assert (row.outcome, row.answered_at, row.error) == ("busy", None, "refused: over calls.max_concurrent")
