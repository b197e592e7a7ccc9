"""Dashboard: the script studio — a script's YAML in an editor with live `file:line` checks, saves that keep a
version history (diff, rollback; a save edited from an older version gets 409 with both texts), a chat with the
saved script through the real engine, "listen" to any prompt, and the state of the new version going live.

The files under `dialogs/` stay the scripts' source; versions live in `script_versions` (`bot.dialog.versions`).
Chat, listen and going live need the dialog service of `voicebot serve` (`app.state.dialogs`); without one they
answer 503 with a message, and the editor, checks and history still work.
"""

from __future__ import annotations

import difflib
import io
import wave
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bot.access.session import Principal, principal
from bot.api.auth import Scope, actor_of, require
from bot.api.deps import AppSettings, Now
from bot.audit import AuditAction, record
from bot.config import Settings
from bot.dashboard.routes import PREFIX, User, render
from bot.dashboard.upload_http import say
from bot.dialog import versions
from bot.dialog.catalogue import check_text, trained_intents
from bot.dialog.engine import DialogError, new_state
from bot.dialog.loader import COMMON_FILE, MAX_SCRIPT_BYTES, ScriptError, ScriptErrors, load_common
from bot.dialog.model import Script
from bot.dialog.prompts import prompts, sample_variables
from bot.dialog.transcript import Exchange
from bot.rasa.conversation import Conversation
from bot.rasa.errors import RasaError
from bot.rasa.live_update import LiveStatus, LiveUpdates
from bot.storage.db import Database
from bot.storage.models import ApiKey, ScriptVersion
from voice.models import ModelError, synthesizer_for

router = APIRouter(prefix=PREFIX + "/scripts", include_in_schema=False)
Writer = Depends(require(Scope.WRITE))
Reader = Depends(require(Scope.READ))
WriterCaller = Annotated[ApiKey | Principal, Writer]  # who saves, for the audit log
KEPT_CHATS = 50  # chats remembered per process; the oldest is dropped first


class ScriptText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_SCRIPT_BYTES)


class SaveRequest(ScriptText):
    base: int = Field(ge=0, description="the version the text was edited from")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, description="the version whose text comes back")
    base: int = Field(ge=0)


class ChatRequest(BaseModel):
    """One chat turn: `start` a new chat (then `chat` is answered), or say / stay silent / press keys / hang up."""

    model_config = ConfigDict(extra="forbid")
    chat: str = Field("", max_length=64)
    kind: Literal["start", "say", "silence", "dtmf", "hangup"]
    text: str = Field("", max_length=500)
    lang: Literal["ru", "en"] = "ru"


class ListenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(max_length=200)
    lang: Literal["ru", "en"] = "ru"


# -- page -------------------------------------------------------------------------------------------------------


@router.get("/{script_id}", response_class=HTMLResponse)
def studio_page(request: Request, who: User, script_id: str, settings: AppSettings, now: Now) -> HTMLResponse:
    with request.app.state.db.session() as session:
        try:
            version = versions.current(session, settings.paths.dialogs_dir, script_id, now)
        except versions.UnknownScript:
            return render(request, "studio.html", who, page="scripts", script=None, status_code=404)
        setup = {"script": script_id, "file": f"{script_id}.yml", **_version_json(version, with_text=True)}
    return render(request, "studio.html", who, page="scripts", script=script_id, setup=setup)


# -- checks, versions -------------------------------------------------------------------------------------------


@router.post("/{script_id}/check", dependencies=[Reader])
async def check(script_id: str, body: ScriptText, settings: AppSettings) -> JSONResponse:
    """Every problem of the text as it stands in the editor, as `voicebot dialogs check` reports them."""
    _path_or_404(settings, script_id)
    checked = await run_in_threadpool(_check, settings, script_id, body.text)
    return JSONResponse({"errors": [] if isinstance(checked, Script) else _errors_json(checked)})


