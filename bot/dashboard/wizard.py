"""Dashboard: the campaign wizard — script, name and variables → calling rules → dialling → contacts → test call →
launch. The campaign is a `draft` from the first step and saved at every step through the campaign service (its
validation, errors said per field in the reader's language); the test call ("call me") is placed through the
process's SIP phone (`voicebot serve` sets `app.state.phone_calls`), its transcript shown live, its row marked
`test` so no metric counts it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from bot.api.auth import actor_of
from bot.api.deps import AppSettings, DbSession, EntityId
from bot.audit import AuditAction, record
from bot.calls.live_call import LiveCall
from bot.campaigns import service
from bot.campaigns.agent_pacing import UnknownPacingQueue, check_pacing
from bot.campaigns.placer import CallRequest
from bot.campaigns.rules import DEBT_CAPS, DEBT_RESTDAY_HOURS, DEBT_WORKING_HOURS, CampaignRules, RetryReason
from bot.config import Settings
from bot.consent import Purpose
from bot.core.errors import InvalidInput
from bot.core.phones import PhoneError
from bot.dashboard.routes import PREFIX, User, render
from bot.dashboard.upload_http import WriterCaller, say
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogError, new_state
from bot.storage.models import Call, Campaign
from bot.storage.states import CampaignState

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, include_in_schema=False)
ZONES = (
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
    "Asia/Magadan", "Asia/Kamchatka", "UTC",
)  # fmt: skip
STEPS = ("script", "rules", "dialling", "contacts", "test", "launch")
MAX_TEST_CALLS = 3  # test calls up at once in this process
# the rules' own messages (bot/campaigns/rules.py) → the wizard's strings
KNOWN_MESSAGES = {
    "end must be after start": "end_before_start",
    "end_at must be after start_at": "dates_order",
    "hours must overlap": "debt_hours",
    "weekdays must be": "weekdays",
    "no holiday calendar": "holidays_country",
    "retry delays must be": "retry_range",
}


class DraftIn(BaseModel):
    """The wizard's form: the campaign's fields, its rules without dates, and the dates as local days in a zone
    (the first day from 00:00, the last day to its end)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=1000)
    script: str = Field("", max_length=1000)
    language: str = Field("ru", max_length=8)
    purpose: Purpose = Purpose.SERVICE  # what the consent policy is chosen by (bot/consent.py)
    variables: dict[str, str] = Field({}, max_length=100)
    rules: dict[str, Any] = Field({}, max_length=50)
    start_date: date | None = None
    end_date: date | None = None
    dates_zone: str = Field("Europe/Moscow", max_length=64)


class TestCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=64)
    variables: dict[str, str] = Field({}, max_length=100)


