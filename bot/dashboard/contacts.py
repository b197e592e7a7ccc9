"""Dashboard: a campaign's contact upload (file → preview → column mapping → validation report → import with
progress; the shared steps in `upload_http.py`) and its results as CSV or XLSX."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import State

from bot.api.auth import actor_of
from bot.api.deps import AppSettings, DbSession, EntityId
from bot.audit import AuditAction
from bot.campaigns import service
from bot.campaigns.results import MEDIA_TYPES, ResultFormat, contact_results, results_csv, results_xlsx
from bot.config import Settings
from bot.contacts.importer import (
    CONSENT_HEADERS,
    NAME_HEADERS,
    PHONE_HEADERS,
    REGION_HEADERS,
    TIMEZONE_HEADERS,
    ColumnMapping,
    open_table,
)
from bot.contacts.upload_check import CheckReport, campaign_facts, check_table
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
from bot.dialog.catalogue import load_catalogue
from bot.storage.models import Campaign

router = APIRouter(prefix=PREFIX + "/campaigns/{campaign_id}", include_in_schema=False)
CONTACTS = ListKind.CONTACTS


class MappingIn(BaseModel):
    """Column headers for each contact field; variables: script variable → header."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=200)
    name: str = Field("", max_length=200)
    timezone: str = Field("", max_length=200)
    region: str = Field("", max_length=200)
    variables: dict[str, str] = Field({}, max_length=100)
    consent_at: str | None = Field(None, max_length=200, description="None: a column named as a consent date")
    consent_channel: str | None = Field(None, max_length=200)
    consent_source: str | None = Field(None, max_length=200)

    def columns(self) -> ColumnMapping:
        return ColumnMapping(
            self.phone,
            self.name,
            self.timezone,
            self.region,
            dict(self.variables),
            self.consent_at,
            self.consent_channel,
            self.consent_source,
        )


def _script_variables(settings: Settings, script: str) -> tuple[list[str], list[str]]:
    """(required, optional) variable names of a script."""
    found = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).scripts.get(script)
    if found is None:
        return [], []
    variables = found.variables.items()
    return [n for n, v in variables if not v.optional], [n for n, v in variables if v.optional]


# -- the page ---------------------------------------------------------------------------------------------------


@router.get("/contacts", response_class=HTMLResponse)
def contacts_page(
    request: Request, who: User, campaign_id: EntityId, session: DbSession, settings: AppSettings
) -> HTMLResponse:
    campaign = service.get(session, campaign_id)
    required, optional = _script_variables(settings, campaign.script)
    variables = (required, optional, sorted(campaign.variables))
    return upload_page(request, who, campaign, settings, CONTACTS, variables)


# -- upload, check, import --------------------------------------------------------------------------------------


@router.post("/contacts/uploads", dependencies=[Writer])
async def upload_file(
    request: Request, campaign_id: EntityId, settings: AppSettings, filename: str = ""
) -> JSONResponse:
    """The file as the raw body; answers its columns, first rows and a suggested mapping."""
    with request.app.state.db.session() as session:
        campaign = service.get(session, campaign_id)
        remembered = dict(campaign.contact_mapping)
        script = campaign.script

    def suggest(header: list[str]) -> dict[str, Any]:
        required, optional = _script_variables(settings, script)
        return suggest_mapping(header, [*required, *optional], remembered)

    return await preview(request, settings, campaign_id, CONTACTS, filename, suggest)


def suggest_mapping(header: list[str], variables: list[str], remembered: dict[str, Any]) -> dict[str, Any]:
    """The campaign's last mapping when this file has all its columns; else columns named like the fields
    (Russian or English) or like the script's variables."""
    known = set(header)
    used = [remembered.get(f) for f in ("phone", "name", "timezone", "region", *CONSENT_HEADERS)]
    used += list(remembered.get("variables", {}).values())
    if remembered.get("phone") and all(column in known for column in used if column):
        return remembered
    lowered = {name.lower(): name for name in header}
    return {
        "phone": guess_column(header, PHONE_HEADERS),
        "name": guess_column(header, NAME_HEADERS),
        "timezone": guess_column(header, TIMEZONE_HEADERS),
        "region": guess_column(header, REGION_HEADERS),
        **{field: guess_column(header, headers) for field, headers in CONSENT_HEADERS.items()},
        "variables": {v: lowered[v.lower()] for v in variables if v.lower() in lowered and v != "name"},
    }


@router.post("/contacts/uploads/{token}/check", dependencies=[Writer])
async def check_upload(
    request: Request, campaign_id: EntityId, token: str, mapping: MappingIn, settings: AppSettings
) -> JSONResponse:
    """The validation report of the file under `mapping`: counts and the rows with reasons."""
    state, columns = request.app.state, mapping.columns()
    return await checked(
        request, campaign_id, CONTACTS, token, lambda upload: _check(state, settings, upload, columns)
    )


def _check(state: State, settings: Settings, upload: Upload, mapping: ColumnMapping) -> CheckReport:
    table = open_table(upload.read(), mapping)
    with state.db.session() as session:
        campaign = service.get(session, upload.campaign_id)
        required, _ = _script_variables(settings, campaign.script)
        policy = settings.compliance.policy(campaign.purpose)
        facts = campaign_facts(session, campaign.id, set(required), set(campaign.variables), policy)
    return check_table(table, state.normalizer, facts)


@router.post("/contacts/uploads/{token}/import", status_code=202)
async def start_import(
    request: Request, campaign_id: EntityId, token: str, mapping: MappingIn, who: WriterCaller
) -> JSONResponse:
    """Start importing in the background and remember the mapping for the campaign."""
    state = request.app.state
    actor = actor_of(who)

    def work(upload: Upload) -> dict[str, int]:
        report = service.import_contacts(
            state.db, upload.campaign_id, upload.read(), mapping.columns(), state.normalizer, state.clock.now(),
            upload.progress, state.settings.compliance,
        )  # fmt: skip
        with state.db.session() as session:
            campaign = session.get(Campaign, upload.campaign_id)
            if campaign is not None:
                campaign.contact_mapping = mapping.model_dump()
            target = f"campaign:{upload.campaign_id}"
            return audit_import(
                session, AuditAction.CONTACTS_IMPORT, actor, state.clock.now(), target, report,
                do_not_call=report.do_not_call,
            )  # fmt: skip

    return start(request, campaign_id, CONTACTS, token, work)


# -- results ----------------------------------------------------------------------------------------------------


@router.get("/results.{fmt}")
async def results(request: Request, who: User, campaign_id: EntityId, fmt: ResultFormat) -> Response:
    """One row per contact: attempts, last outcome and slots, last call, recording link."""
    db = request.app.state.db
    base = str(request.base_url)
    with db.session() as session:
        service.get(session, campaign_id)
    name = quote(f"campaign-{campaign_id}-results.{fmt.value}")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt is ResultFormat.XLSX:

        def workbook() -> bytes:
            with db.session() as session:
                return results_xlsx(contact_results(session, campaign_id, base))

        return Response(await run_in_threadpool(workbook), media_type=MEDIA_TYPES[fmt], headers=headers)

    def lines() -> Iterator[str]:
        with db.session() as session:
            yield from results_csv(contact_results(session, campaign_id, base))

    return StreamingResponse(lines(), media_type=MEDIA_TYPES[fmt], headers=headers)
