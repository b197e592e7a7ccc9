"""Contact endpoints: CSV upload into a campaign, listing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile, status
from sqlalchemy import select

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, EntityId, Limit, Offset
from bot.api.schemas import ContactOut, ImportOut
from bot.campaigns import service
from bot.contacts.importer import ColumnMapping
from bot.storage.models import Contact

router = APIRouter(prefix="/campaigns/{campaign_id}/contacts", tags=["contacts"])
MAX_UPLOAD = 100 * 1024 * 1024


@router.post("", response_model=ImportOut, dependencies=[Depends(require(Scope.WRITE))])
def upload_contacts(
    campaign_id: EntityId,
    request: Request,
    file: UploadFile,
    phone_column: Annotated[str | None, Form()] = None,
    name_column: Annotated[str | None, Form()] = None,
    timezone_column: Annotated[str | None, Form()] = None,
    region_column: Annotated[str | None, Form()] = None,
) -> ImportOut:
    """Import a CSV (UTF-8 or Windows-1251, `;` or `,`). Bad rows are reported and skipped; duplicates merged.
    The time zone comes from a time-zone column, else a region column (Russian region name or ISO code), else
    the number's region. Other columns become script variables under their header names."""
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"file larger than {MAX_UPLOAD} bytes")
    state = request.app.state
    mapping = ColumnMapping(
        phone=phone_column, name=name_column, timezone=timezone_column, region=region_column
    )
    report = service.import_contacts(
        state.db, campaign_id, data, mapping, state.normalizer, state.clock.now()
    )
    return ImportOut.model_validate(report)


@router.get("", response_model=list[ContactOut], dependencies=[Depends(require(Scope.READ))])
def list_contacts(
    campaign_id: EntityId,
    session: DbSession,
    state: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Contact]:
    service.get(session, campaign_id)
    query = select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.id)
    if state:
        query = query.where(Contact.state == state)
    return list(session.scalars(query.limit(limit).offset(offset)))
