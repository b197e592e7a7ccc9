"""Agent queues now (read scope): each queue's agents with their state and since when, free and waiting counts —
from this process's `AgentBoard` (the phone's, under `voicebot serve`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from bot.api.auth import Scope, require
from bot.config import TransferMode
from bot.handoff.agents import AgentBoard, AgentState

router = APIRouter(prefix="/queues", tags=["queues"], dependencies=[Depends(require(Scope.READ))])


class AgentOut(BaseModel):
    name: str
    label: str
    target: str = Field(description="the agent's SIP URI or extension")
    state: AgentState = Field(description="free, busy, ringing, unreachable or unknown (not probed yet)")
    since: datetime = Field(description="when the agent entered this state")


class QueueOut(BaseModel):
    name: str
    mode: TransferMode
    target: str
    agents: list[AgentOut]
    free: int = Field(description="agents free now (reachable, no call of the robot's)")
    waiting: int = Field(description="customers waiting in the queue's line for an agent now")
    max_waiting: int
    max_wait_seconds: float


class QueuesOut(BaseModel):
    live: bool = Field(description="false: no phone in this process, states are unknown and no one waits")
    queues: list[QueueOut]


def agent_board(app: FastAPI) -> tuple[AgentBoard, bool]:
    """The process's board (`app.state.agent_board`, or the phone's under `voicebot serve`) and whether it is live;
    without one, a board of the configured agents that knows nothing yet."""
    board = getattr(app.state, "agent_board", None)
    calls = getattr(app.state, "phone_calls", None)
    if board is None and calls is not None:
        board = calls.handoffs.board
    if board is not None:
        return board, True
    return AgentBoard(app.state.settings.handoff), False


def queues_now(board: AgentBoard, live: bool) -> QueuesOut:
    queues = []
    for name, settings in board.settings.queues.items():
        agents = [AgentOut(**status.as_json()) for status in board.agents(name)]
        queue = QueueOut(
            name=name, mode=settings.mode, target=settings.target, agents=agents,
            free=board.free_count(name), waiting=board.waiting_count(name),
            max_waiting=settings.max_waiting, max_wait_seconds=settings.max_wait_seconds,
        )  # fmt: skip
        queues.append(queue)
    return QueuesOut(live=live, queues=queues)


@router.get("", response_model=QueuesOut)
def list_queues(request: Request) -> QueuesOut:
    """Every configured queue, its agents' states (since when), how many are free and how many customers wait."""
    return queues_now(*agent_board(request.app))
