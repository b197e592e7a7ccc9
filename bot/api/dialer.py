"""The dialer of this process (read scope): whether it runs, and why it claims no contacts when it is paused."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from bot.api.auth import Scope, require
from bot.campaigns.dialer import DialerPause

router = APIRouter(prefix="/dialer", tags=["dialer"], dependencies=[Depends(require(Scope.READ))])


class DialerOut(BaseModel):
    running: bool  # a dialer runs in this process (`voicebot serve`); false in an API-only process
    paused: DialerPause | None = None  # why it claims no contacts now (None: it dials)
    calls_in_progress: int = 0


@router.get("", response_model=DialerOut)
def dialer_status(request: Request) -> DialerOut:
    """This process's dialer: running, its pause reason (line_down, database_unreachable) and calls up."""
    dialer = getattr(request.app.state, "dialer", None)
    if dialer is None:
        return DialerOut(running=False)
    return DialerOut(running=True, paused=dialer.paused, calls_in_progress=dialer.calls_in_progress)
