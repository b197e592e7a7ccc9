"""Contact endpoints: contacts into a campaign (a CSV upload, or a CRM's JSON push), listing."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile as StarletteUploadFile

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, EntityId, Limit, Offset
from bot.api.schemas import ContactImportOut, ContactOut
from bot.campaigns import service
from bot.consent import BlockReason, Consent
from bot.contacts.importer import ColumnMapping, RawContact
from bot.storage.models import Contact

router = APIRouter(prefix="/campaigns/{campaign_id}/contacts", tags=["contacts"])
MAX_UPLOAD = 100 * 1024 * 1024  # a CSV file
MAX_JSON = 10 * 1024 * 1024  # a CRM's push
MAX_RECORDS = 10_000  # contacts per push
# the mappable columns of a CSV upload (`<name>_column` form fields)
COLUMNS = ("phone", "name", "timezone", "region", "consent_at", "consent_channel", "consent_source")


class ContactIn(BaseModel):
    """One contact pushed by a CRM: the fields of a CSV row, validated the same way."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40, description="any usual format; stored as E.164")
    name: str = Field("", max_length=200)
    timezone: str = Field("", max_length=64, description="IANA name or an offset ('UTC+3', 'МСК+4')")
    region: str = Field("", max_length=100, description="a Russian region, when no time zone is given")
    variables: dict[Annotated[str, Field(min_length=1, max_length=100)], str | int | float] = Field(
        {}, description="script variables (stored as text)"
    )
    consent: Consent | None = Field(
        None,
        description="the person's consent to calls: {given_at, channel, source}; a new one replaces the old",
    )

    def raw(self) -> RawContact:
        variables = {key: text for key, value in self.variables.items() if (text := str(value).strip())}
        consent = self.consent
        return RawContact(
            self.phone,
            self.name,
            self.timezone,
            self.region,
            variables,
            consent_at=consent.given_at.isoformat() if consent else "",
            consent_channel=consent.channel.value if consent else "",
            consent_source=consent.source if consent else "",
        )


class ContactsBody(BaseModel):
    """A CRM's push: `contacts` as JSON objects, each validated on its own afterwards (a bad one is skipped,
    not the request)."""

    model_config = ConfigDict(extra="forbid")

    contacts: list[Any] = Field(min_length=1, max_length=MAX_RECORDS)


class RecordOut(BaseModel):
    index: int = Field(description="0-based position in `contacts`")
    status: Literal["created", "merged", "skipped"]
    phone: str = Field(description="E.164, unless skipped")
    contact_id: int | None
    reason: str = Field(description="why it was skipped")
    do_not_call: bool = Field(False, description="on the do-not-call list: stored as `dnc`, never dialled")
    blocked: BlockReason | None = Field(
        None,
        description="why the dialer will not call it (do-not-call list, or the campaign purpose's policy)",
    )


class PushOut(BaseModel):
    created: int
    merged: int
    skipped: int
    do_not_call: int = Field(description="created or merged contacts on the do-not-call list")
    blocked: dict[BlockReason, int] = Field(
        description="created or merged contacts not to be called, per reason"
    )
    results: list[RecordOut]


_BODIES = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "the CSV file"},
                **{
                    f"{name}_column": {"type": "string", "description": f"header of the {name} column"}
                    for name in COLUMNS
                },
            },
        }
    },
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["contacts"],
            "additionalProperties": False,
            "properties": {
                "contacts": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_RECORDS,
                    "items": ContactIn.model_json_schema(),
                }
            },
        }
    },
}


