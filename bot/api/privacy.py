"""Privacy requests of one person (admin scope): `POST /privacy/export` (a zip of everything held about them) and
`POST /privacy/forget` (erasure); each leaves an audit entry. The number travels in the body, never in a URL that
proxies and access logs keep."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bot.api.auth import AdminCaller, actor_of
from bot.api.deps import AppSettings, Now
from bot.core.phones import PhoneError
from bot.privacy.export import export_person
from bot.privacy.forget import forget_person
from bot.privacy.person import phone_hash
from bot.rasa.errors import RasaError

router = APIRouter(prefix="/privacy", tags=["privacy"])


class PersonIn(BaseModel):
    phone: str = Field(min_length=1, max_length=40, description="any usual format")


class ForgetOut(BaseModel):
    person: str = Field(description="the number's hash (the do-not-call list and the audit log keep it)")
    rows: dict[str, int] = Field(description="rows found per kind: erased or anonymised")
    files_deleted: int
    tracker_store: str
    tracker_conversations: int
    contacts_stopped: int = Field(description="pending contacts that will no longer be called")
    problems: list[str]


def _e164(request: Request, raw: str) -> str:
    try:
        return request.app.state.normalizer.normalize(raw).e164
    except PhoneError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"phone: {exc}") from exc


@router.post("/export", response_class=Response, responses={200: {"content": {"application/zip": {}}}})
async def export(
    body: PersonIn, request: Request, settings: AppSettings, now: Now, who: AdminCaller
) -> Response:
    """A zip: `person.json` (every row about the number, the Rasa conversations) and `recordings/`."""
    e164 = _e164(request, body.phone)
    try:
        archive = await export_person(request.app.state.db, settings, e164, actor_of(who), now)
    except RasaError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"Rasa conversations unreadable: {exc}"
        ) from exc
    name = f"person-{phone_hash(e164)[1:]}.zip"
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/forget", response_model=ForgetOut)
async def forget(
    body: PersonIn, request: Request, settings: AppSettings, now: Now, who: AdminCaller
) -> dict[str, Any]:
    """Erase the person (see `docs/privacy.md`): counts in metrics stay, the do-not-call entry stays as a hash."""
    e164 = _e164(request, body.phone)
    try:
        report = await forget_person(request.app.state.db, settings, e164, actor_of(who), now)
    except RasaError as exc:
        detail = f"forget stopped before the database (run it again): Rasa conversations not erased: {exc}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from exc
    return report.as_dict()
