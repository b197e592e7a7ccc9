"""The warm transfer that the SIP hand-off tests make without the desk: to the `sales` queue's agents, waiting in
the queue's line on the board when none is free (the line's limits from the board's settings)."""

from __future__ import annotations

from bot.handoff.agents import AgentBoard
from bot.handoff.queue_wait import QueueLine
from bot.handoff.warm import CONNECTING, Speak, WarmTransfer
from telephony import Phone


def sales_transfer(phone: Phone, board: AgentBoard, call_id: str, summary: str, speak: Speak) -> WarmTransfer:
    """A Russian warm transfer of `call_id` from `phone` to the `sales` agents (8 s ringing each) with `summary`."""
    queue = board.settings.queues["sales"]
    line = QueueLine(
        board, "sales", call_id, "ru", queue.max_wait_seconds, queue.max_waiting, queue.handle_seconds
    )
    return WarmTransfer(
        phone, board.settings.agent_targets("sales"), summary=summary, connecting=CONNECTING["ru"], speak=speak,
        ring_seconds=8, board=board, line=line,
    )  # fmt: skip
