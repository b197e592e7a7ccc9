"""Agents declared once and named by queues (a `file:line` error for an unknown name), the board's states from the
robot's own calls and the registrar's answers, the queue's line, and the queue message's wording."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import ConfigError, HandoffSettings, load_settings
from bot.handoff.agents import AgentBoard, AgentState
from bot.handoff.desk import Handoffs
from bot.handoff.probe import AgentProbe, reachable
from bot.handoff.queue_wait import expected_seconds, queue_message
from telephony.events import TransferResult, TransferStatus
from tests.handoff.test_records import QUALIFYING  # a qualified lead's exchanges through the offer script

SETTINGS = HandoffSettings(
    agents={"anna": {"target": "1001", "label": "Анна"}, "boris": {"target": "1002"}},
    queues={
        "sales": {"target": "1001", "mode": "warm", "agents": ["anna", "boris"]},
        "support": {"target": "1002", "agents": ["boris"]},
    },
)


def test_a_queue_naming_an_unknown_agent_is_a_file_line_error(tmp_path) -> None:
    config = tmp_path / "voicebot.yml"
    config.write_text(
        "handoff:\n"
        "  agents:\n"
        "    anna: {target: '1001'}\n"
        "    boris: {target: '1002'}\n"
        "  queues:\n"
        "    sales:\n"
        "      target: '1001'\n"
        "      agents:\n"
        "        - anna\n"
        "        - bob\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_settings(config, environ={})
    assert str(error.value) == (
        f"{config}:10: queue 'sales' names agent 'bob', which handoff.agents does not declare"
        " (expected one of: anna, boris)"
    )


def test_declared_agents_load_and_queues_dial_them_in_order(tmp_path) -> None:
    config = tmp_path / "voicebot.yml"
    config.write_text(
        "handoff:\n"
        "  agents: {anna: {target: 'sip:anna@pbx', label: Анна}, boris: {target: '1002'}}\n"
        "  queues: {sales: {target: '1001', mode: warm, agents: [boris, anna]}}\n",
        encoding="utf-8",
    )
    handoff = load_settings(config, environ={}).handoff
    assert handoff.agent_targets("sales") == [("boris", "1002"), ("anna", "sip:anna@pbx")]
    assert handoff.agents["anna"].label == "Анна"


async def test_the_board_follows_the_robots_calls_and_the_registrar() -> None:
    board = AgentBoard(SETTINGS)
    changes = []
    board.subscribe(lambda: changes.append(board.free_count("sales")))
    assert [s.state for s in board.agents("sales")] == [AgentState.UNKNOWN, AgentState.UNKNOWN]
    assert board.free_count("sales") == 0 and [s.name for s in board.dialable("sales")] == ["anna", "boris"]

    board.reachable("anna", True)
    board.reachable("boris", False)
    assert {s.name: s.state for s in board.agents("sales")} == {
        "anna": AgentState.FREE,
        "boris": AgentState.UNREACHABLE,
    }
    assert board.free_count("sales") == 1 and board.free_count("support") == 0
    free_since = board.agent("anna").since

    waiting = asyncio.create_task(board.changed())
    await asyncio.sleep(0)
    board.ringing("anna")
    await asyncio.wait_for(waiting, 1)  # told at once
    assert board.agent("anna").state is AgentState.RINGING and board.agent("anna").since >= free_since
    board.busy("anna")
    assert board.agent("anna").state is AgentState.BUSY and board.free_count("sales") == 0
    board.idle("anna")
    assert board.agent("anna").state is AgentState.FREE
    assert changes == [1, 1, 0, 0, 1]  # free count after each change

    assert board.join_line("sales", "call-1") == 0 and board.join_line("sales", "call-2") == 1
    assert board.waiting_count("sales") == 2 and board.waiting_count("support") == 0
    board.leave_line("sales", "call-1")
    assert board.position("sales", "call-2") == 0 and board.waiting_count("sales") == 1
    assert board.agent("anna").as_json()["label"] == "Анна"


async def test_the_probe_sets_reachability_from_the_options_answers() -> None:
    board = AgentBoard(SETTINGS)
    answers = {"1001": 200, "1002": 404}
    asked = []

    async def options(target: str, timeout: float) -> int | None:
        asked.append(target)
        return answers[target]

    probe = AgentProbe(board, options, interval=0.05)
    probe.start()
    await asyncio.sleep(0.12)
    await probe.stop()
    assert asked.count("1001") >= 2  # every interval
    assert board.agent("anna").state is AgentState.FREE
    assert board.agent("boris").state is AgentState.UNREACHABLE
    assert [reachable(code) for code in (200, 405, 404, 480, 408, None)] == [True, True] + [False] * 4


def test_the_queue_message_says_the_wait_with_the_noun_agreeing() -> None:
    assert queue_message("ru", 120) == "Все специалисты заняты. Примерное время ожидания — две минуты."
    assert queue_message("ru", 45) == "Все специалисты заняты. Примерное время ожидания — одна минута."
    assert queue_message("ru", 300) == "Все специалисты заняты. Примерное время ожидания — пять минут."
    assert queue_message("ru", 21 * 60) == (
        "Все специалисты заняты. Примерное время ожидания — двадцать одна минута."
    )
    assert queue_message("en", 120) == "All our specialists are busy. The expected wait is about two minutes."
    assert queue_message("en", 60) == "All our specialists are busy. The expected wait is about one minute."


def test_the_expected_wait_grows_with_the_place_in_line_and_shrinks_with_agents() -> None:
    assert expected_seconds(place=1, handle_seconds=120, agents=1) == 120
    assert expected_seconds(place=3, handle_seconds=120, agents=2) == 180
    assert expected_seconds(place=1, handle_seconds=120, agents=0) == 120  # none taking calls: as if one


async def test_a_blind_transfer_keeps_its_agent_busy_until_its_result() -> None:
    settings = HandoffSettings(
        agents={"anna": {"target": "sip:sales@pbx.example"}},
        queues={"sales": {"target": "sip:sales@pbx.example", "agents": ["anna"]}},
    )
    desk = Handoffs(settings)  # no database: nothing recorded, the board still follows the transfer
    board = desk.board
    board.reachable("anna", True)
    handoff = desk.for_call("call-1", "ru")
    transfer = await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    assert transfer.warm is None and board.agent("anna").state is AgentState.BUSY
    handoff.finished(TransferResult(TransferStatus.SUCCEEDED, 200, "OK"), connected=False, seconds=2.0)
    assert board.agent("anna").state is AgentState.FREE
