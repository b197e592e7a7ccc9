"""The queue wait in whole calls: the real dialog service, the voice pipeline, `PhoneCalls` (its board and OPTIONS
probe) and a database. A first caller's complaint is warm-transferred to the only agent; a second caller's finds
the agent busy, waits in the line hearing the queue message, and is joined when the first call ends. The records
say so: `handoff.queued`, the second hand-off's `queue_wait` (connected), the queue message in its transcript."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.config import AgentSettings, QueueSettings, Settings
from bot.handoff.agents import AgentState
from bot.storage.models import Handoff, WebhookEvent
from telephony.call import Call
from tests.calls.sip_robot import kamailio_trunk, robot_answering
from tests.calls.test_inbound_over_sip import talk, until_recorded
from tests.calls.test_script_actions_over_sip import customer_answers
from tests.handoff.whole_call import COMPLAINTS_DID, complaints_robot, trunk_phone
from tests.telephony.test_tel_transfer import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

TRUNK_PORT, ROBOT_PORT, FIRST_PORT, SECOND_PORT, AGENT_PORT = 5905, 5906, 5907, 5908, 5909
RTP_MIN = 52600
AGENT = f"sip:agent@127.0.0.1:{AGENT_PORT}"
MESSAGE = "Все специалисты заняты. Примерное время ожидания — две минуты."

trunk = kamailio_trunk(TRUNK_PORT, ROBOT_PORT)


def robot_settings(env: dict[str, str], tmp_path) -> Settings:
    queue = QueueSettings(
        target=AGENT, mode="warm", agents=["olga"], ring_seconds=8, max_wait_seconds=60, handle_seconds=120
    )
    agents = {"olga": AgentSettings(target=AGENT)}
    extra_env = {"VOICEBOT_HANDOFF__PROBE_SECONDS": "2"}
    return complaints_robot(env, tmp_path, ROBOT_PORT, RTP_MIN, queue, agents, extra_env)


async def test_a_second_complaint_waits_in_line_and_is_joined_when_the_agent_frees(
    dialog_service, trunk, sqlite_db, tmp_path
):
    agent_calls: list[Call] = []
    first_done, second_done = asyncio.Event(), asyncio.Event()

    async def agent_answers(call: Call) -> None:
        agent_calls.append(call)
        await call.answer()

    async def first_caller(call: Call, heard: list[bytes]) -> None:
        answering = asyncio.create_task(customer_answers(call, heard, ["3", "да"]))
        await first_done.wait()
        answering.cancel()
        await call.hangup()

    async def second_caller(call: Call, heard: list[bytes]) -> None:
        answering = asyncio.create_task(customer_answers(call, heard, ["3", "да"]))
        await second_done.wait()
        answering.cancel()
        await call.hangup()

    settings = robot_settings(dialog_service, tmp_path)
    agent = trunk_phone("agent", AGENT_PORT, RTP_MIN + 600, on_incoming=agent_answers, rtp_timeout=60)
    first = trunk_phone("first", FIRST_PORT, RTP_MIN + 200, proxy=trunk, rtp_timeout=60)
    second = trunk_phone("second", SECOND_PORT, RTP_MIN + 400, proxy=trunk, rtp_timeout=60)
    async with robot_answering(settings, dialog_service, sqlite_db, agent, first, second) as calls:
        board = calls.handoffs.board
        assert await wait_for(lambda: board.agent("olga").state is AgentState.FREE, 10)  # the probe
        one = asyncio.create_task(talk(first, COMPLAINTS_DID, first_caller, timeout=120))
        assert await wait_for(lambda: board.agent("olga").state is AgentState.BUSY, 60)
        two = asyncio.create_task(talk(second, COMPLAINTS_DID, second_caller, timeout=120))
        assert await wait_for(lambda: board.waiting_count("complaints") == 1, 60)
        await asyncio.sleep(4.0)  # the second caller hears the queue message, then hold audio
        assert len(agent_calls) == 1
        first_done.set()
        joined = lambda: len(agent_calls) == 2 and board.agent("olga").state is AgentState.BUSY  # noqa: E731
        assert await wait_for(joined, 60)  # rung when the first call ended, told the summary, joined
        await asyncio.sleep(2.0)
        second_done.set()
        await asyncio.gather(one, two)
        rows = await until_recorded(sqlite_db, 2)
        await asyncio.sleep(0.5)

    with sqlite_db.session() as session:
        handoffs = session.scalars(select(Handoff).order_by(Handoff.id)).all()
        queued = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "handoff.queued")).all()
        queued = [event.payload for event in queued]
    assert [h.state for h in handoffs] == ["completed", "completed"]
    assert handoffs[0].context["warm"]["queue_wait"] is None
    wait = handoffs[1].context["warm"]["queue_wait"]
    print("second caller's wait:", wait, handoffs[1].context["warm"]["legs"])
    assert wait["ended"] == "connected" and wait["message"] == MESSAGE and wait["seconds"] >= 4.0
    assert [leg["result"] for leg in handoffs[1].context["warm"]["legs"]] == ["in_call", "accepted"]
    assert [(event["handoff_id"], event["place"]) for event in queued] == [(handoffs[1].id, 1)]
    second_row = next(row for row in rows if row.call_id == handoffs[1].context["call_id"])
    said = [line["text"] for line in second_row.transcript if line.get("event") == "handoff_queue"]
    print("queue lines in the transcript:", said)
    assert said and MESSAGE in said[0]
