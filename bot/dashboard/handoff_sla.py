"""The Hand-offs page: the hand-off service levels per queue over a period (the numbers of
`GET /api/v1/metrics/handoffs`), with the period, the queue and the SLA threshold as filters."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bot.api.deps import DbSession
from bot.dashboard.routes import PREFIX, User, render
from bot.metrics.filters import CallFilter, FilterError
from bot.metrics.handoff_sla import DEFAULT_SLA_SECONDS, handoff_sla

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/handoffs", response_class=HTMLResponse)
def handoffs_page(
    request: Request,
    who: User,
    session: DbSession,
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    queue: Annotated[str, Query(max_length=64)] = "",
    within: Annotated[float, Query(gt=0, le=3600)] = DEFAULT_SLA_SECONDS,
) -> HTMLResponse:
    """One row for all queues, then one per queue; an unreadable day is ignored, days in the wrong order say so."""
    first, last = _day(date_from), _day(date_to)
    error = None
    try:
        where = CallFilter(date_from=first, date_to=last)
    except FilterError:
        error, where = "handoff_sla.error.order", CallFilter()
    rows = handoff_sla(session, where, queue.strip() or None, sla_seconds=within)
    chosen = {
        "date_from": first.isoformat() if first else "",
        "date_to": last.isoformat() if last else "",
        "queue": queue.strip(),
        "within": f"{within:g}",
    }
    return render(request, "handoff_sla.html", who, page="handoffs", rows=rows, chosen=chosen, error=error)
