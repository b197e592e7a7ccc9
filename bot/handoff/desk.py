"""The hand-off desk: turns a dialog's transfer into a SIP transfer with context, and records how it ended.

`Handoffs` is process-wide (queues from `handoff.queues`; records when given a database); the bridge of each
call gets a `CallHandoff` from it. A queue in `mode: warm` is handed a `WarmTransfer` (bot/handoff/warm.py) when
the desk has a phone to dial its agents and a voice for the summary; otherwise, and by default, a blind REFER.
A failed transfer while the robot still has the caller becomes a `Takeback`: what the robot says before hanging
up, and when the caller is called back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from bot.config import HandoffSettings, QueueSettings, TransferMode
from bot.dialog.action_log import TransferAsked
from bot.dialog.model import Script
from bot.dialog.transcript import Exchange
from bot.handoff.agents import AgentBoard
from bot.handoff.context import HandoffReason, handoff_reason, sip_headers, transcript_so_far
from bot.handoff.ending import FailureCause
from bot.handoff.queue_records import QueueRecords
from bot.handoff.queue_wait import QueueLine, QueueWait
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.handoff.summary import summary_text
from bot.handoff.timeline import TimelineLine, warm_timeline
from bot.handoff.warm import ACCEPT_PROMPT, CONNECTING, Speak, WarmTransfer
from bot.privacy.records import NOTHING_SENSITIVE, SensitiveSlots, redact_lines, redact_values
from bot.storage.db import Database
from telephony.events import TransferResult
from telephony.phone import Phone
from voice.spoken import RenderError


@dataclass(frozen=True)
class Transfer:
    """The SIP side of a hand-off: REFER to `target` with `headers`, waiting up to `timeout` s for the agent; or,
    for a warm queue, `warm` (the transport runs it instead of the REFER)."""

    target: str
    timeout: float
    headers: dict[str, str]
    warm: WarmTransfer | None = None


@dataclass(frozen=True)
class Takeback:
    """The transfer failed and the robot still has the caller: say this, hang up, call back at `callback_at`."""

    say: str
    callback_at: datetime


class Handoffs:
    def __init__(
        self, settings: HandoffSettings, db: Database | None = None, board: AgentBoard | None = None
    ) -> None:
        self.settings = settings
        self.board = board or AgentBoard(settings)  # the agents' availability (one per process)
        self.queue_records = QueueRecords(db) if db is not None else None
        self.records = HandoffRecords(db) if db is not None else None
        self.phone: Phone | None = None  # dials the agents of warm queues
        self.speaker: Callable[[str], Speak] | None = (
            None  # a language's voice for "соединяю" and the summary
        )

    def for_call(
        self,
        call_id: str,
        lang: str,
        sensitive: SensitiveSlots = NOTHING_SENSITIVE,
        script: Script | None = None,
    ) -> CallHandoff:
        """The hand-offs of one call; `sensitive` names its script's slots masked in what is stored or sent;
        `script` (its `handoff_summary`) is needed for warm transfers."""
        return CallHandoff(self, call_id, lang, sensitive, script)


class CallHandoff:
    """The hand-offs of one call (at most one transfer at a time)."""

    def __init__(
        self,
        desk: Handoffs,
        call_id: str,
        lang: str,
        sensitive: SensitiveSlots = NOTHING_SENSITIVE,
        script: Script | None = None,
    ) -> None:
        self.desk, self.call_id, self.lang, self.sensitive, self.script = (
            desk,
            call_id,
            lang,
            sensitive,
            script,
        )
        self.handoff_id: int | None = None
        self.queue = ""
        self.warm: WarmTransfer | None = None  # the current transfer, when warm
        self.blind_agent: str | None = None  # the declared agent a blind REFER goes to (busy meanwhile)
        self.timeline: list[TimelineLine] = []  # the last warm transfer's steps, for the call's transcript
        self._writes: set[asyncio.Task] = set()

    async def start(self, exchange: Exchange, exchanges: list[tuple[str | None, Exchange]]) -> Transfer:
        """The dialog decided to transfer (`exchange` holds the transfer action): record it, build the REFER."""
        action = next(a for a in exchange.result.actions if isinstance(a, TransferAsked))
        self.queue = action.queue
        queue = self.desk.settings.queues.get(self.queue)
        target, timeout = (queue.target, queue.timeout_seconds) if queue else (self.queue, 30.0)
        state = exchange.result.state
        reason = handoff_reason(exchange)
        # the agent's screen, the hand-off row, the CRM and the SIP headers get the values with identifiers masked
        slots, data, transcript = await asyncio.to_thread(
            self._redacted, state.values, action.data, transcript_so_far(exchanges)
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
        self.warm = None
        if queue is not None and queue.mode is TransferMode.WARM:
            line = await self._queue_line(queue)
            self.warm = self._warm_transfer(queue, reason, slots, data, transcript, headers, line)
        if self.warm is None and (agent := self.desk.board.named_at(target)):
            self.blind_agent = agent
            self.desk.board.busy(agent)
        return Transfer(target, timeout, headers, self.warm)

    async def _queue_line(self, queue: QueueSettings) -> QueueLine | None:
        """The queue's line on the board, to wait in when no agent is free (None when it names no agents)."""
        if not queue.agents:
            return None
        records, handoff_id, handle = self.desk.queue_records, self.handoff_id, None
        if records is not None:
            try:
                handle = await records.handle_seconds(self.queue)
            except Exception:
                logger.exception(f"call {self.call_id}: reading {self.queue}'s handle time failed")

        def queued(wait: QueueWait) -> None:
            if records is not None and handoff_id is not None:
                self._record(self._logged(records.queued(handoff_id, wait)))

        return QueueLine(
            self.desk.board, self.queue, self.call_id, self.lang, queue.max_wait_seconds, queue.max_waiting,
            handle or queue.handle_seconds, on_join=queued,
        )  # fmt: skip

    def _warm_transfer(
        self,
        queue: QueueSettings,
        reason: HandoffReason,
        slots: dict[str, Any],
        data: dict[str, Any],
        transcript: list[dict[str, Any]],
        headers: dict[str, str],
        line: QueueLine | None,
    ) -> WarmTransfer | None:
        """The warm transfer to the queue's agents, its summary from the (redacted) call data; None (a blind
        transfer) where the desk has no phone or voice, or the call no script."""
        if self.desk.phone is None or self.desk.speaker is None or self.script is None:
            logger.warning(
                f"call {self.call_id}: queue {self.queue} is warm but no phone/voice: blind transfer"
            )
            return None
        captured = {step.capture.slot for step in self.script.steps.values() if step.capture}
        collected = {name: value for name, value in slots.items() if name in captured or name in data}
        last_words = next((line["text"] for line in reversed(transcript) if line["speaker"] == "caller"), "")
        try:
            summary = summary_text(
                self.script, self.lang, reason=reason.value, queue=self.queue, values=slots,
                collected=collected, last_words=last_words,
            )  # fmt: skip
        except RenderError as exc:
            logger.error(f"call {self.call_id}: the hand-off summary cannot be said ({exc}): blind transfer")
            return None
        if queue.accept_key:
            summary += " " + ACCEPT_PROMPT.get(self.lang, ACCEPT_PROMPT["en"]).format(key=queue.accept_key)
        return WarmTransfer(
            self.desk.phone,
            self.desk.settings.agent_targets(self.queue),
            summary=summary,
            connecting=CONNECTING.get(self.lang, CONNECTING["en"]),
            speak=self.desk.speaker(self.lang),
            ring_seconds=queue.ring_seconds,
            accept_key=queue.accept_key,
            headers={
                name: value for name, value in headers.items() if name.endswith(("Call-Id", "Handoff-Id"))
            },
            board=self.desk.board,
            line=line,
        )

    def finished(self, result: TransferResult, connected: bool, seconds: float) -> Takeback | None:
        """Record the transfer's end (in the background); a Takeback when the robot must take the call back."""
        takeback = None
        if self.blind_agent is not None:
            self.desk.board.idle(self.blind_agent)
            self.blind_agent = None
        transfer, self.warm = self.warm, None
        warm = transfer.report() if transfer else None
        began = datetime.now(UTC) - timedelta(seconds=seconds)
        self.timeline = (
            warm_timeline(warm, transfer.connecting, self.lang, began) if transfer and warm else []
        )
        if result.succeeded:
            self._record(self._completed(self.handoff_id, seconds, warm))
        else:
            failure = f"{result.status}: {result.reason}" if result.reason else str(result.status)
            if connected:
                callback_at = datetime.now(UTC) + timedelta(minutes=self.desk.settings.callback_minutes)
                takeback = Takeback(self._takeback_text(), callback_at)
            callback_at = takeback.callback_at if takeback else None
            self._record(self._failed(self.handoff_id, failure, callback_at, warm))
            logger.info(f"call {self.call_id}: hand-off to {self.queue} failed ({failure})")
        self.handoff_id = None
        return takeback

    async def settle(self) -> None:
        """After the call: wait for the records; a hand-off that never got a result is failed."""
        if self.handoff_id is not None:
            ended = "the call ended before the transfer had a result"
            self._record(self._failed(self.handoff_id, ended, None, cause=FailureCause.CALL_ENDED))
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

    async def _completed(self, handoff_id: int | None, seconds: float, warm: dict | None = None) -> None:
        if self.desk.records is not None and handoff_id is not None:
            await self._logged(self.desk.records.completed(handoff_id, seconds, warm))

    async def _failed(
        self,
        handoff_id: int | None,
        failure: str,
        callback_at: datetime | None,
        warm: dict | None = None,
        cause: FailureCause = FailureCause.TRANSFER,
    ) -> None:
        if self.desk.records is not None and handoff_id is not None:
            await self._logged(self.desk.records.failed(handoff_id, failure, callback_at, warm, cause))

    async def _logged(self, write: Awaitable[None]) -> None:
        try:
            await write
        except Exception:
            logger.exception(f"call {self.call_id}: recording the hand-off's result failed")
