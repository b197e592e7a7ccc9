"""The hand-off desk: turns a dialog's transfer into a SIP transfer with context, and records how it ended.

`Handoffs` is process-wide (queues from `handoff.queues`; records when given a database); the bridge of each
call gets a `CallHandoff` from it. A failed transfer while the robot still has the caller becomes a `Takeback`:
what the robot says before hanging up, and when the caller is called back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from bot.config import HandoffSettings
from bot.dialog.conversation import Exchange
from bot.handoff.context import handoff_reason, sip_headers, transcript_so_far
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.privacy.records import NOTHING_SENSITIVE, SensitiveSlots, redact_lines, redact_values
from bot.storage.db import Database
from telephony.events import TransferResult


@dataclass(frozen=True)
class Transfer:
    """The SIP side of a hand-off: REFER to `target` with `headers`, waiting up to `timeout` s for the agent."""

    target: str
    timeout: float
    headers: dict[str, str]


@dataclass(frozen=True)
class Takeback:
    """The transfer failed and the robot still has the caller: say this, hang up, call back at `callback_at`."""

    say: str
    callback_at: datetime


class Handoffs:
    def __init__(self, settings: HandoffSettings, db: Database | None = None) -> None:
        self.settings = settings
        self.records = HandoffRecords(db) if db is not None else None

    def for_call(self, call_id: str, lang: str, sensitive: SensitiveSlots = NOTHING_SENSITIVE) -> CallHandoff:
        """The hand-offs of one call; `sensitive` names its script's slots masked in what is stored or sent."""
        return CallHandoff(self, call_id, lang, sensitive)


class CallHandoff:
    """The hand-offs of one call (at most one transfer at a time)."""

    def __init__(
        self, desk: Handoffs, call_id: str, lang: str, sensitive: SensitiveSlots = NOTHING_SENSITIVE
    ) -> None:
        self.desk, self.call_id, self.lang, self.sensitive = desk, call_id, lang, sensitive
        self.handoff_id: int | None = None
        self.queue = ""
        self._writes: set[asyncio.Task] = set()

    async def start(self, exchange: Exchange, exchanges: list[tuple[str | None, Exchange]]) -> Transfer:
        """The dialog decided to transfer (`exchange` holds the transfer action): record it, build the REFER."""
        action = next(a for a in exchange.result.actions if a.get("type") == "transfer")
        self.queue = str(action.get("queue") or "")
        queue = self.desk.settings.queues.get(self.queue)
        target, timeout = (queue.target, queue.timeout_seconds) if queue else (self.queue, 30.0)
        state = exchange.result.state
        reason = handoff_reason(exchange)
        # the agent's screen, the hand-off row, the CRM and the SIP headers get the values with identifiers masked
        slots, data, transcript = await asyncio.to_thread(
            self._redacted, state.values, action.get("data") or {}, transcript_so_far(exchanges)
        )
        campaign_id = None
        if self.desk.records is not None:
            request = HandoffRequest(
                call_id=self.call_id,
                queue=self.queue,
                target=target,
                reason=reason,
                outcome=state.outcome,
                slots=slots,
                data=data,
                transcript=transcript,
            )
            try:
                requested = await self.desk.records.requested(request)
                self.handoff_id, campaign_id = requested.handoff_id, requested.campaign_id
            except Exception:
                logger.exception(f"call {self.call_id}: recording the hand-off failed; transferring anyway")
        outcome = state.outcome.value if state.outcome else None
        headers = sip_headers(self.call_id, self.handoff_id, self.queue, reason, campaign_id, outcome, data)
        logger.info(f"call {self.call_id}: hand-off {self.handoff_id} to {self.queue} ({target}), {reason}")
        return Transfer(target, timeout, headers)

    def finished(self, result: TransferResult, connected: bool, seconds: float) -> Takeback | None:
        """Record the transfer's end (in the background); a Takeback when the robot must take the call back."""
        takeback = None
        if result.succeeded:
            self._record(self._completed(self.handoff_id, seconds))
        else:
            failure = f"{result.status}: {result.reason}" if result.reason else str(result.status)
            if connected:
                callback_at = datetime.now(UTC) + timedelta(minutes=self.desk.settings.callback_minutes)
                takeback = Takeback(self._takeback_text(), callback_at)
            self._record(self._failed(self.handoff_id, failure, takeback.callback_at if takeback else None))
            logger.info(f"call {self.call_id}: hand-off to {self.queue} failed ({failure})")
        self.handoff_id = None
        return takeback

    async def settle(self) -> None:
        """After the call: wait for the records; a hand-off that never got a result is failed."""
        if self.handoff_id is not None:
            self._record(
                self._failed(self.handoff_id, "the call ended before the transfer had a result", None)
            )
            self.handoff_id = None
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _redacted(
        self, slots: dict[str, Any], data: dict[str, Any], transcript: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        secrets = self.sensitive.secrets(slots)
        return (
            redact_values(slots, self.lang, self.sensitive, secrets),
            redact_values(data, self.lang, self.sensitive, secrets),
            redact_lines(transcript, self.lang, self.sensitive, secrets),
        )

    def _takeback_text(self) -> str:
        queue = self.desk.settings.queues.get(self.queue)
        texts = {**self.desk.settings.takeback, **(queue.takeback if queue else {})}
        return texts.get(self.lang) or next(iter(texts.values()), "")

    def _record(self, write: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _completed(self, handoff_id: int | None, seconds: float) -> None:
        if self.desk.records is not None and handoff_id is not None:
            await self._logged(self.desk.records.completed(handoff_id, seconds))

    async def _failed(self, handoff_id: int | None, failure: str, callback_at: datetime | None) -> None:
        if self.desk.records is not None and handoff_id is not None:
            await self._logged(self.desk.records.failed(handoff_id, failure, callback_at))

    async def _logged(self, write: Awaitable[None]) -> None:
        try:
            await write
        except Exception:
            logger.exception(f"call {self.call_id}: recording the hand-off's result failed")