@router.get("/{script_id}/versions", dependencies=[Reader])
def history(request: Request, script_id: str, settings: AppSettings, now: Now) -> JSONResponse:
    with request.app.state.db.session() as session:
        versions.current(session, settings.paths.dialogs_dir, _path_or_404(settings, script_id).stem, now)
        return JSONResponse({"versions": [_version_json(v) for v in versions.history(session, script_id)]})


@router.get("/{script_id}/versions/{number}", dependencies=[Reader])
def version_text(request: Request, script_id: str, number: int) -> JSONResponse:
    with request.app.state.db.session() as session:
        return JSONResponse(_version_json(_version_or_404(session, script_id, number), with_text=True))


@router.get("/{script_id}/diff", dependencies=[Reader])
def diff(request: Request, script_id: str, old: int, new: int) -> JSONResponse:
    """A unified diff from version `old` to version `new`."""
    with request.app.state.db.session() as session:
        before, after = (_version_or_404(session, script_id, n) for n in (old, new))
        lines = difflib.unified_diff(
            before.text.splitlines(),
            after.text.splitlines(),
            f"{script_id}.yml @{old}",
            f"{script_id}.yml @{new}",
            lineterm="",
        )
        return JSONResponse({"diff": list(lines)})


@router.post("/{script_id}/save")
async def save(
    request: Request, script_id: str, body: SaveRequest, settings: AppSettings, now: Now, who: WriterCaller
) -> Response:
    """Check, store as the next version, write the file, put it live. 409 with both texts when the script was
    saved meanwhile; 422 with the errors when the text is not a valid script (nothing stored)."""
    return await _store(request, settings, script_id, body.text, body.base, now, note="", actor=actor_of(who))


@router.post("/{script_id}/rollback")
async def rollback(
    request: Request,
    script_id: str,
    body: RollbackRequest,
    settings: AppSettings,
    now: Now,
    who: WriterCaller,
) -> Response:
    """The text of version `number` saved again as the newest version (history is never rewritten)."""
    with request.app.state.db.session() as session:
        text = _version_or_404(session, script_id, body.number).text
    note = f"rollback to {body.number}"
    return await _store(request, settings, script_id, text, body.base, now, note=note, actor=actor_of(who))


async def _store(
    request: Request,
    settings: Settings,
    script_id: str,
    text: str,
    base: int,
    now: datetime,
    note: str,
    actor: str,
) -> Response:
    path = _path_or_404(settings, script_id)
    checked = await run_in_threadpool(_check, settings, script_id, text)
    if not isinstance(checked, Script):
        message = say(request, "studio.problem.invalid", count=len(checked))
        return JSONResponse({"problem": "invalid", "message": message, "errors": _errors_json(checked)}, 422)
    who = principal(request)
    author = f"{who.kind}:{who.label}" if who else "api"
    try:
        saved = await run_in_threadpool(
            _save_version, request.app.state.db, settings, path.stem, text, base, (author, actor), now, note
        )
    except versions.VersionConflict as exc:
        theirs = exc.current
        message = say(
            request,
            "studio.problem.conflict",
            number=theirs.number if theirs else "?",
            author=theirs.author if theirs else "?",
        )
        return JSONResponse(
            {
                "problem": "conflict",
                "message": message,
                "current": _version_json(theirs, with_text=True) if theirs else None,
                "yours": exc.text,
            },
            status.HTTP_409_CONFLICT,
        )
    live = await _publish(request, checked, saved["sha256"])
    return JSONResponse({**saved, "live": live.as_json() if live else None})


def _save_version(
    db: Database,
    settings: Settings,
    script_id: str,
    text: str,
    base: int,
    by: tuple[str, str],
    now: datetime,
    note: str,
) -> dict[str, Any]:
    """`by`: the version's author and the audit log's actor."""
    author, actor = by
    with db.session() as session:
        version = versions.save(session, settings.paths.dialogs_dir, script_id, text, base, author, now, note)
        if version.number != base:  # a new version (the same text again stores nothing)
            action = AuditAction.SCRIPT_ROLLBACK if note else AuditAction.SCRIPT_SAVE
            detail = {"version": version.number, "base": base, "sha256": version.sha256[:12]}
            record(session, action, actor=actor, at=now, target=f"script:{script_id}", detail=detail)
        return _version_json(version)


