"""A script's `crm_event` and `schedule_callback` actions from real calls over SIP, with the real dialog service and
a real database: a caller who reaches the inbound script's complaint step by keys produces a signed
`complaint.received` at a CRM receiver on loopback; a debtor who asks to be called back on a day becomes that
contact's next attempt at that time, placed by the campaign dialer; an inbound caller who asks the same becomes a
callback task the API lists."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from standardwebhooks import Webhook

from bot.api.auth import Scope, create_key
from bot.calls.simulate import caller_speech
from bot.campaigns.rules import CampaignRules, next_allowed
from bot.config import Settings
from bot.core.clock import SimulatedClock
from bot.crm import signing
from bot.crm.delivery import DeliveryWorker
from bot.storage.models import Call as CallRow
from bot.storage.models import Contact
from bot.values.datetimes import parse_datetime
from bot.web import create_app
from telephony import EndReason, Phone, TelephonySettings
from telephony.call import Call
from tests.calls.sip_robot import kamailio_trunk, robot_answering
from tests.calls.sip_robot import robot_settings as sip_robot_settings
from tests.calls.test_inbound_over_sip import CALLER, loud, talk, until_recorded
from tests.campaigns.simtools import dialer_for, make_campaign
from tests.crm.test_webhook_delivery import FAST, deliver_all, subscribe
from tests.rasa.helpers import VARIABLES

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

TRUNK_PORT, ROBOT_PORT, CUSTOMER_PORT = 5955, 5956, 5957  # Kamailio relays numbers 9… to the robot's port
RTP_MIN = 34600
MOSCOW = ZoneInfo("Europe/Moscow")
DEBTOR = "+79161110007"


trunk = kamailio_trunk(TRUNK_PORT, ROBOT_PORT)


def robot_settings(env: dict[str, str], tmp_path: Path, proxy: str | None = None, **calls) -> Settings:
    return sip_robot_settings(env, tmp_path, ROBOT_PORT, RTP_MIN, proxy=proxy, **calls)


def customer_phone(proxy: str | None = None, on_incoming=None) -> Phone:
    settings = TelephonySettings(
        proxy=proxy,
        trunk_mode=True,
        user="customer",
        sip_port=CUSTOMER_PORT,
        rtp_port_min=RTP_MIN + 200,
        rtp_port_max=RTP_MIN + 298,
        rtp_timeout=20,
    )
    return Phone(settings, on_incoming=on_incoming)


def a_day_to_call_back() -> tuple[str, datetime]:
    """A number word the 12-word test model knows that the robot reads as a callback time a few days ahead (a day
    of the month, "семь": the 7th at 19:00), and that time in Moscow, the robot's clock."""
    now = datetime.now(MOSCOW)
    for word in ("семь", "восемь", "девять", "шесть", "пять", "четыре", "три"):
        when = parse_datetime(word, "ru", now.replace(tzinfo=None))
        if when and timedelta(hours=1) < when.replace(tzinfo=MOSCOW) - now < timedelta(days=25):
            return word, when.replace(tzinfo=MOSCOW)
    raise AssertionError(f"no number word names a callback time soon after {now}")


async def customer_answers(call: Call, heard: list[bytes], answers: list[str]) -> None:
    """After each robot prompt (0.8 s of quiet after its voice) give the next answer: a key, or words spoken."""
    pending, last_voice = list(answers), None
    async for frame in call:
        heard.append(frame)
        if loud(frame):
            last_voice = time.monotonic()
        elif last_voice and time.monotonic() - last_voice > 0.8 and pending:
            answer = pending.pop(0)
            if answer.isdigit():
                await call.send_dtmf(answer)
            else:
                call.write_audio(await asyncio.to_thread(caller_speech, answer, "ru"))
            last_voice = None


@pytest.mark.sip
async def test_a_complaint_reached_by_keys_reaches_the_crm_signed(
    dialog_service, trunk, sqlite_db, receiver, tmp_path
):
    secret = signing.new_secret()
    subscribe(sqlite_db, receiver.url, [secret], ["complaint.received"])
    settings = robot_settings(
        dialog_service,
        tmp_path,
        routes=[{"did": "9301", "script": "inbound", "variables": VARIABLES["inbound"]}],
    )
    customer = customer_phone(proxy=trunk)
    async with robot_answering(settings, dialog_service, sqlite_db, customer):
        # complaint (3) → the complaint in words → "connecting you to customer care": the event is emitted;
        # the customer's phone declines the transfer, the robot takes the call back and hangs up
        reason, _ = await talk(
            customer, "9301", lambda call, heard: customer_answers(call, heard, ["3", "да"])
        )
    assert reason is EndReason.REMOTE_BYE
    [row] = await until_recorded(sqlite_db, 1)
    steps = [line.get("step") for line in row.transcript if line["speaker"] == "robot"]
    assert "complaint_to_team" in steps, steps

    await deliver_all(DeliveryWorker(sqlite_db, timeout=2.0, retry_delays=FAST))

    [request] = receiver.requests  # the subscription wants only this event
    event = Webhook(secret).verify(request.body, request.headers)
    assert event == json.loads(request.body) and event["id"] == request.headers["webhook-id"]
    assert event["type"] == "complaint.received"
    data = event["data"]
    assert (data["call_id"], data["direction"], data["called"], data["script"]) == (
        row.call_id,
        "inbound",
        "9301",
        "inbound",
    )
    complaint = [line["text"] for line in row.transcript if line["speaker"] == "caller"][-1]
    assert data["data"] == {"text": complaint} and complaint.startswith("да")