class FormErrors(Exception):
    """Errors of the form, each {field, message} already in the reader's language."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors


# -- pages ------------------------------------------------------------------------------------------------------


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request, who: User, settings: AppSettings) -> HTMLResponse:
    return _page(request, who, settings, None, STEPS[0])


@router.get("/campaigns/{campaign_id}/wizard", response_class=HTMLResponse, response_model=None)
def continue_campaign(
    request: Request,
    who: User,
    campaign_id: EntityId,
    session: DbSession,
    settings: AppSettings,
    step: str = "",
) -> Response:
    campaign = service.get(session, campaign_id)
    if campaign.state != CampaignState.DRAFT:  # launched: its page, not the wizard
        return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}", status_code=status.HTTP_303_SEE_OTHER)
    form = {
        "id": campaign.id,
        "name": campaign.name,
        "script": campaign.script,
        "language": campaign.language,
        "purpose": campaign.purpose,
        "variables": {k: str(v) for k, v in campaign.variables.items()},
        "rules": campaign.rules,
        "contacts": sum(service.contact_counts(session, campaign.id).values()),
        **_dates_of(campaign.rules),
    }
    return _page(request, who, settings, form, step if step in STEPS else STEPS[1])


def _page(
    request: Request, who: Any, settings: Settings, form: dict[str, Any] | None, step: str
) -> HTMLResponse:
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    scripts = [
        {
            "id": script.id,
            "title": script.title,
            "languages": list(script.languages),
            "variables": [
                {"name": name, "type": v.type.value, "optional": v.optional}
                for name, v in script.variables.items()
            ],
        }
        for script in sorted(catalogue.scripts.values(), key=lambda s: s.id)
    ]
    setup = {
        "scripts": scripts,
        "form": form,
        "step": step,
        "steps": list(STEPS),
        "zones": list(ZONES),
        "retryReasons": [r.value for r in RetryReason],
        "queues": sorted(settings.handoff.queues),  # for pacing by agents
        "defaults": CampaignRules().model_dump(mode="json"),
        "debt": {
            "working_hours": DEBT_WORKING_HOURS.model_dump(mode="json"),
            "rest_day_hours": DEBT_RESTDAY_HOURS.model_dump(mode="json"),
            "caps": list(DEBT_CAPS),
        },
        "testCalls": getattr(request.app.state, "phone_calls", None) is not None,
    }
    purposes = [p.value for p in Purpose]
    return render(request, "wizard.html", who, page="campaigns", setup=setup, form=form, purposes=purposes)


def _dates_of(rules: dict[str, Any]) -> dict[str, str]:
    """The stored start and end moments as the form's days (the end is the day before the stored end)."""
    out = {"start_date": "", "end_date": ""}
    if rules.get("start_at"):
        out["start_date"] = datetime.fromisoformat(rules["start_at"]).date().isoformat()
    if rules.get("end_at"):
        out["end_date"] = (datetime.fromisoformat(rules["end_at"]) - timedelta(days=1)).date().isoformat()
    return out


# -- the draft --------------------------------------------------------------------------------------------------


@router.post("/wizard/drafts")
def create_draft(
    request: Request, draft: DraftIn, session: DbSession, settings: AppSettings, who: WriterCaller
) -> JSONResponse:
    """Step one: the campaign is created as a draft."""
    try:
        spec = _validated(request, service.CampaignSpec, _fields(request, draft))
        _check_language(request, settings, spec.script, spec.language)
        check_pacing(spec.rules, settings.handoff.queues)
        campaign = service.create(session, spec, _scripts(settings), request.app.state.clock.now())
    except FormErrors as errors:
        return _errors(errors)
    except InvalidInput as error:
        return _errors(FormErrors([_input_error(request, error)]))
    _audit(session, who, campaign, created=True)
    return JSONResponse({"id": campaign.id, "saved_at": campaign.updated_at.isoformat()}, 201)


@router.put("/wizard/drafts/{campaign_id}")
def save_draft(
    request: Request,
    campaign_id: EntityId,
    draft: DraftIn,
    session: DbSession,
    settings: AppSettings,
    who: WriterCaller,
) -> JSONResponse:
    """Every later step: the whole form saved over the draft."""
    campaign = service.get(session, campaign_id)
    if campaign.state != CampaignState.DRAFT:
        return _errors(FormErrors([{"field": "", "message": say(request, "wizard.error.not_draft")}]), 409)
    try:
        patch = _validated(request, service.CampaignPatch, _fields(request, draft))
        _check_language(
            request, settings, patch.script or campaign.script, patch.language or campaign.language
        )
        check_pacing(patch.rules, settings.handoff.queues)
        campaign = service.edit(
            session, campaign_id, patch, _scripts(settings), request.app.state.clock.now()
        )
    except FormErrors as errors:
        return _errors(errors)
    except InvalidInput as error:
        return _errors(FormErrors([_input_error(request, error)]))
    _audit(session, who, campaign, created=False)
    return JSONResponse({"id": campaign.id, "saved_at": campaign.updated_at.isoformat()})


def _audit(session: DbSession, who: WriterCaller, campaign: Campaign, *, created: bool) -> None:
    record(
        session,
        AuditAction.WIZARD_SAVE,
        actor=actor_of(who),
        at=campaign.updated_at,
        target=f"campaign:{campaign.id}",
        detail={"created": created},
    )


