"""Metrics endpoints (read scope): campaign view, summary per day/hour, survey, latency, script steps, SLA,
hand-off service levels per queue.

Every endpoint answers JSON, or CSV with `?format=csv`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from bot.api.auth import Scope, require
from bot.api.deps import CampaignFilter, DbSession, EntityId
from bot.metrics.campaign import CampaignMetrics, CampaignNotFound, campaign_metrics
from bot.metrics.export import object_csv, table_csv
from bot.metrics.filters import CallFilter, FilterError, Group, zone
from bot.metrics.handoff_sla import DEFAULT_SLA_SECONDS, HandoffSlaRow, handoff_sla
from bot.metrics.latency import LatencyRow, latency
from bot.metrics.sla import DEFAULT_AGENT_SECONDS, DEFAULT_ROBOT_SECONDS, SlaOut, sla
from bot.metrics.steps import StepRow, steps
from bot.metrics.summary import SummaryRow, summary
from bot.metrics.survey import SurveyRow, survey
from bot.metrics.targets import Targets, load_targets
from telephony import CallDirection

router = APIRouter(prefix="/metrics", tags=["metrics"], dependencies=[Depends(require(Scope.READ))])


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


CSV_RESPONSE = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
AsFormat = Annotated[Format, Query(description="json (default) or csv")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone of dates and buckets")]


def _unprocessable(exc: FilterError) -> HTTPException:
    detail = [{"loc": ["query", exc.field], "msg": str(exc), "type": "value_error"}]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def period_filter(
    campaign_id: CampaignFilter = None,
    direction: Annotated[CallDirection | None, Query(description="inbound or outbound")] = None,
    date_from: Annotated[date | None, Query(description="first local day, inclusive")] = None,
    date_to: Annotated[date | None, Query(description="last local day, inclusive")] = None,
    tz: Tz = "UTC",
) -> CallFilter:
    try:
        return CallFilter(campaign_id, None, direction, date_from, date_to, tz)
    except FilterError as exc:
        raise _unprocessable(exc) from exc


def call_filter(
    period: Annotated[CallFilter, Depends(period_filter)],
    script: Annotated[str | None, Query(max_length=100, description="only this script")] = None,
) -> CallFilter:
    return replace(period, script=script)


Filter = Annotated[CallFilter, Depends(call_filter)]
Period = Annotated[CallFilter, Depends(period_filter)]


def targets(request: Request, session: DbSession) -> Targets:
    return load_targets(session, request.app.state.settings.paths.dialogs_dir)


def csv_response(text: str, name: str) -> Response:
    """A CSV download; a name outside plain ASCII (a script id is the caller's text) goes in `filename*` (RFC 6266),
    an ASCII stand-in in `filename`."""
    filename = f"{name}.csv"
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    disposition = f'attachment; filename="{plain}"'
    if plain != filename:
        disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


def _rows(rows: list, model: type[BaseModel], fmt: Format, name: str) -> list | Response:
    return csv_response(table_csv(rows, model), name) if fmt is Format.CSV else rows


@router.get("", response_model=list[SummaryRow], responses=CSV_RESPONSE)
def get_summary(
    session: DbSession,
    where: Filter,
    goals: Annotated[Targets, Depends(targets)],
    group: Annotated[Group, Query(description="none: one total row; day or hour: a row per local bucket")] = (
        Group.NONE
    ),
    format: AsFormat = Format.JSON,
) -> list[SummaryRow] | Response:
    """Answer, reach, machine, conversion, transfer and do-not-call rates, AHT and outcomes of ended calls."""
    return _rows(summary(session, where, goals, group), SummaryRow, format, "summary")


@router.get("/campaigns/{campaign_id}", response_model=CampaignMetrics, responses=CSV_RESPONSE)
def get_campaign(
    campaign_id: EntityId,
    session: DbSession,
    goals: Annotated[Targets, Depends(targets)],
    tz: Tz = "UTC",
    format: AsFormat = Format.JSON,
) -> BaseModel | Response:
    """Progress (dialled, reached, converted, remaining), conversion, attempt results, call metrics, survey and
    latency of one campaign."""
    try:
        zone(tz)
        metrics = campaign_metrics(session, campaign_id, goals, tz)
    except FilterError as exc:
        raise _unprocessable(exc) from exc
    except CampaignNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return csv_response(object_csv(metrics), f"campaign-{campaign_id}") if format is Format.CSV else metrics


@router.get("/survey", response_model=list[SurveyRow], responses=CSV_RESPONSE)
def get_survey(
    session: DbSession, where: Filter, group: Group = Group.NONE, format: AsFormat = Format.JSON
) -> list[SurveyRow] | Response:
    """NPS (points) and CSAT (%) with their answer counts, from the `nps` and `csat` slots."""
    return _rows(survey(session, where, group), SurveyRow, format, "survey")


@router.get("/latency", response_model=list[LatencyRow], responses=CSV_RESPONSE)
def get_latency(
    session: DbSession, where: Filter, group: Group = Group.DAY, format: AsFormat = Format.JSON
) -> list[LatencyRow] | Response:
    """p50/p95 end of the caller's speech → first robot audio out, over spoken turns."""
    return _rows(latency(session, where, group), LatencyRow, format, "latency")


@router.get("/scripts/{script}/steps", response_model=list[StepRow], responses=CSV_RESPONSE)
def get_steps(
    script: Annotated[str, Path(min_length=1, max_length=100)],
    session: DbSession,
    where: Period,
    format: AsFormat = Format.JSON,
) -> list[StepRow] | Response:
    """Per step: no-match and silence rates, re-prompts; the most troublesome step first."""
    return _rows(steps(session, script, where), StepRow, format, f"steps-{script}")


@router.get("/sla", response_model=SlaOut, responses=CSV_RESPONSE)
def get_sla(
    session: DbSession,
    where: Filter,
    answer_within: Annotated[float, Query(gt=0, le=3600, description="robot answer target, seconds")] = (
        DEFAULT_ROBOT_SECONDS
    ),
    agent_within: Annotated[float, Query(gt=0, le=3600, description="agent answer target, seconds")] = (
        DEFAULT_AGENT_SECONDS
    ),
    format: AsFormat = Format.JSON,
) -> BaseModel | Response:
    """Share of inbound calls the robot answered within `answer_within` s and of hand-offs an agent answered
    within `agent_within` s."""
    result = sla(session, where, answer_within, agent_within)
    return csv_response(object_csv(result), "sla") if format is Format.CSV else result


@router.get("/handoffs", response_model=list[HandoffSlaRow], responses=CSV_RESPONSE)
def get_handoffs(
    session: DbSession,
    where: Filter,
    queue: Annotated[str | None, Query(max_length=64, description="only this queue")] = None,
    group: Group = Group.NONE,
    within: Annotated[float, Query(gt=0, le=3600, description="service level threshold, seconds")] = (
        DEFAULT_SLA_SECONDS
    ),
    format: AsFormat = Format.JSON,
) -> list[HandoffSlaRow] | Response:
    """Per queue (and all queues, `queue` null): transfers requested and connected, agent answer time and time to
    agent p50/p90, the share joined within `within` s, abandoned in queue, taken back, accepted per agent."""
    return _rows(handoff_sla(session, where, queue, group, within), HandoffSlaRow, format, "handoffs")
