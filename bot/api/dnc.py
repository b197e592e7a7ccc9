"""Do-not-call endpoints: list, add (global or per campaign), remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel, Field

from bot.api.auth import Scope, require
from bot.api.deps import ID_MAX, CampaignFilter, DbSession, Limit, Now, Offset
from bot.api.schemas import DncOut, ImportOut
from bot.campaigns import service
from bot.contacts import dnc
from bot.contacts.importer import ImportReport
from bot.core.errors import InvalidInput
from bot.core.phones import PhoneError
from bot.storage.models import DoNotCall

router = APIRouter(prefix="/dnc", tags=["do-not-call"])


class DncIn(BaseModel):
    phone: str = Field(min_length=1, max_length=40, description="any usual format; stored as E.164")
    campaign_id: int | None = Field(None, ge=1, le=ID_MAX, description="omit for the global list")
    reason: str = Field("", max_length=200)


@router.get("", response_model=list[DncOut], dependencies=[Depends(require(Scope.READ))])
def list_entries(
    session: DbSession,
    campaign_id: CampaignFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DoNotCall]:
    return dnc.entries(session, campaign_id, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require(Scope.WRITE))])
def add_entry(body: DncIn, request: Request, session: DbSession, now: Now) -> dict[str, str | bool | int]:
    """Add a number; its pending contacts (in that campaign, or everywhere) are marked do-not-call. A new entry
    emits `contact.do_not_call`."""
    phone = _phone(request, body.phone)
    if body.campaign_id is not None:
        service.get(session, body.campaign_id)
    listing = dnc.add(session, phone, now, body.campaign_id, body.reason, dnc.Source.API)
    return {"phone": phone, "added": listing.added, "contacts_blocked": len(listing.contact_ids)}


@router.post("/import", response_model=ImportOut, dependencies=[Depends(require(Scope.WRITE))])
def import_entries(
    request: Request,
    session: DbSession,
    now: Now,
    file: UploadFile,
    campaign_id: Annotated[int | None, Form(ge=1, le=ID_MAX)] = None,
    phone_column: Annotated[str | None, Form()] = None,
) -> ImportReport:
    """Add the numbers of a CSV file (UTF-8 or Windows-1251, `;` or `,`); `created` counts new entries."""
    if campaign_id is not None:
        service.get(session, campaign_id)
    data = file.file.read()
    return dnc.import_csv(session, data, request.app.state.normalizer, now, campaign_id, phone_column)


@router.delete(
    "/{phone}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(require(Scope.WRITE))]
)
def remove_entry(
    phone: str, request: Request, session: DbSession, campaign_id: CampaignFilter = None
) -> None:
    if not dnc.remove(session, _phone(request, phone), campaign_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{phone} is not on that do-not-call list")


def _phone(request: Request, raw: str) -> str:
    try:
        return request.app.state.normalizer.normalize(raw).e164
    except PhoneError as exc:
        raise InvalidInput(str(exc), "phone") from exc
