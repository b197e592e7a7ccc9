"""The Queues page: each agent queue's agents with their state and since when, how many are free and how many
customers wait (the numbers of `GET /api/v1/queues`); the page reloads itself every few seconds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.api.queues import agent_board, queues_now
from bot.dashboard.routes import PREFIX, User, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/queues", response_class=HTMLResponse)
def queues_page(request: Request, who: User) -> HTMLResponse:
    now = queues_now(*agent_board(request.app))
    return render(request, "queues.html", who, page="queues", live=now.live, queues=now.queues)