# -- going live, chat, listen -------------------------------------------------------------------------------------


def _live(request: Request) -> LiveUpdates | None:
    service = getattr(request.app.state, "dialogs", None)
    if service is None:
        return None
    if getattr(request.app.state, "live_updates", None) is None:
        request.app.state.live_updates = LiveUpdates(service)
    return request.app.state.live_updates


async def _publish(request: Request, script: Script, sha256: str) -> LiveStatus | None:
    live = _live(request)
    if live is None:
        return None
    try:
        return await live.publish(script, sha256)
    except RasaError as exc:
        status_ = live.status.setdefault(script.id, LiveStatus())
        status_.message = str(exc)
        return status_


@router.get("/{script_id}/live", dependencies=[Reader])
def live_status(request: Request, script_id: str) -> JSONResponse:
    """Whether the newest saved version is live, or the model still training (with progress)."""
    live = _live(request)
    if live is None:
        return JSONResponse({"state": "offline", "message": say(request, "studio.problem.no_engine")})
    return JSONResponse(live.status.get(script_id, LiveStatus()).as_json())


@router.post("/{script_id}/chat", dependencies=[Writer])
async def chat(request: Request, script_id: str, body: ChatRequest) -> JSONResponse:
    """A turn of a text chat with the saved script through the real engine (as `voicebot chat`), with sample
    values for the script's variables. Each turn runs the live version: a save is heard at the next turn."""
    service = getattr(request.app.state, "dialogs", None)
    if service is None or service.client is None:
        return _problem(request, status.HTTP_503_SERVICE_UNAVAILABLE, "no_engine")
    chats: OrderedDict[str, Conversation] = request.app.state.__dict__.setdefault(
        "studio_chats", OrderedDict()
    )
    try:
        if body.kind == "start":
            script = service.catalogue.get(script_id)
            state = new_state(script, body.lang, sample_variables(script, body.lang))
            conversation = Conversation(service.client, state)
            chats[conversation.id] = conversation
            while len(chats) > KEPT_CHATS:
                chats.popitem(last=False)
            exchange = await conversation.start()
        else:
            conversation = chats.get(body.chat)
            if conversation is None or conversation.state.script != script_id:
                return _problem(request, status.HTTP_404_NOT_FOUND, "no_chat")
            if conversation.ended:
                return _problem(request, status.HTTP_409_CONFLICT, "chat_ended")
            exchange = await _turn(conversation, body)
    except (KeyError, ScriptErrors, DialogError) as exc:
        return _problem(request, status.HTTP_400_BAD_REQUEST, "script", detail=str(exc).strip("'\""))
    except RasaError as exc:
        return _problem(request, status.HTTP_503_SERVICE_UNAVAILABLE, "engine", detail=str(exc))
    variables = set(service.catalogue.get(script_id).variables)
    return JSONResponse(_exchange_json(conversation, exchange, variables))


async def _turn(conversation: Conversation, body: ChatRequest) -> Exchange:
    if body.kind == "say" and body.text.strip():
        return await conversation.say(body.text)
    if body.kind == "dtmf":
        return await conversation.dtmf("".join(c for c in body.text if c in "0123456789*#"))
    if body.kind == "hangup":
        return await conversation.hangup()
    return await conversation.silence()


def _exchange_json(conversation: Conversation, exchange: Exchange, variables: set[str]) -> dict[str, Any]:
    state = conversation.state
    heard = exchange.heard
    return {
        "chat": conversation.id,
        "say": exchange.result.say,
        "heard": {"intent": heard.intent, "confidence": heard.confidence, "kind": heard.kind},
        "event": exchange.result.event,
        "step": state.step,
        "slots": {k: v for k, v in state.values.items() if k not in variables},
        "ended": state.ended,
        "outcome": state.outcome,
        "outcome_data": state.outcome_data,
    }


