"""Warm transfer in a whole call: the real dialog service, the voice pipeline, `PhoneCalls` and a database.

A caller reaches the inbound script's complaint step by keys, says the complaint and is handed to the
`complaints` queue, set `mode: warm`: the robot dials the agent (a SIP phone on loopback), who hears the summary,
then the caller, and the caller hears the agent; the hand-off row and `handoff.completed` carry every leg, the
summary and who accepted; the call's transcript the hand-off's steps, and its recording the bridged conversation.
With only a busy agent the robot takes the call back: the take-back message, outcome
`callback`, the row failed with the callback time and the busy leg."""

from __future__ import annotations

import asyncio
import time
import wave

import numpy as np
import pytest
from sqlalchemy import select

from bot.config import AgentSettings, QueueSettings, Settings
from bot.storage.models import Handoff, WebhookEvent
from telephony import EndReason, rig
from telephony.call import Call
from tests.calls.sip_robot import kamailio_trunk, robot_answering
from tests.calls.test_inbound_over_sip import loud, talk, until_recorded
from tests.calls.test_script_actions_over_sip import customer_answers
from tests.handoff.whole_call import COMPLAINTS_DID, complaints_robot, trunk_phone

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

TRUNK_PORT, ROBOT_PORT, CUSTOMER_PORT, AGENT_PORT = 5975, 5976, 5977, 5978  # Kamailio relays 9… to the robot
RTP_MIN = 35200
AGENT = f"sip:agent@127.0.0.1:{AGENT_PORT}"

trunk = kamailio_trunk(TRUNK_PORT, ROBOT_PORT)


def robot_settings(env: dict[str, str], tmp_path, agents: list[str]) -> Settings:
    queue = QueueSettings(target=agents[0], mode="warm", agents=agents, ring_seconds=8)
    declared = {agent: AgentSettings(target=agent) for agent in agents}
    return complaints_robot(env, tmp_path, ROBOT_PORT, RTP_MIN, queue, declared)


def pcm(frames: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(frames), np.int16)