def _check_language(request: Request, settings: Settings, script_id: str, language: str) -> None:
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    script = catalogue.scripts.get(script_id)
    if script is not None and language not in script.languages:
        message = say(
            request, "wizard.error.language", script=script_id, languages=", ".join(script.languages)
        )
        raise FormErrors([{"field": "language", "message": message}])


def _scripts(settings: Settings) -> set[str]:
    return service.available_scripts(settings.paths.dialogs_dir)


def _fields(request: Request, draft: DraftIn) -> dict[str, Any]:
    """The campaign's fields from the form: empty variables left out, the days turned into moments."""
    rules = {k: v for k, v in draft.rules.items() if k not in ("start_at", "end_at")}
    try:
        zone = ZoneInfo(draft.dates_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FormErrors([{"field": "dates_zone", "message": say(request, "wizard.error.zone")}]) from exc
    if draft.start_date:
        rules["start_at"] = datetime.combine(draft.start_date, time(0), zone).isoformat()
    if draft.end_date:
        rules["end_at"] = datetime.combine(draft.end_date + timedelta(days=1), time(0), zone).isoformat()
    return {
        "name": draft.name.strip(),
        "script": draft.script,
        "language": draft.language,
        "purpose": draft.purpose,
        "variables": {k: v.strip() for k, v in draft.variables.items() if v.strip()},
        "rules": rules,
    }


def _validated(request: Request, model: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise FormErrors([_field_error(request, e) for e in error.errors()]) from error


def _field_error(request: Request, error: Any) -> dict[str, str]:
    """One pydantic error as {field, message}: the field as the form names it (`rules.working_hours.start`; the
    dates as the form's days), the message from the wizard's strings, with pydantic's words when unknown."""
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc)
    message = str(error.get("msg", ""))
    field = {"rules.start_at": "start_date", "rules.end_at": "end_date"}.get(field, field)
    if field == "rules" and message.endswith("end_at must be after start_at"):
        field = "end_date"
    key = next((k for text, k in KNOWN_MESSAGES.items() if text in message), "")
    kind = str(error.get("type", ""))
    context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)}
    if not key and kind in ("missing", "string_too_short", "greater_than", "greater_than_equal",
                            "less_than_equal", "time_parsing", "time_type", "int_parsing", "float_parsing",
                            "too_long", "literal_error"):  # fmt: skip
        key = kind
    if key:
        try:
            return {"field": field, "message": say(request, f"wizard.error.{key}", **context)}
        except KeyError:
            pass
    return {"field": field, "message": say(request, "wizard.error.invalid", detail=message)}


def _input_error(request: Request, error: InvalidInput) -> dict[str, str]:
    if error.field == "script":
        return {"field": "script", "message": say(request, "wizard.error.script")}
    if isinstance(error, UnknownPacingQueue):
        message = say(request, "pacing.error.queue", queue=error.queue, known=error.known)
        return {"field": error.field, "message": message}
    return {"field": error.field, "message": say(request, "wizard.error.invalid", detail=str(error))}