async def test_a_callback_asked_on_a_campaign_call_is_the_contacts_next_attempt(
    dialog_service, sqlite_db, tmp_path
):
    word, expected = a_day_to_call_back()
    rules = CampaignRules()  # the default calling hours: 09:00-21:00, rest days 10:00-20:00
    opened = next_allowed(rules, ["Europe/Moscow"], datetime.now(UTC))
    clock = SimulatedClock(opened)  # the dialer's clock inside the window; the call itself runs now
    campaign = make_campaign(sqlite_db, [(DEBTOR, "Europe/Moscow")], clock.now(), rules, script="debt")
    with sqlite_db.session() as session:
        debt = VARIABLES["debt"]
        session.execute(update(Contact).values(name=debt["name"], variables=debt))

    async def answer(call: Call) -> None:
        await call.answer()
        # it is me (1) → I cannot pay (2) → call me back later (2) → a day, e.g. "семь"
        asyncio.get_running_loop().create_task(customer_answers(call, [], ["1", "2", "2", word]))

    settings = robot_settings(dialog_service, tmp_path, proxy=f"127.0.0.1:{CUSTOMER_PORT}")
    async with robot_answering(
        settings, dialog_service, sqlite_db, customer_phone(on_incoming=answer)
    ) as calls:
        dialer = dialer_for(sqlite_db, calls, clock)
        assert await dialer.tick() == 1
        await asyncio.wait_for(dialer.drain(), 120)

    [row] = await until_recorded(sqlite_db, 1)
    assert (row.campaign_id, row.outcome, row.ended_by) == (campaign, "callback", "robot"), row.transcript
    asked = datetime.fromisoformat(row.slots["callback_at"]).replace(tzinfo=MOSCOW)  # the robot's local time
    assert asked == expected
    with sqlite_db.session() as session:
        contact = session.scalars(select(Contact)).one()
        attempt_call = session.scalars(select(CallRow.attempt_id)).one()
    assert (contact.state, contact.attempts, contact.last_result) == ("pending", 1, "callback")
    assert contact.retry_at == asked
    assert contact.next_attempt_at == next_allowed(rules, ["Europe/Moscow"], asked)
    assert attempt_call is not None


@pytest.mark.sip
async def test_an_inbound_callers_callback_is_a_task_the_api_lists(
    dialog_service, trunk, sqlite_db, tmp_path
):
    word, expected = a_day_to_call_back()
    settings = robot_settings(
        dialog_service, tmp_path, routes=[{"did": "9302", "script": "debt", "variables": VARIABLES["debt"]}]
    )
    customer = customer_phone(proxy=trunk)
    async with robot_answering(settings, dialog_service, sqlite_db, customer):
        # it is me (1) → I cannot pay (2) → call me back later (2) → a day, e.g. "семь"
        answers = ["1", "2", "2", word]
        reason, _ = await talk(customer, "9302", lambda call, heard: customer_answers(call, heard, answers))
    assert reason is EndReason.REMOTE_BYE
    [row] = await until_recorded(sqlite_db, 1)
    assert (row.outcome, row.attempt_id) == ("callback", None), row.transcript
    asked = datetime.fromisoformat(row.slots["callback_at"]).replace(tzinfo=MOSCOW)
    assert asked == expected

    app = create_app(settings, db=sqlite_db)
    with sqlite_db.session() as session:
        key = create_key(session, "reader", [Scope.READ], datetime.now(UTC))[1]
    with TestClient(app) as api:
        listed = api.get("/api/v1/callbacks", headers={"X-API-Key": key}).json()
    assert [(t["call_id"], t["phone"], t["script"]) for t in listed] == [(row.call_id, CALLER, "debt")]
    assert datetime.fromisoformat(listed[0]["due_at"]) == asked
