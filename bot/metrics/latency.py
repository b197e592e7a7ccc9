"""Turn latency as the caller hears it: end of speech → first robot audio on the line, per text turn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.core.stats import nearest_rank
from bot.metrics.calls import answered_calls
from bot.metrics.filters import CallFilter, Group, bucket
from bot.storage.models import Call

STAGE = "first_audio_out"


class LatencyRow(BaseModel):
    bucket: datetime | None = Field(description="local start of the day or hour; null for the total")
    turns: int = Field(description="text turns with a measured first audio out")
    p50_ms: float | None
    p95_ms: float | None


def turn_latencies(turns: Any) -> list[float]:
    """`ms.first_audio_out` of the caller's spoken turns in a call's `turns` list (malformed entries skipped)."""
    found = []
    for turn in turns if isinstance(turns, list) else ():
        if not isinstance(turn, dict) or turn.get("kind") != "text":
            continue
        value = (turn.get("ms") or {}).get(STAGE)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            found.append(float(value))
    return found


def latency(session: Session, where: CallFilter, group: Group = Group.NONE) -> list[LatencyRow]:
    """p50/p95 (nearest rank) per bucket; a total row even when nothing was measured."""
    values: dict[datetime | None, list[float]] = {}
    for started_at, turns in answered_calls(session, where, Call.turns):
        measured = turn_latencies(turns)
        if measured:
            values.setdefault(bucket(started_at, group, where.zone), []).extend(measured)
    if group is Group.NONE:
        values.setdefault(None, [])
    return [
        LatencyRow(bucket=at, turns=len(v), p50_ms=nearest_rank(v, 50), p95_ms=nearest_rank(v, 95))
        for at, v in values.items()
    ]