async def test_a_complaint_is_warm_transferred_the_agent_hears_the_summary_then_the_caller(
    dialog_service, trunk, sqlite_db, tmp_path
):
    customer_says, agent_says = rig.speechlike(3.0, seed=5), rig.speechlike(3.0, seed=6)
    agent_heard: list[bytes] = []
    agent_talks = asyncio.Event()
    agent_calls: list[Call] = []

    async def agent_answers(call: Call) -> None:
        agent_calls.append(call)
        await call.answer()
        last_voice = None
        async for frame in call:
            agent_heard.append(frame)
            if loud(frame):
                last_voice = time.monotonic()
            elif last_voice and time.monotonic() - last_voice > 1.0 and not agent_talks.is_set():
                agent_talks.set()  # the summary is over: the agent greets the caller
                call.write_audio(agent_says.tobytes())

    async def caller(call: Call, heard: list[bytes]) -> None:
        answering = asyncio.create_task(customer_answers(call, heard, ["3", "да"]))
        await agent_talks.wait()
        call.write_audio(customer_says.tobytes())
        await asyncio.sleep(4.0)
        answering.cancel()
        await call.hangup()

    settings = robot_settings(dialog_service, tmp_path, [AGENT])
    agent = trunk_phone("agent", AGENT_PORT, RTP_MIN + 400, on_incoming=agent_answers)
    customer = trunk_phone("customer", CUSTOMER_PORT, RTP_MIN + 200, proxy=trunk)
    async with robot_answering(settings, dialog_service, sqlite_db, agent, customer):
        reason, heard = await talk(customer, COMPLAINTS_DID, caller, timeout=90)
        [row] = await until_recorded(sqlite_db, 1)
        await asyncio.sleep(0.5)
    assert reason is EndReason.LOCAL_HANGUP  # the caller hung up after talking with the agent
    assert (
        agent_calls and agent_calls[0].end_reason is EndReason.REMOTE_BYE
    )  # the robot hung the agent up too

    with sqlite_db.session() as session:
        [handoff] = session.scalars(select(Handoff)).all()
        events = {e.type: e.payload for e in session.scalars(select(WebhookEvent))}
    warm = handoff.context["warm"]
    print("hand-off:", handoff.state, handoff.answer_seconds, warm)
    assert handoff.state == "completed" and handoff.queue == "complaints"
    assert [(leg["agent"], leg["result"]) for leg in warm["legs"]] == [(AGENT, "accepted")]
    assert warm["accepted_by"] == AGENT and warm["wait_seconds"] > 0
    assert warm["summary"].startswith(
        "Соединяю клиента. Причина: клиент попросил соединить его со специалистом."
    )
    assert events["handoff.completed"]["warm"] == warm
    assert row.outcome == "transferred"

    # the agent: the summary first (voice from the start, nothing else), then the caller's own audio
    got = pcm(agent_heard)
    match = rig.compare_audio(customer_says, got)
    print("agent hears the caller:", match)
    assert match.snr_db >= 20 and match.corr >= 0.95 and match.dead_frames == 0, match
    summary_frames = [loud(f) for f in agent_heard[: match.lag // 160]]
    assert sum(summary_frames) >= 100  # ≥ 2 s of the summary before the caller's first word
    back = rig.compare_audio(agent_says, pcm(heard))
    print("caller hears the agent:", back)
    assert back.snr_db >= 20 and back.corr >= 0.95 and back.dead_frames == 0, back

    # the records: how it ended and who took it (CRM), the steps in the call's transcript, in order
    completed = events["handoff.completed"]
    assert (completed["ended"], completed["agent"]) == ("connected", AGENT)
    assert 0 < completed["agent_answer_seconds"] < completed["time_to_agent_seconds"]
    steps = [
        (line["event"], line["text"])
        for line in row.transcript
        if (line.get("event") or "").startswith("handoff_")
    ]
    print("hand-off steps:", steps)
    assert [event for event, _ in steps] == ["handoff_connecting", "handoff_summary", "handoff_joined"]
    assert steps[0][1] == "Соединяю вас со специалистом, оставайтесь на линии."
    # the agent's name is its SIP URI here, which the stored transcript masks like an e-mail address
    assert steps[1][1].startswith("Сводка агенту ") and steps[1][1].endswith(f": {warm['summary']}")
    assert steps[2][1].startswith("Клиент соединён с агентом ")
    times = [
        line["at"] for line in row.transcript if line.get("event") in ("handoff_connecting", "handoff_joined")
    ]
    assert 0 < times[0] < times[1] <= row.talk_seconds

    # the robot's recording goes on after the join: the caller (left) and the agent (right) talking
    with wave.open(row.recording_path) as recording:
        assert recording.getnchannels() == 2
        stereo = np.frombuffer(recording.readframes(recording.getnframes()), np.int16).reshape(-1, 2)
    for channel, said in ((0, customer_says), (1, agent_says)):
        kept = rig.compare_audio(said, stereo[:, channel].copy())
        print("recorded after the join:", "caller" if channel == 0 else "agent", kept)
        assert kept.snr_db >= 20 and kept.corr >= 0.95 and kept.dead_frames == 0, kept


async def test_with_only_a_busy_agent_the_robot_takes_the_call_back(
    dialog_service, trunk, sqlite_db, tmp_path
):
    async def busy(call: Call) -> None:
        await call.reject(486, "Busy Here")

    settings = robot_settings(dialog_service, tmp_path, [AGENT])
    agent = trunk_phone("agent", AGENT_PORT, RTP_MIN + 400, on_incoming=busy)
    customer = trunk_phone("customer", CUSTOMER_PORT, RTP_MIN + 200, proxy=trunk)
    async with robot_answering(settings, dialog_service, sqlite_db, agent, customer):
        reason, _ = await talk(
            customer,
            COMPLAINTS_DID,
            lambda call, heard: customer_answers(call, heard, ["3", "да"]),
            timeout=90,
        )
        [row] = await until_recorded(sqlite_db, 1)
        await asyncio.sleep(0.5)
    assert reason is EndReason.REMOTE_BYE  # the robot said the take-back and hung up
    with sqlite_db.session() as session:
        [handoff] = session.scalars(select(Handoff)).all()
        events = {e.type: e.payload for e in session.scalars(select(WebhookEvent))}
    print("hand-off:", handoff.state, handoff.failure, handoff.context["warm"])
    assert handoff.state == "failed" and handoff.callback_at is not None
    assert [(leg["agent"], leg["result"], leg["code"]) for leg in handoff.context["warm"]["legs"]] == [
        (AGENT, "busy", 486)
    ]
    assert events["handoff.failed"]["taken_back"] and events["handoff.failed"]["warm"]["accepted_by"] is None
    assert row.outcome == "callback"
    assert any("перезвоним" in line["text"] for line in row.transcript if line["speaker"] == "robot")
    assert events["handoff.failed"]["ended"] == "taken_back"
    steps = [line["text"] for line in row.transcript if (line.get("event") or "").startswith("handoff_")]
    assert steps[0] == "Соединяю вас со специалистом, оставайтесь на линии."
    assert len(steps) == 2 and steps[1].startswith("Вызов агента ") and steps[1].endswith(": занят.")
