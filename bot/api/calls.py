"""The call log (`calls` table, every robot call): list with filters and text search, detail, recording."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.auth import Scope, require
from bot.api.deps import DbSession, Limit, Offset
from bot.api.metrics import CSV_RESPONSE, AsFormat, Filter, Format, csv_response
from bot.api.schemas import AttemptOut, CallDetailOut, CallOut, HandoffOut
from bot.call_results.store import attempt_verdict, recording_link
from bot.metrics.export import table_csv
from bot.metrics.filters import CallFilter
from bot.storage.models import Attempt, Call, Handoff

router = APIRouter(prefix="/calls", tags=["calls"], dependencies=[Depends(require(Scope.READ))])

CallId = Annotated[str, Path(min_length=1, max_length=64, description="the call's id (its conversation id)")]
Search = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="text in the transcript, a phone number or a call id"),
]
Outcome = Annotated[str | None, Query(max_length=32, description="only calls with this outcome")]


def _out(call: Call) -> CallOut:
    return CallOut.model_validate(call).model_copy(
        update={"recording": recording_link(call.call_id) if call.recording_path else None}
    )


def _matches(call: Call, needle: str) -> bool:
    if needle in call.call_id.casefold() or needle in call.caller or needle in call.called:
        return True
    lines = call.transcript if isinstance(call.transcript, list) else []
    return any(isinstance(line, dict) and needle in str(line.get("text", "")).casefold() for line in lines)


def find_calls(
    session: Session, where: CallFilter, outcome: str | None, q: str | None, limit: int, offset: int
) -> Iterator[Call]:
    """Newest first. Text search runs over the matching rows in Python (transcripts are JSON), so narrow it
    with a date range on a large table."""
    query = select(Call).where(*where.where()).order_by(Call.started_at.desc(), Call.id.desc())
    if outcome is not None:
        query = query.where(Call.outcome == outcome)
    if not q:
        yield from session.scalars(query.limit(limit).offset(offset))
        return
    needle, skipped, found = q.casefold(), 0, 0
    for call in session.scalars(query.execution_options(yield_per=500)):
        if not _matches(call, needle):
            continue
        if skipped < offset:
            skipped += 1
            continue
        yield call
        found += 1
        if found == limit:
            return


@router.get("", response_model=list[CallOut], responses=CSV_RESPONSE)
def list_calls(
    session: DbSession,
    where: Filter,
    outcome: Outcome = None,
    q: Search = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: AsFormat = Format.JSON,
) -> list[CallOut] | Response:
    """The call log, newest first, by campaign, script, direction, outcome, local date range and text."""
    rows = [_out(call) for call in find_calls(session, where, outcome, q, limit, offset)]
    return csv_response(table_csv(rows, CallOut), "calls") if format is Format.CSV else rows


def _call(session: Session, call_id: str) -> Call:
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"call {call_id} not found")
    return call


@router.get("/{call_id}", response_model=CallDetailOut)
def get_call(call_id: CallId, session: DbSession) -> dict[str, Any]:
    """Transcript, slots, outcome, turns with their latencies, hand-offs and (outbound) the dialler's attempt."""
    call = _call(session, call_id)
    handoffs = session.scalars(select(Handoff).where(Handoff.call_id == call.id).order_by(Handoff.id))
    attempt = session.get(Attempt, call.attempt_id) if call.attempt_id is not None else None
    return CallDetailOut.model_validate(
        {
            **_out(call).model_dump(),
            **{
                name: getattr(call, name) for name in ("node", "outcome_data", "slots", "transcript", "turns")
            },
            "barge_ins": call.barge_ins,
            "handoffs": [HandoffOut.model_validate(h) for h in handoffs],
            "attempt": _attempt_out(attempt, call) if attempt else None,
        }
    ).model_dump()


def _attempt_out(attempt: Attempt, call: Call) -> AttemptOut:
    """The dialler's attempt with the outcome and verdict of its call (an attempt keeps none of its own)."""
    return AttemptOut(
        id=attempt.id,
        contact_id=attempt.contact_id,
        phone=attempt.phone,
        number=attempt.number,
        state=attempt.state,
        result=attempt.result,
        outcome=call.outcome,
        amd=attempt_verdict(call),
    )


@router.get(
    "/{call_id}/recording",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "the call's WAV recording"}},
)
def get_recording(call_id: CallId, session: DbSession) -> FileResponse:
    """The call's recording as WAV (404 when the call has none or its file is gone)."""
    call = _call(session, call_id)
    path = FilePath(call.recording_path) if call.recording_path else None
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"call {call_id} has no recording")
    return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.wav")
