"""The voice pipeline over a real SIP call (our own user agents on loopback, PCMU over RTP), with the real dialog
service: the robot dials the customer, greets, hears "да" through RTP, confirms and hangs up."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from pipecat.workers.runner import WorkerRunner

from bot.calls.pipeline import VoiceCall
from bot.calls.simulate import caller_speech
from bot.config import load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import new_state
from bot.rasa.conversation import Conversation
from telephony import DialStatus, Phone, TelephonySettings
from telephony.transport import CallTransport
from tests.conftest import TINY
from tests.rasa.helpers import VARIABLES, client_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

SIP_PORT, RTP_MIN = 5990, 31800  # away from the telephony tests' port blocks


def phone_settings(user: str, sip_port: int, rtp_min: int) -> TelephonySettings:
    return TelephonySettings(
        registrar=None,
        trunk_mode=True,
        user=user,
        password="secret",
        local_host="127.0.0.1",
        sip_port=sip_port,
        rtp_port_min=rtp_min,
        rtp_port_max=rtp_min + 98,
        rtp_timeout=10,
    )


async def customer_says_yes(call, heard: list[bytes]) -> None:
    """Listen until the greeting is over (0.8 s of quiet after speech), then say "да"; record everything heard."""
    speech, last_voice = caller_speech("да", "ru"), None
    async for frame in call:
        heard.append(frame)
        if np.abs(np.frombuffer(frame, dtype=np.int16)).max() > 300:
            last_voice = time.monotonic()
        elif last_voice and time.monotonic() - last_voice > 0.8 and speech:
            call.write_audio(speech)
            speech = b""


async def test_a_reminder_over_a_real_sip_call(dialog_service, tmp_path):
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
        }
    )
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("reminder")
    answered: asyncio.Queue = asyncio.Queue()

    async def on_incoming(call):
        await call.answer()
        await answered.put(call)

    customer_phone = Phone(phone_settings("customer", SIP_PORT, RTP_MIN), on_incoming=on_incoming)
    robot_phone = Phone(phone_settings("robot", SIP_PORT + 1, RTP_MIN + 100))
    client = client_for(dialog_service)
    runner = WorkerRunner(handle_sigint=False)
    runner_task = asyncio.get_running_loop().create_task(runner.run(auto_end=False))
    await customer_phone.start()
    await robot_phone.start()
    try:
        dialed = await robot_phone.dial(f"sip:customer@127.0.0.1:{SIP_PORT}", ring_timeout=3)
        assert dialed.status is DialStatus.ANSWERED
        customer = await asyncio.wait_for(answered.get(), 2)
        heard: list[bytes] = []
        listening = asyncio.get_running_loop().create_task(customer_says_yes(customer, heard))
        conversation = Conversation(client, new_state(script, "ru", VARIABLES["reminder"]))
        voice_call = await VoiceCall.build(CallTransport(dialed.call), conversation, script, settings.voice)
        record = await asyncio.wait_for(voice_call.run(runner), 60)
        await asyncio.wait_for(listening, 5)
    finally:
        await runner.cancel()
        await runner_task
        await client.close()
        await robot_phone.stop()
        await customer_phone.stop()

    assert record.outcome == "confirmed" and record.ended_by == "robot"
    heard_caller = [
        (line.text.split()[0], line.intent) for line in record.transcript if line.speaker == "caller"
    ]
    # (over PCMU the tiny 12-word test model sometimes appends a spurious digit: "да один")
    assert heard_caller == [("да", "affirm")]
    answer = record.turns[1]["ms"]
    assert answer["first_audio_out"] < 2000
    robot_voice = np.abs(np.frombuffer(b"".join(heard), dtype=np.int16)) > 300
    assert robot_voice.mean() > 0.3, "the customer heard the robot over RTP"
