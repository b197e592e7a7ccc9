"""`PhoneCalls`: the dialer's call placer and the inbound answerer, over real SIP calls on loopback with the
real dialog service and the voice pipeline (tiny Vosk model, espeak-ng caller)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls, check_inbound
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.config import CallsSettings, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogError
from bot.storage.db import Database
from bot.storage.models import Call as CallRow
from telephony import Phone
from tests.calls.test_call_over_sip import customer_says_yes, phone_settings
from tests.conftest import TINY
from tests.rasa.helpers import VARIABLES, client_for
from voice.amd import Verdict

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ROBOT_PORT, CUSTOMER_PORT, RTP_MIN = 5970, 5971, 32200


def robot_settings(env: dict[str, str], tmp_path: Path, **calls):
    settings = load_settings(
        environ={**env, "VOICEBOT_VOICE__ASR_RU": str(TINY), "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path)}
    )
    return settings.model_copy(
        update={
            "telephony": phone_settings("robot", ROBOT_PORT, RTP_MIN),
            "calls": CallsSettings(**calls),
        }
    )


TARGET = f"sip:customer@127.0.0.1:{CUSTOMER_PORT}"


def the_call(db: Database) -> CallRow:
    with db.session() as session:
        return session.scalars(select(CallRow)).one()


async def place_reminder(env: dict[str, str], tmp_path: Path, on_incoming, db: Database) -> CallReport:
    """The robot places one reminder call to a customer phone whose `on_incoming` decides what happens."""
    settings = robot_settings(env, tmp_path)
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    customer = Phone(phone_settings("customer", CUSTOMER_PORT, RTP_MIN + 100), on_incoming=on_incoming)
    client = client_for(env)
    await customer.start()
    try:
        async with PhoneCalls(settings, catalogue, client, store=CallStore(db)) as calls:
            request = CallRequest(0, 0, 0, TARGET, "", "reminder", "ru", VARIABLES["reminder"])
            return await asyncio.wait_for(calls.place(request), 90)
    finally:
        await client.close()
        await customer.stop()


async def test_an_answered_campaign_call_is_reported_and_recorded_with_its_outcome(
    dialog_service, tmp_path, sqlite_db
):
    heard: list[bytes] = []

    async def customer_answers(call):
        await call.answer()
        asyncio.get_running_loop().create_task(customer_says_yes(call, heard))

    report = await place_reminder(dialog_service, tmp_path, customer_answers, sqlite_db)
    assert report.result is TelephonyResult.ANSWERED
    assert report.outcome == "confirmed"
    assert report.amd is Verdict.HUMAN  # the detector ran and let the script start
    assert [line.speaker for line in report.transcript][:2] == ["robot", "caller"]
    assert report.talk_seconds > 1
    row = the_call(sqlite_db)
    assert (row.direction, row.state, row.called, row.script, row.outcome) == (
        "outbound",
        "ended",
        TARGET,
        "reminder",
        "confirmed",
    )
    assert (
        Path(row.recording_path).exists() and Path(row.recording_path).stem == row.call_id
    )  # the call's, not the report's
    assert (
        row.amd
        and row.amd != Verdict.MACHINE
        and row.amd_reason
        and row.answered_at is not None
        and row.ended_by == "robot"
    )
    assert [line["speaker"] for line in row.transcript][:2] == ["robot", "caller"]
    assert row.transcript[1]["event"] and row.turns[1]["kind"] == "text" and "asr_final" in row.turns[1]["ms"]


async def test_an_unanswered_number_is_reported_and_recorded_without_a_dialog(
    dialog_service, tmp_path, sqlite_db
):
    async def customer_rejects(call):
        await call.reject(486)

    report = await place_reminder(dialog_service, tmp_path, customer_rejects, sqlite_db)
    assert report.result is TelephonyResult.BUSY and report.outcome is None and "486" in report.error
    row = the_call(sqlite_db)
    assert (row.state, row.answered_at, row.outcome, row.error) == ("ended", None, "", "busy: 486 Busy Here")


async def test_an_inbound_call_is_answered_with_the_inbound_script(dialog_service, tmp_path):
    settings = robot_settings(
        dialog_service, tmp_path, inbound_script="reminder", inbound_variables=VARIABLES["reminder"]
    )
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    customer = Phone(phone_settings("customer", CUSTOMER_PORT, RTP_MIN + 100))
    client = client_for(dialog_service)
    await customer.start()
    heard: list[bytes] = []
    try:
        async with PhoneCalls(settings, catalogue, client) as calls:
            dialed = await customer.dial(f"sip:robot@127.0.0.1:{ROBOT_PORT}", ring_timeout=3)
            assert dialed.answered
            talking = asyncio.get_running_loop().create_task(customer_says_yes(dialed.call, heard))
            for _ in range(600):
                if not calls.phone.active_calls and heard:
                    break
                await asyncio.sleep(0.1)
            talking.cancel()
    finally:
        await client.close()
        await customer.stop()
    records = sorted(tmp_path.glob("*.json"))
    assert len(records) == 1
    assert json.loads(records[0].read_text())["outcome"] == "confirmed"


def test_a_wrong_inbound_configuration_fails_at_start(tmp_path):
    settings = load_settings(environ={}).model_copy(
        update={"calls": CallsSettings(inbound_script="reminder", inbound_variables={"name": "Анна"})}
    )
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    with pytest.raises(
        DialogError, match=r"calls.inbound_script: .*needs variable\(s\): amount, company, due_date"
    ):
        check_inbound(settings, catalogue)
