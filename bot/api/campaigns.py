"""Campaign endpoints: CRUD, start/pause/resume/stop, results export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from bot.access.session import Principal
from bot.api.auth import Scope, actor_of, require
from bot.api.deps import AppSettings, DbSession, EntityId, Now
from bot.api.schemas import CampaignOut
from bot.audit import AuditAction, record
from bot.campaigns import service
from bot.campaigns.agent_pacing import check_pacing
from bot.dialog import versions
from bot.storage.models import ApiKey, Campaign
from bot.storage.states import CampaignState

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
Read, Write, Admin = (Depends(require(s)) for s in (Scope.READ, Scope.WRITE, Scope.ADMIN))
Writer = Annotated[ApiKey | Principal, Write]


def _out(session: DbSession, campaign: Campaign) -> CampaignOut:
    out = CampaignOut.model_validate(campaign)
    out.contacts = service.contact_counts(session, campaign.id)
    return out


@router.get("", response_model=list[CampaignOut], dependencies=[Read])
def list_campaigns(session: DbSession, state: CampaignState | None = None) -> list[CampaignOut]:
    query = select(Campaign).order_by(Campaign.id)
    if state is not None:
        query = query.where(Campaign.state == state)
    return [_out(session, c) for c in session.scalars(query)]


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create_campaign(
    spec: service.CampaignSpec, session: DbSession, settings: AppSettings, now: Now
) -> CampaignOut:
    scripts = service.available_scripts(settings.paths.dialogs_dir)
    check_pacing(spec.rules, settings.handoff.queues)
    return _out(session, service.create(session, spec, scripts, now))


@router.get("/{campaign_id}", response_model=CampaignOut, dependencies=[Read])
def get_campaign(campaign_id: EntityId, session: DbSession) -> CampaignOut:
    return _out(session, service.get(session, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignOut, dependencies=[Write])
def edit_campaign(
    campaign_id: EntityId, patch: service.CampaignPatch, session: DbSession, settings: AppSettings, now: Now
) -> CampaignOut:
    scripts = service.available_scripts(settings.paths.dialogs_dir)
    check_pacing(patch.rules, settings.handoff.queues)
    return _out(session, service.edit(session, campaign_id, patch, scripts, now, settings.compliance))


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Admin])
def delete_campaign(campaign_id: EntityId, session: DbSession) -> None:
    service.delete(session, campaign_id)


def _state_change(action: service.Action):
    def change_state(
        campaign_id: EntityId, session: DbSession, settings: AppSettings, now: Now, who: Writer
    ) -> CampaignOut:
        campaign = service.apply(session, campaign_id, action, now)
        if action is service.Action.START:
            versions.pin_campaign(session, campaign, settings.paths.dialogs_dir, now)
        record(
            session,
            AuditAction(f"campaign.{action}"),
            actor=actor_of(who),
            at=now,
            target=f"campaign:{campaign.id}",
            detail={"state": campaign.state},
        )
        return _out(session, campaign)

    allowed, target = service.TRANSITIONS[action]
    change_state.__doc__ = f"{' or '.join(sorted(allowed))} → {target}; 409 from any other state."
    change_state.__name__ = f"{action}_campaign"
    return change_state


for _action in service.Action:
    router.add_api_route(
        f"/{{campaign_id}}/{_action}",
        _state_change(_action),
        methods=["POST"],
        response_model=CampaignOut,
        summary=f"{_action.capitalize()} a campaign",
    )


@router.get(
    "/{campaign_id}/results.csv",
    dependencies=[Read],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per call attempt"}},
)
def export_results(campaign_id: EntityId, request: Request) -> StreamingResponse:
    with request.app.state.db.session() as session:
        service.get(session, campaign_id)

    def lines():
        with request.app.state.db.session() as session:
            yield from service.export_results(session, campaign_id)

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-results.csv"'},
    )
