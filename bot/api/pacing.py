"""A campaign's pacing by free agents (read scope): whether the dialer of this process slows it, and why."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, EntityId
from bot.campaigns import service
from bot.campaigns.agent_pacing import PaceState
from bot.campaigns.rules import CampaignRules
from bot.storage.states import CampaignState

router = APIRouter(prefix="/campaigns", tags=["campaigns"], dependencies=[Depends(require(Scope.READ))])


class PacingOut(BaseModel):
    """The dialer's last pacing decision for the running campaign; null figures when it has none."""

    paced: bool = Field(description="the campaign's rules ask for pacing by agents (`rules.agent_pacing`)")
    dialer_running: bool = Field(description="a dialer runs in this process (`voicebot serve`)")
    state: PaceState | None = Field(None, description="open, slowed (fewer new calls) or paused (none)")
    queue: str | None = None
    agents: int | None = Field(None, description="agents of the queue")
    free: int | None = Field(None, description="agents free now")
    waiting: int | None = Field(None, description="customers waiting in the queue's line now")
    max_waiting: int | None = Field(None, description="the queue's line limit")
    calls_up: int | None = Field(None, description="the campaign's calls up and not handed off yet")
    arriving: int | None = Field(
        None, description="its hand-offs requested, not yet at an agent or in the line"
    )
    lead_rate: float | None = Field(None, description="leads per answered call, with the prior")
    answered: int | None = Field(None, description="answered calls the lead rate is measured on")
    allowed: int | None = Field(None, description="new calls the last decision allowed")


@router.get("/{campaign_id}/pacing", response_model=PacingOut)
def campaign_pacing(campaign_id: EntityId, session: DbSession, request: Request) -> PacingOut:
    """Why the campaign is slowed or paused by its agents ("0 of 2 agents free, line 1 of 1"), if it is."""
    campaign = service.get(session, campaign_id)
    paced = CampaignRules.model_validate(campaign.rules).agent_pacing is not None
    dialer = getattr(request.app.state, "dialer", None)
    pace = dialer.pacer.paces.get(campaign_id) if dialer is not None and dialer.pacer is not None else None
    if pace is None or not paced or campaign.state != CampaignState.RUNNING:
        return PacingOut(paced=paced, dialer_running=dialer is not None)
    return PacingOut(
        paced=True,
        dialer_running=True,
        state=pace.state,
        queue=pace.queue,
        agents=pace.agents,
        free=pace.free,
        waiting=pace.waiting,
        max_waiting=pace.max_waiting,
        calls_up=pace.calls_up,
        arriving=pace.arriving,
        lead_rate=round(pace.lead_rate, 3),
        answered=pace.answered,
        allowed=pace.allowed,
    )
