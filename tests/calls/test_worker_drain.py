"""A worker stopping (SIGTERM in `voicebot serve`) drains: `PhoneCalls.drain` takes no new calls (inbound refused
with 503, the dialer's late requests not dialled), lets the calls up finish, and hangs up on those still up when
the drain time is over. Real SIP calls on loopback, the real dialog service and voice pipeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls
from bot.campaigns.placer import CallRequest, TelephonyResult
from bot.config import CallsSettings, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.storage.db import Database
from bot.storage.models import Call as CallRow
from telephony import EndReason, Phone
from tests.calls.test_call_over_sip import phone_settings
from tests.conftest import TINY
from tests.rasa.helpers import VARIABLES, client_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ROBOT_PORT, CUSTOMER_PORT, RTP_MIN = 5980, 5981, 34600
ROBOT = f"sip:robot@127.0.0.1:{ROBOT_PORT}"


@asynccontextmanager
async def robot_and_customer(env: dict[str, str], tmp_path: Path, db: Database) -> AsyncIterator[tuple]:
    """The robot answering inbound calls with the reminder script (its greeting lasts ~15 s), and a customer."""
    settings = load_settings(
        environ={**env, "VOICEBOT_VOICE__ASR_RU": str(TINY), "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path)}
    ).model_copy(
        update={
            "telephony": phone_settings("robot", ROBOT_PORT, RTP_MIN),
            "calls": CallsSettings(inbound_script="reminder", inbound_variables=VARIABLES["reminder"]),
        }
    )
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    customer = Phone(phone_settings("customer", CUSTOMER_PORT, RTP_MIN + 100))
    client = client_for(env)
    await customer.start()
    try:
        async with PhoneCalls(settings, catalogue, client, store=CallStore(db, "w1")) as calls:
            yield calls, customer
    finally:
        await client.close()
        await customer.stop()


async def call_up(customer: Phone) -> tuple:
    """The customer calls the robot and listens in silence; returns the call and the listening task."""
    dialed = await customer.dial(ROBOT, ring_timeout=3)
    assert dialed.answered

    async def listen() -> None:
        async for _ in dialed.call:
            pass

    listening = asyncio.get_running_loop().create_task(listen())
    await asyncio.sleep(1.5)  # the greeting has begun
    return dialed.call, listening


def rows(db: Database) -> list[CallRow]:
    with db.session() as session:
        return list(session.scalars(select(CallRow)))


async def test_a_draining_worker_takes_no_new_call_and_lets_the_call_up_finish(
    dialog_service, tmp_path, sqlite_db
):
    async with robot_and_customer(dialog_service, tmp_path, sqlite_db) as (calls, customer):
        call, listening = await call_up(customer)
        started = time.monotonic()
        draining = asyncio.get_running_loop().create_task(calls.drain(60))
        await asyncio.sleep(0.2)

        refused = await customer.dial(ROBOT, ring_timeout=3)
        assert (refused.answered, refused.code) == (False, 503), "a new inbound call is refused"
        request = CallRequest(7, 1, 1, f"sip:customer@127.0.0.1:{CUSTOMER_PORT}", "", "reminder", "ru")
        report = await calls.place(request)
        assert report.result is TelephonyResult.FAILED and "not dialled" in report.error

        await asyncio.sleep(1.0)
        await call.hangup()  # the caller ends the call up
        assert await asyncio.wait_for(draining, 20) == 0, "nothing was left to hang up"
        assert time.monotonic() - started < 20, "the drain ended with the last call, not at its limit"
        listening.cancel()

    [row] = rows(sqlite_db)  # the refused call and the undialled request left no row
    assert (row.direction, row.state, row.ended_by) == ("inbound", "ended", "caller")


async def test_a_call_still_up_when_the_drain_time_is_over_is_hung_up(dialog_service, tmp_path, sqlite_db):
    async with robot_and_customer(dialog_service, tmp_path, sqlite_db) as (calls, customer):
        call, listening = await call_up(customer)  # the customer stays on the line, silent
        started = time.monotonic()
        assert await calls.drain(3.0) == 1
        elapsed = time.monotonic() - started
        assert 3.0 <= elapsed < 3.0 + 5.0, f"the drain took {elapsed:.1f} s for a limit of 3 s"
        assert call.end_reason is EndReason.REMOTE_BYE, "the robot hung up on the customer"
        listening.cancel()

    [row] = rows(sqlite_db)
    assert (row.state, row.ended_by) == ("ended", "shutdown")
    assert row.transcript[0]["speaker"] == "robot", "the call's record is kept"
