"""Dashboard: a do-not-call list uploaded from a campaign's page, for that campaign or for every campaign (the
global list) — file → preview → phone column → validation report → import with progress, as contacts are."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import State

from bot.api.auth import actor_of
from bot.api.deps import AppSettings, DbSession, EntityId
from bot.audit import AuditAction
from bot.campaigns import service
from bot.contacts import dnc
from bot.contacts.importer import PHONE_HEADERS, find_phone_column, read_table
from bot.contacts.upload_check import CheckReport, check_numbers, listed_numbers
from bot.dashboard.routes import PREFIX, User
from bot.dashboard.upload_http import (
    Writer,
    WriterCaller,
    audit_import,
    checked,
    guess_column,
    preview,
    start,
    upload_page,
)
from bot.dashboard.uploads import ListKind, Upload

router = APIRouter(prefix=PREFIX + "/campaigns/{campaign_id}/dnc", include_in_schema=False)
DNC = ListKind.DNC


class NumbersIn(BaseModel):
    """The phone column, and whether the numbers go on the global list rather than the campaign's."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=200)
    everywhere: bool = False


@router.get("", response_class=HTMLResponse)
def dnc_page(
    request: Request, who: User, campaign_id: EntityId, session: DbSession, settings: AppSettings
) -> HTMLResponse:
    return upload_page(request, who, service.get(session, campaign_id), settings, DNC)


@router.post("/uploads", dependencies=[Writer])
async def upload_numbers(
    request: Request, campaign_id: EntityId, settings: AppSettings, filename: str = ""
) -> JSONResponse:
    """The file as the raw body; answers its columns, first rows and the phone column guessed."""
    with request.app.state.db.session() as session:
        service.get(session, campaign_id)
    return await preview(request, settings, campaign_id, DNC, filename, _guess_phone)


def _guess_phone(header: list[str]) -> dict[str, str]:
    return {"phone": guess_column(header, PHONE_HEADERS)}


@router.post("/uploads/{token}/check", dependencies=[Writer])
async def check_upload(
    request: Request, campaign_id: EntityId, token: str, numbers: NumbersIn
) -> JSONResponse:
    """Bad numbers, repeats, and numbers already on the chosen list."""
    state = request.app.state
    return await checked(request, campaign_id, DNC, token, lambda upload: _check(state, upload, numbers))


def _check(state: State, upload: Upload, numbers: NumbersIn) -> CheckReport:
    header, rows = read_table(upload.read())
    column = find_phone_column(header, numbers.phone)
    with state.db.session() as session:
        listed = listed_numbers(session, None if numbers.everywhere else upload.campaign_id)
    return check_numbers(rows, column, state.normalizer, listed)


@router.post("/uploads/{token}/import", status_code=202)
async def start_import(
    request: Request, campaign_id: EntityId, token: str, numbers: NumbersIn, who: WriterCaller
) -> JSONResponse:
    """List the file's numbers (each new one emits `contact.do_not_call`) and block their pending contacts."""
    state = request.app.state
    actor = actor_of(who)

    def work(upload: Upload) -> dict[str, int]:
        with state.db.session() as session:
            scope = None if numbers.everywhere else upload.campaign_id
            report = dnc.import_csv(
                session, upload.read(), state.normalizer, state.clock.now(), scope, numbers.phone,
                progress=upload.progress,
            )  # fmt: skip
            target = "do_not_call:global" if scope is None else f"campaign:{scope}"
            return audit_import(session, AuditAction.DNC_IMPORT, actor, state.clock.now(), target, report)

    return start(request, campaign_id, DNC, token, work)