@router.get("/{script_id}/prompts", dependencies=[Reader])
async def prompt_list(
    request: Request, script_id: str, settings: AppSettings, lang: str = "ru"
) -> JSONResponse:
    """The saved script's prompts in `lang`, each as written and as it is spoken with sample values."""
    script = await _saved_script(settings, script_id)
    if isinstance(script, JSONResponse):
        return script
    if lang not in script.languages:
        return JSONResponse({"prompts": []})
    found = await run_in_threadpool(prompts, script, lang)
    return JSONResponse({"prompts": [p.__dict__ for p in found]})


@router.post("/{script_id}/listen", dependencies=[Reader])
async def listen(request: Request, script_id: str, body: ListenRequest, settings: AppSettings) -> Response:
    """One prompt of the saved script spoken by the configured voice of its language, as WAV."""
    script = await _saved_script(settings, script_id)
    if isinstance(script, JSONResponse):
        return script
    found = [p for p in await run_in_threadpool(prompts, script, body.lang) if p.path == body.path]
    if not found:
        return _problem(request, status.HTTP_404_NOT_FOUND, "no_prompt")
    try:
        audio = await run_in_threadpool(_speak, settings, body.lang, found[0].spoken)
    except (ModelError, OSError) as exc:
        return _problem(request, status.HTTP_503_SERVICE_UNAVAILABLE, "voice", detail=str(exc))
    return Response(audio, media_type="audio/wav")


def _speak(settings: Settings, lang: str, text: str) -> bytes:
    voice = synthesizer_for(settings.voice, lang)
    pcm = voice.synthesize(text)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(voice.sample_rate)
        writer.writeframes(pcm)
    return out.getvalue()


# -- helpers ----------------------------------------------------------------------------------------------------


def _check(settings: Settings, script_id: str, text: str) -> Script | list[ScriptError]:
    paths = settings.paths
    common = None
    if (paths.dialogs_dir / COMMON_FILE).exists():
        try:
            _, common = load_common(paths.dialogs_dir / COMMON_FILE)
        except ScriptErrors as exc:
            return exc.errors
    intents = trained_intents(paths.training_data_dir)
    return check_text(paths.dialogs_dir / f"{script_id}.yml", text, common, intents, settings.handoff.queues)


async def _saved_script(settings: Settings, script_id: str) -> Script | JSONResponse:
    path = _path_or_404(settings, script_id)
    text = path.read_text(encoding="utf-8")
    checked = await run_in_threadpool(_check, settings, script_id, text)
    if not isinstance(checked, Script):
        return JSONResponse({"problem": "invalid", "errors": _errors_json(checked)}, 422)
    return checked


def _errors_json(errors: list[ScriptError]) -> list[dict[str, Any]]:
    return [
        {
            "file": e.file.name,
            "line": e.line,
            "message": e.message,
            "text": f"{e.file.name}:{e.line}: {e.message}",
        }
        for e in errors
    ]


def _version_json(version: ScriptVersion | versions.SavedVersion, with_text: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": version.number,
        "sha256": version.sha256,
        "author": version.author,
        "note": version.note,
        "created_at": version.created_at.isoformat(),
    }
    if with_text:
        out["text"] = version.text
    return out


def _path_or_404(settings: Settings, script_id: str) -> Path:
    try:
        return versions.script_path(settings.paths.dialogs_dir, script_id)
    except versions.UnknownScript as exc:
        raise _NotFound(script_id) from exc


def _version_or_404(session: Any, script_id: str, number: int) -> ScriptVersion:
    found = versions.get(session, script_id, number)
    if found is None:
        raise _NotFound(f"{script_id} @{number}")
    return found


class _NotFound(Exception):
    pass


def _problem(request: Request, code: int, key: str, **params: Any) -> JSONResponse:
    return JSONResponse({"problem": key, "message": say(request, f"studio.problem.{key}", **params)}, code)


def install(app: FastAPI) -> None:
    """The studio's routes, and a 404 JSON answer for an unknown script or version."""

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _problem(request, status.HTTP_404_NOT_FOUND, "not_found", detail=str(exc))

    app.state.studio_chats = OrderedDict()
    app.add_exception_handler(_NotFound, not_found)
    app.include_router(router)
