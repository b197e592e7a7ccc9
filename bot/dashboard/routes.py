"""Dashboard pages under /dashboard: login and logout, language switch, campaigns, calls, scripts (a campaign's
contact upload and results: `contacts.py`).

Pages are server-side templates; live figures come from the JSON API (`/api/v1`), which the page's script calls
with the session cookie. Every page but the login page redirects to the login page without a valid session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from bot.access import accounts
from bot.access.passwords import verify_password
from bot.access.session import COOKIE, CSRF_HEADER, Principal, SessionCodec, load_secret, principal
from bot.api.auth import find_key
from bot.api.deps import AppSettings, DbSession, EntityId
from bot.campaigns import service
from bot.config import Settings
from bot.dashboard import i18n
from bot.dashboard.uploads import Uploads
from bot.dialog.catalogue import load_catalogue
from bot.storage.models import Call

PREFIX = "/dashboard"
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix=PREFIX, include_in_schema=False)


class LoginRequired(Exception):
    """A page was asked for without a valid session; `target` is where to go back after logging in."""

    def __init__(self, target: str) -> None:
        self.target = target


def logged_in(request: Request) -> Principal:
    who = principal(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return who


User = Annotated[Principal, Depends(logged_in)]


def _safe_target(target: str) -> str:
    """Only a dashboard path may follow a login (no open redirect to another site)."""
    return target if target.startswith(PREFIX + "/") and not target.startswith("//") else PREFIX + "/"


def render(
    request: Request, template: str, who: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = i18n.language(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "t": i18n.catalogue(lang),
            "lang": lang,
            "other_lang": next(code for code in i18n.LANGUAGES if code != lang),
            "who": who,
            "prefix": PREFIX,
            "csrf_header": CSRF_HEADER,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        },
        status_code=status_code,
    )


# -- login ------------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = PREFIX + "/") -> HTMLResponse:
    return render(request, "login.html", None, target=_safe_target(next), failed=False)


@router.post("/login", response_model=None)
def login(
    request: Request,
    settings: AppSettings,
    api_key: Annotated[str, Form(max_length=200)] = "",
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = PREFIX + "/",
) -> Response:
    target = _safe_target(next)
    subject: tuple[str, str] | None = None
    if api_key.strip():
        with request.app.state.db.session() as session:
            row = find_key(session, api_key.strip())
        subject = ("key", str(row.id)) if row is not None else None
    elif username:
        with request.app.state.db.session() as session:
            account = accounts.find(session, username)
        user = settings.dashboard.users.get(username)
        stored = user.password_hash if account is None and user is not None else ""
        if account is not None and not account.disabled:
            stored = account.password_hash
        if stored and verify_password(password, stored):
            subject = ("user", username)
    if subject is None:
        return render(
            request, "login.html", None, target=target, failed=True, status_code=status.HTTP_401_UNAUTHORIZED
        )
    codec: SessionCodec = request.app.state.sessions
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
        codec.encode(*subject),
        max_age=codec.max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.dashboard.secure_cookie,
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse(PREFIX + "/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(lang: str, next: str = PREFIX + "/") -> RedirectResponse:
    response = RedirectResponse(_safe_target(next), status_code=status.HTTP_303_SEE_OTHER)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax")
    return response


# -- pages ------------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def campaigns_page(request: Request, who: User) -> HTMLResponse:
    return render(request, "campaigns.html", who, page="campaigns")


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, who: User, campaign_id: EntityId, session: DbSession) -> HTMLResponse:
    campaign = service.get(session, campaign_id)
    return render(request, "campaign.html", who, page="campaigns", campaign=campaign)


@router.get("/calls", response_class=HTMLResponse)
def calls_page(request: Request, who: User) -> HTMLResponse:
    return render(request, "calls.html", who, page="calls")


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, who: User, call_id: str, session: DbSession) -> HTMLResponse:
    call = session.scalar(select(Call).where(Call.call_id == call_id[:64]))
    if call is None:
        return render(request, "call.html", who, page="calls", call=None, status_code=404)
    return render(request, "call.html", who, page="calls", call=call, recording=_recording_url(call))


def _recording_url(call: Call) -> str:
    return f"/api/v1/calls/{quote(call.call_id, safe='')}/recording" if call.recording_path else ""


@router.get("/scripts", response_class=HTMLResponse)
def scripts_page(request: Request, who: User, settings: AppSettings) -> HTMLResponse:
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    errors: dict[str, list[str]] = {}
    for error in catalogue.errors:
        errors.setdefault(error.file.stem, []).append(f"{error.file.name}:{error.line}: {error.message}")
    return render(
        request,
        "scripts.html",
        who,
        page="scripts",
        scripts=[catalogue.scripts[key] for key in sorted(catalogue.scripts)],
        errors=dict(sorted(errors.items())),
    )


# -- wiring -----------------------------------------------------------------------------------------------------


async def _to_login(request: Request, exc: Exception) -> RedirectResponse:
    target = exc.target if isinstance(exc, LoginRequired) else PREFIX + "/"
    return RedirectResponse(
        f"{PREFIX}/login?next={quote(target, safe='')}", status_code=status.HTTP_303_SEE_OTHER
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard from `app`: session codec, pages, static files, and / → /dashboard/."""
    from bot.dashboard import (  # their routes render with this module's helpers
        contacts,
        dnc_upload,
        handoff_sla,
        people,
        queues,
        studio,
        upload_http,
        wizard,
    )

    app.state.sessions = SessionCodec(load_secret(settings), settings.dashboard.session_hours)
    app.state.uploads = Uploads(settings.paths.data_dir / "uploads")
    app.state.upload_tasks = set()  # contact imports running in the background
    app.add_exception_handler(LoginRequired, _to_login)
    app.include_router(wizard.router)  # before `router`: /campaigns/new is no campaign id
    app.include_router(router)
    app.include_router(contacts.router)
    app.include_router(dnc_upload.router)
    app.include_router(upload_http.router)
    app.include_router(people.router)
    app.include_router(handoff_sla.router)
    app.include_router(queues.router)
    studio.install(app)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.add_api_route("/", lambda: RedirectResponse(PREFIX + "/"), methods=["GET"], include_in_schema=False)