@router.post(
    "",
    response_model=ContactImportOut | PushOut,
    dependencies=[Depends(require(Scope.WRITE))],
    openapi_extra={"requestBody": {"required": True, "content": _BODIES}},
    responses={413: {"description": "body too large"}, 415: {"description": "neither CSV upload nor JSON"}},
)
async def add_contacts(campaign_id: EntityId, request: Request) -> ContactImportOut | PushOut:
    """Add contacts to a campaign, as a CSV upload (`multipart/form-data`) or pushed by a CRM as JSON
    (`{"contacts": [{"phone", "name", "timezone", "region", "variables"}]}`). Either way each row or object is
    validated alike: the phone normalised to E.164; the time zone from `timezone`, else `region` (Russian
    region name or ISO code), else the number's region; duplicates merged (later non-empty values win,
    variables combined), also with contacts already in the campaign, so pushing again is idempotent. Bad rows
    are reported and skipped, the rest imported. CSV: other columns become script variables under their header
    names; the answer counts rows. JSON: the answer has one result per object (created, merged or skipped with
    the reason, by index)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await _read_body(request, MAX_JSON)
        return await run_in_threadpool(_push, request, campaign_id, body)
    if content_type == "multipart/form-data":
        return await _upload(request, campaign_id)
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send a CSV file as multipart/form-data (field 'file') or contacts as application/json",
    )


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _push(request: Request, campaign_id: int, body: bytes) -> PushOut:
    """Parse the JSON push (in a worker thread: parsing and importing are CPU and database work)."""
    try:
        parsed = ContactsBody.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc
    results: list[RecordOut] = []
    records: list[tuple[int, RawContact]] = []
    for index, item in enumerate(parsed.contacts):
        if not isinstance(item, dict):
            results.append(_skipped(index, f"expected a JSON object, got {type(item).__name__}"))
            continue
        try:
            records.append((index, ContactIn.model_validate(item).raw()))
        except ValidationError as exc:
            results.append(_skipped(index, _why(exc)))
    state = request.app.state
    stored = service.add_contacts(
        state.db, campaign_id, records, state.normalizer, state.clock.now(), state.settings.compliance
    )
    results += [RecordOut.model_validate(result, from_attributes=True) for result in stored]
    results.sort(key=lambda result: result.index)
    counts = Counter(result.status for result in results)
    return PushOut(
        created=counts["created"],
        merged=counts["merged"],
        skipped=counts["skipped"],
        do_not_call=sum(result.do_not_call for result in results),
        blocked=Counter(result.blocked for result in results if result.blocked),
        results=results,
    )


def _skipped(index: int, reason: str) -> RecordOut:
    return RecordOut(index=index, status="skipped", phone="", contact_id=None, reason=reason)


def _why(error: ValidationError) -> str:
    """A validation error as one line: 'phone: Field required; name: ...'."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'contact'}: {e['msg']}" for e in error.errors()
    )


async def _upload(request: Request, campaign_id: int) -> ContactImportOut:
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, StarletteUploadFile):
            raise RequestValidationError(
                [{"loc": ("body", "file"), "msg": "Field required", "type": "missing"}]
            )
        data = await file.read(MAX_UPLOAD + 1)
        columns = {name: form.get(f"{name}_column") for name in COLUMNS}
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"file larger than {MAX_UPLOAD} bytes")
    mapping = ColumnMapping(
        **{name: value if isinstance(value, str) else None for name, value in columns.items()}
    )
    state = request.app.state
    report = await run_in_threadpool(
        service.import_contacts,
        state.db,
        campaign_id,
        data,
        mapping,
        state.normalizer,
        state.clock.now(),
        None,
        state.settings.compliance,
    )
    return ContactImportOut.model_validate(report)


@router.get("", response_model=list[ContactOut], dependencies=[Depends(require(Scope.READ))])
def list_contacts(
    campaign_id: EntityId,
    session: DbSession,
    request: Request,
    state: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ContactOut]:
    """The campaign's contacts; each says why the dialer does not or will not call it (`blocked`)."""
    purpose = service.get(session, campaign_id).purpose
    compliance = request.app.state.settings.compliance
    query = select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.id)
    if state:
        query = query.where(Contact.state == state)
    return [
        ContactOut.model_validate(contact).model_copy(
            update={"blocked": service.contact_block(contact, compliance, purpose)}
        )
        for contact in session.scalars(query.limit(limit).offset(offset))
    ]
