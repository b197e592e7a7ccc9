"""Agent availability and the queue wait over SIP on the rig (Kamailio registrar, our own phones as customers and
agents, the robot's OPTIONS probe through the registrar):

- an agent on a bridged call is busy on the board: the next customer is not rung into nothing but hears the queue
  message and hold audio, and is joined to the agent as soon as the first call ends;
- no agent frees within `max_wait_seconds`: the transfer fails with the customer still on the line (the desk's
  take-back with a callback), and a customer beyond `max_waiting` is taken back at once;
- an agent with no registration is shown unreachable by the probe and skipped without ringing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.config import HandoffSettings
from bot.handoff.agents import AgentBoard, AgentState
from bot.handoff.desk import Handoffs
from bot.handoff.probe import AgentProbe
from bot.handoff.queue_wait import WaitEnd
from bot.handoff.warm import LegResult, WarmTransfer, speaker
from telephony import CallState, TransferStatus
from tests.handoff.sales_transfer import sales_transfer
from tests.telephony.conftest import robot_settings
from tests.telephony.test_tel_transfer import wait_for
from voice.tts_piper import EspeakSynthesizer

pytestmark = [pytest.mark.sip, pytest.mark.slow]

SUMMARY = "Соединяю клиента. Причина: клиент просит специалиста."
MESSAGE = "Все специалисты заняты. Примерное время ожидания — две минуты."


def settings(agents: dict[str, str], max_wait: float = 30, max_waiting: int = 5) -> HandoffSettings:
    return HandoffSettings(
        agents={name: {"target": target} for name, target in agents.items()},
        queues={
            "sales": {
                "target": next(iter(agents.values())), "mode": "warm", "agents": list(agents),
                "max_wait_seconds": max_wait, "max_waiting": max_waiting, "handle_seconds": 120,
            }
        },
    )  # fmt: skip


class Robot:
    """The robot's side: each answered customer is warm-transferred to the `sales` queue with the board's line."""

    def __init__(self, board: AgentBoard) -> None:
        self.board, self.speak = board, speaker(EspeakSynthesizer("ru"))
        self.transfers: dict[str, WarmTransfer] = {}
        self.results: dict[str, tuple] = {}  # customer → (result, the customer's call state then)
        self.calls: dict[str, object] = {}  # customer → the robot's call with them
        self.phone = None

    async def answer(self, call) -> None:
        await call.answer()
        customer = call.info.caller
        transfer = sales_transfer(self.phone, self.board, call.call_id, SUMMARY, self.speak)
        self.transfers[customer] = transfer
        result = await transfer(call)
        self.results[customer] = (result, call.state)
        self.calls[customer] = call


async def start_robot(make_phone, kamailio, board: AgentBoard, port: int) -> Robot:
    robot = Robot(board)
    robot.phone = await make_phone(
        robot_settings((port, 50000, 50198), kamailio, f"robot-q{port}"), on_incoming=robot.answer
    )
    return robot


async def agent_phone(make_phone, kamailio, user: str, port: int, rtp: int, answered: list):
    async def answers(call):
        answered.append((time.monotonic(), call))
        await call.answer()

    return await make_phone(robot_settings((port, rtp, rtp + 198), kamailio, user), on_incoming=answers)


async def customer_call(make_phone, kamailio, user: str, port: int, rtp: int, robot: Robot):
    phone = await make_phone(robot_settings((port, rtp, rtp + 198), kamailio, user))
    dialled = await phone.dial(f"robot-q{robot.phone.settings.sip_port}", ring_timeout=10)
    assert dialled.answered, dialled
    heard: list[tuple[float, float]] = []  # (time, rms of the 20 ms frame)

    async def listen() -> None:
        async for frame in dialled.call:
            samples = np.frombuffer(frame, np.int16).astype(np.float64) / 32768
            heard.append((time.monotonic(), float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0))

    task = asyncio.create_task(listen())
    return dialled.call, heard, task


def quiet_runs(heard: list[tuple[float, float]], start: float, end: float) -> tuple[int, int, int]:
    """(100 ms frames, quiet ones under -54 dBFS, the longest quiet run) between `start` and `end`."""
    levels = [level for at, level in heard if start <= at <= end]
    frames = [max(levels[i : i + 5]) for i in range(0, len(levels) - 4, 5)]
    quiet = [level < 0.002 for level in frames]
    longest = run = 0
    for flag in quiet:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return len(frames), sum(quiet), longest


async def test_a_busy_agent_puts_the_next_customer_in_line_until_the_agent_frees(kamailio, make_phone):
    board = AgentBoard(settings({"anna": "agent-q1"}))
    robot = await start_robot(make_phone, kamailio, board, 5870)
    answered: list = []
    await agent_phone(make_phone, kamailio, "agent-q1", 5872, 50200, answered)
    probe = AgentProbe(board, robot.phone.options, interval=1.0)
    probe.start()
    try:
        assert await wait_for(lambda: board.agent("anna").state is AgentState.FREE, 5)
        first, _, first_task = await customer_call(make_phone, kamailio, "cust-q1", 5874, 50400, robot)
        assert await wait_for(lambda: "cust-q1" in robot.results, 30)
        assert board.agent("anna").state is AgentState.BUSY and board.free_count("sales") == 0

        second, heard, second_task = await customer_call(make_phone, kamailio, "cust-q2", 5876, 50600, robot)
        assert await wait_for(lambda: board.waiting_count("sales") == 1, 10)
        waiting_from = time.monotonic()
        await asyncio.sleep(8.0)  # the message, then hold audio
        assert "cust-q2" not in robot.results and len(answered) == 1  # the agent was not rung meanwhile
        await first.hangup()  # the first call ends: the agent is free
        freed_at = time.monotonic()
        assert await wait_for(lambda: "cust-q2" in robot.results, 30)
        joined_at = time.monotonic()
        await asyncio.sleep(1.0)
        assert second.state is CallState.ACTIVE
        await second.hangup()
    finally:
        await probe.stop()
        for task in (locals().get("first_task"), locals().get("second_task")):
            if task:
                task.cancel()
    result, state = robot.results["cust-q2"]
    report = robot.transfers["cust-q2"].report()
    print("queued customer:", result, report)
    print(
        f"connected {answered[1][0] - freed_at:.2f} s after the agent freed (rung at once, then the summary)"
    )
    assert result.status is TransferStatus.SUCCEEDED and len(answered) == 2
    assert answered[1][0] - freed_at < 3.0  # rung as soon as the board said the agent was free
    assert [leg["result"] for leg in report["legs"]] == [LegResult.IN_CALL, LegResult.ACCEPTED]
    wait = report["queue_wait"]
    assert wait["message"] == MESSAGE and wait["ended"] == WaitEnd.CONNECTED and wait["place"] == 1
    assert wait["expected_seconds"] == 120 and wait["seconds"] >= 8.0
    assert board.waiting_count("sales") == 0
    frames, quiet, longest = quiet_runs(heard, waiting_from + 0.5, joined_at - 1.0)
    print(
        f"queued customer heard {frames / 10:.1f} s while waiting: {quiet} quiet 100 ms frames, longest {longest}"
    )
    assert (
        frames >= 80 and quiet <= frames // 10 and longest <= 5
    )  # the message, then hold audio, never silence


async def test_no_agent_frees_within_the_maximum_wait_takeback_and_a_full_line_at_once(kamailio, make_phone):
    board = AgentBoard(settings({"anna": "agent-q2"}, max_wait=5, max_waiting=1))
    robot = await start_robot(make_phone, kamailio, board, 5880)
    answered: list = []
    await agent_phone(make_phone, kamailio, "agent-q2", 5882, 50800, answered)
    tasks = []
    try:
        first, _, task = await customer_call(make_phone, kamailio, "cust-q3", 5884, 51000, robot)
        tasks.append(task)
        assert await wait_for(lambda: "cust-q3" in robot.results, 30)
        second, _, task = await customer_call(make_phone, kamailio, "cust-q4", 5886, 51200, robot)
        tasks.append(task)
        assert await wait_for(lambda: board.waiting_count("sales") == 1, 10)
        third, _, task = await customer_call(make_phone, kamailio, "cust-q5", 5888, 51400, robot)
        tasks.append(task)
        assert await wait_for(lambda: "cust-q5" in robot.results, 10)  # beyond max_waiting: at once
        assert "cust-q4" not in robot.results
        assert await wait_for(lambda: "cust-q4" in robot.results, 15)
    finally:
        for task in tasks:
            task.cancel()
    (full, full_state), (timed_out, state) = robot.results["cust-q5"], robot.results["cust-q4"]
    report = robot.transfers["cust-q4"].report()
    print("timed out:", timed_out, report)
    assert (
        full.status is TransferStatus.FAILED
        and "line is full" in full.reason
        and full_state is CallState.ACTIVE
    )
    assert robot.transfers["cust-q5"].report()["queue_full"] is True
    assert timed_out.status is TransferStatus.FAILED and state is CallState.ACTIVE  # the robot still has them
    assert timed_out.reason == "no agent freed within 5 s in the queue's line"
    wait = report["queue_wait"]
    assert wait["ended"] == WaitEnd.TIMED_OUT and 5.0 <= wait["seconds"] < 7.0
    assert len(answered) == 1  # only the first customer's transfer rang the agent

    # the desk takes the timed-out customer back with a callback, as after a refused transfer
    desk = Handoffs(board.settings, board=board).for_call(robot.calls["cust-q4"].call_id, "ru")
    desk.queue, desk.warm = "sales", robot.transfers["cust-q4"]
    takeback = desk.finished(timed_out, connected=True, seconds=wait["seconds"])
    assert takeback is not None and "перезвоним" in takeback.say
    expected = datetime.now(UTC) + timedelta(minutes=board.settings.callback_minutes)
    assert abs((takeback.callback_at - expected).total_seconds()) < 5
    await desk.settle()
    for call in (first, second, third):
        await call.hangup()


async def test_an_unregistered_agent_is_shown_unreachable_and_skipped_without_ringing(kamailio, make_phone):
    board = AgentBoard(settings({"ghost": "agent-q-gone", "boris": "agent-q3"}))
    robot = await start_robot(make_phone, kamailio, board, 5890)
    answered: list = []
    await agent_phone(make_phone, kamailio, "agent-q3", 5892, 51600, answered)
    probe = AgentProbe(board, robot.phone.options, interval=30)
    await probe.probe_all()
    assert board.agent("ghost").state is AgentState.UNREACHABLE  # Kamailio: 404, no registration
    assert board.agent("boris").state is AgentState.FREE
    customer, _, task = await customer_call(make_phone, kamailio, "cust-q6", 5894, 51800, robot)
    try:
        assert await wait_for(lambda: "cust-q6" in robot.results, 30)
    finally:
        task.cancel()
        await customer.hangup()
    result, _ = robot.results["cust-q6"]
    legs = robot.transfers["cust-q6"].report()["legs"]
    print("unreachable skipped:", result, legs)
    assert result.status is TransferStatus.SUCCEEDED
    assert [(leg["agent"], leg["result"]) for leg in legs] == [
        ("ghost", LegResult.UNREACHABLE),
        ("boris", LegResult.ACCEPTED),
    ]
    assert "code" not in legs[0] and "answered_at" not in legs[0]  # never dialled
    assert robot.transfers["cust-q6"].report()["queue_wait"] is None


async def test_a_customer_hanging_up_in_the_line_leaves_it_abandoned(kamailio, make_phone):
    board = AgentBoard(settings({"anna": "agent-q4"}, max_wait=60))
    robot = await start_robot(make_phone, kamailio, board, 5896)
    answered: list = []
    await agent_phone(make_phone, kamailio, "agent-q4", 5898, 52000, answered)
    first, _, first_task = await customer_call(make_phone, kamailio, "cust-q7", 5900, 52200, robot)
    second, _, second_task = None, None, None
    try:
        assert await wait_for(lambda: "cust-q7" in robot.results, 30)
        second, _, second_task = await customer_call(make_phone, kamailio, "cust-q8", 5902, 52400, robot)
        assert await wait_for(lambda: board.waiting_count("sales") == 1, 10)
        await asyncio.sleep(3.0)
        await second.hangup()  # tired of waiting
        assert await wait_for(lambda: "cust-q8" in robot.results, 5)
        assert board.waiting_count("sales") == 0
    finally:
        for task in (first_task, second_task):
            if task:
                task.cancel()
        await first.hangup()
    result, state = robot.results["cust-q8"]
    wait = robot.transfers["cust-q8"].report()["queue_wait"]
    print("abandoned:", result, wait)
    assert result.status is TransferStatus.FAILED and state is CallState.ENDED
    assert result.reason == "the customer hung up after 3 s in the queue's line"
    assert wait["ended"] == WaitEnd.ABANDONED and 3.0 <= wait["seconds"] < 5.0
    assert len(answered) == 1
