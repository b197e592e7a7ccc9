"""What the queue wait reads from and adds to the hand-off records: the queue's measured handle time, and the
`handoff.queued` CRM event when a customer starts waiting for an agent (the wait itself, with how it ended, is
kept in the row's `context.warm.queue_wait` with the transfer's report)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from bot.crm.outbox import EventType, emit
from bot.handoff.context import HandoffState
from bot.handoff.queue_wait import QueueWait
from bot.storage.db import Database
from bot.storage.models import Call, Handoff

HANDLE_SAMPLE = 50  # the latest bridged calls a queue's handle time is measured on


class QueueRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_seconds(self, queue: str) -> float | None:
        """The mean time agents of `queue` spent on their latest bridged calls (warm transfer joined → call
        ended; blind transfers leave the robot, so they tell nothing); None before any."""
        return await asyncio.to_thread(self._handle_seconds, queue)

    async def queued(self, handoff_id: int, wait: QueueWait) -> None:
        await asyncio.to_thread(self._queued, handoff_id, wait)

    def _handle_seconds(self, queue: str) -> float | None:
        with self.db.session() as session:
            rows = session.execute(
                select(Handoff.finished_at, Call.ended_at, Handoff.context)
                .join(Call, Call.id == Handoff.call_id)
                .where(
                    Handoff.queue == queue,
                    Handoff.state == HandoffState.COMPLETED.value,
                    Handoff.finished_at.is_not(None),
                    Call.ended_at.is_not(None),
                )
                .order_by(Handoff.id.desc())
                .limit(HANDLE_SAMPLE)
            ).all()
        durations = [
            seconds
            for joined, ended, context in rows
            if "warm" in context and (seconds := (_utc(ended) - _utc(joined)).total_seconds()) > 0
        ]
        return sum(durations) / len(durations) if durations else None

    def _queued(self, handoff_id: int, wait: QueueWait) -> None:
        with self.db.session() as session:
            handoff = session.get(Handoff, handoff_id)
            if handoff is None:
                return
            payload = {
                "handoff_id": handoff.id,
                "call_id": handoff.context.get("call_id"),
                "queue": handoff.queue,
                "queued_at": wait.started_at.isoformat(),
                "place": wait.place,
                "expected_seconds": wait.expected_seconds,
            }
            emit(session, EventType.HANDOFF_QUEUED, payload, wait.started_at)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