def _errors(errors: FormErrors, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> JSONResponse:
    return JSONResponse({"errors": errors.errors}, code)


# -- the test call ----------------------------------------------------------------------------------------------


@dataclass
class _Running:
    live: LiveCall
    task: asyncio.Task


def _running(request: Request) -> dict[str, _Running]:
    state = request.app.state
    if not hasattr(state, "test_calls"):
        state.test_calls = {}
    return state.test_calls


@router.post("/wizard/drafts/{campaign_id}/test-calls")
async def start_test_call(
    request: Request, campaign_id: EntityId, body: TestCallIn, who: WriterCaller
) -> JSONResponse:
    """Dial `phone` with the campaign's script, language and variables (the form's over the campaign's)."""
    phones = getattr(request.app.state, "phone_calls", None)
    if phones is None:
        return _problem(request, status.HTTP_503_SERVICE_UNAVAILABLE, "no_phone")
    running = _running(request)
    if sum(not r.task.done() for r in running.values()) >= MAX_TEST_CALLS:
        return _problem(request, status.HTTP_429_TOO_MANY_REQUESTS, "busy", count=MAX_TEST_CALLS)
    try:
        phone = request.app.state.normalizer.normalize(body.phone).e164
    except PhoneError:
        return _problem(request, status.HTTP_422_UNPROCESSABLE_CONTENT, "bad_number", number=body.phone[:64])

    def campaign_facts() -> tuple[str, str, str, dict[str, Any]]:
        with request.app.state.db.session() as session:
            campaign = service.get(session, campaign_id)
            return campaign.script, campaign.language, campaign.caller_id, dict(campaign.variables)

    script_id, language, caller_id, variables = await run_in_threadpool(campaign_facts)
    variables.update({k: v.strip() for k, v in body.variables.items() if v.strip()})
    script = phones.catalogue.scripts.get(script_id)
    if script is None:
        return _problem(request, status.HTTP_422_UNPROCESSABLE_CONTENT, "no_script", script=script_id)
    try:
        new_state(script, language, variables)
    except DialogError as error:
        return _problem(request, status.HTTP_422_UNPROCESSABLE_CONTENT, "variables", detail=str(error))
    live = LiveCall(script, language)
    call = CallRequest(0, campaign_id, 0, phone, caller_id, script_id, language, variables)

    def audit() -> None:  # the number is the tester's: not in the log
        with request.app.state.db.session() as session:
            now = request.app.state.clock.now()
            target = f"campaign:{campaign_id}"
            detail = {"call_id": live.id}
            record(session, AuditAction.TEST_CALL, actor=actor_of(who), at=now, target=target, detail=detail)

    await run_in_threadpool(audit)
    task = asyncio.create_task(_place(phones, call, live), name=f"test-call-{live.id}")
    running[live.id] = _Running(live, task)
    for call_id in [k for k, r in running.items() if r.task.done()][:-20]:  # keep the last few finished
        running.pop(call_id, None)
    return JSONResponse({"call_id": live.id, "phone": phone}, status.HTTP_202_ACCEPTED)


async def _place(phones: Any, call: CallRequest, live: LiveCall) -> str:
    """The error of a call that never got a row (e.g. the worker is stopping); "" otherwise."""
    try:
        report = await phones.place(call, live)
    except Exception as exc:  # a call with a row has the error there too; the log has the traceback
        log.exception("test call %s failed", live.id)
        return f"{type(exc).__name__}: {exc}"
    return report.error


@router.get("/wizard/test-calls/{call_id}")
async def test_call_state(request: Request, who: User, call_id: str) -> JSONResponse:
    """The call's state, outcome and transcript so far (the stored one once it ended)."""
    found = _running(request).get(call_id[:64])

    def row() -> dict[str, Any] | None:
        with request.app.state.db.session() as session:
            call = session.scalar(select(Call).where(Call.call_id == call_id[:64], Call.test.is_(True)))
            if call is None:
                return None
            return {
                "state": call.state,
                "outcome": call.outcome,
                "error": call.error,
                "transcript": call.transcript,
                "answered": call.answered_at is not None,
            }

    stored = await run_in_threadpool(row)
    if stored is None:
        if found is None:
            return _problem(request, status.HTTP_404_NOT_FOUND, "gone")
        # no row yet: still setting up, or refused before any (its error says why)
        done = found.task.done() and not found.task.cancelled()
        return JSONResponse(
            {
                "state": "ended" if done else "dialling",
                "outcome": "",
                "error": found.task.result() if done else "",
                "lines": [],
                "answered": False,
                "call": "",
            }
        )
    ended = stored["state"] == "ended"
    lines = stored["transcript"] if ended or found is None else found.live.lines
    return JSONResponse(
        {
            "state": stored["state"],
            "outcome": stored["outcome"],
            "error": stored["error"],
            "answered": stored["answered"],
            "lines": [{k: line.get(k) for k in ("speaker", "text", "step", "intent")} for line in lines],
            "call": f"{PREFIX}/calls/{call_id}",
        }
    )


def _problem(request: Request, code: int, key: str, **params: Any) -> JSONResponse:
    return JSONResponse({"problem": key, "message": say(request, f"wizard.test.{key}", **params)}, code)
