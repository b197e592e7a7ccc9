"""Every call of the robot in the database (`calls` table), with its CRM events in the same transactions.

A row is written at the first ring (`call.started`), updated when the call is answered (`call.answered`) and when
it ends (`call.completed` with outcome, slots, transcript, durations and the recording's API link). The end's
transaction also emits the CRM events the script named (`crm_event`) and, for a caller who is no campaign contact,
stores the callback the script scheduled as a callback task. Identifiers in the transcript, heard turns, slots,
outcome data and error are masked (`bot.privacy`). The writes run in a worker thread: the event loop
carrying the calls' audio never waits on the database. A row's `node` names the worker process carrying the call;
the calls a dead worker left up are ended by the worker that finds it (`end_lost_calls`, `worker_lost`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.call_results.result import CallResult, EndedBy
from bot.contacts import dnc
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.crm.outbox import EventType, emit, emit_script_event
from bot.dialog.model import LANGS
from bot.metrics import prometheus
from bot.outcomes import Outcome
from bot.privacy.records import redact_lines, redact_turns, redact_values
from bot.privacy.redact import redact
from bot.storage.db import Database
from bot.storage.models import Call, CallbackTask
from telephony.events import CallDirection, CallState
from voice.amd import Verdict

LOST_CALL_ERROR = "the worker carrying this call stopped (killed or cut off) before the call ended"


@dataclass(frozen=True)
class CallStart:
    """Who calls whom, known at the first ring."""

    call_id: str
    direction: CallDirection
    caller: str
    called: str
    script: str = ""
    language: str = ""
    campaign_id: int | None = None
    contact_id: int | None = None
    attempt_id: int | None = None
    test: bool = False  # a test call from the campaign wizard: stored and shown, counted in no metric


def recording_link(call_id: str) -> str:
    """The API path a CRM fetches a call's recording from (with an API key of read scope)."""
    return f"/api/v1/calls/{call_id}/recording"


def attempt_verdict(call: Call | None) -> str:
    """The answering-machine verdict shown for a campaign attempt: its call's, `not_run` when none ran or the
    attempt was never dialled (no call)."""
    return (call.amd if call else "") or Verdict.NOT_RUN


def _payload(call: Call, contact_id: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "call_id": call.call_id,
        "direction": call.direction,
        "caller": call.caller,
        "called": call.called,
        "script": call.script,
        "language": call.language,
        "campaign_id": call.campaign_id,
        "attempt_id": call.attempt_id,
        "started_at": call.started_at.isoformat(),
        "test": call.test,
    }
    if contact_id is not None:
        payload["contact_id"] = contact_id
    return payload


class CallStore:
    """Writes the `calls` rows of this node (`node` names the worker process). `default_region` reads the
    numbers of callers who ask not to be called (`contacts.default_region`)."""

    def __init__(self, db: Database, node: str = "", default_region: str = "RU") -> None:
        self.db, self.node = db, node
        self.normalizer = PhoneNormalizer(default_region)

    async def started(self, start: CallStart, at: datetime | None = None) -> None:
        """The call's row, from its first ring (`at`: when it happened; now by default)."""
        await asyncio.to_thread(self._started, start, at or datetime.now(UTC))

    async def answered(self, call_id: str, at: datetime | None = None) -> None:
        await asyncio.to_thread(self._answered, call_id, at or datetime.now(UTC))

    async def ended(self, call_id: str, result: CallResult, at: datetime | None = None) -> None:
        """The call's end: its row completed from `result`, with the CRM events and callback its script asked for."""
        await asyncio.to_thread(self._ended, call_id, result, at or datetime.now(UTC))

    def _started(self, start: CallStart, now: datetime) -> None:
        with self.db.session() as session:
            call = Call(
                call_id=start.call_id,
                direction=start.direction,
                state=CallState.RINGING,
                attempt_id=start.attempt_id,
                campaign_id=start.campaign_id,
                script=start.script,
                language=start.language,
                caller=start.caller,
                called=start.called,
                node=self.node,
                started_at=now,
                test=start.test,
            )
            session.add(call)
            session.flush()
            emit(session, EventType.CALL_STARTED, _payload(call, start.contact_id), now)
        if not start.test:
            prometheus.call_started(start.direction)

    def _answered(self, call_id: str, now: datetime) -> None:
        with self.db.session() as session:
            call = _get(session, call_id)
            if call.state == CallState.ENDED:  # as in `_ended`
                logger.warning(
                    "call {}: ended already ({}); its answer is not recorded", call_id, call.ended_by
                )
                return
            call.state, call.answered_at = CallState.ACTIVE, now
            call.ring_seconds = round((now - call.started_at).total_seconds(), 3)
            emit(session, EventType.CALL_ANSWERED, {**_payload(call), "answered_at": now.isoformat()}, now)
            direction, test = call.direction, call.test
        if not test:
            prometheus.call_answered(direction)

    def _ended(self, call_id: str, end: CallResult, now: datetime) -> None:
        with self.db.session() as session:
            call = _get(session, call_id)
            if (
                call.state == CallState.ENDED
            ):  # ended `worker_lost` by another worker while this one was cut off
                logger.warning(
                    "call {}: ended already ({}); its end here is not recorded", call_id, call.ended_by
                )
                return
            # identifiers masked again here, whoever built the end (the pipeline masks its script's sensitive slots)
            lang = call.language if call.language in LANGS else None
            call.outcome, call.outcome_data = end.outcome or "", redact_values(end.outcome_data, lang)
            call.slots = redact_values(end.slots, lang)
            call.transcript = redact_lines(end.stored_transcript(), lang)
            call.turns = redact_turns(end.turns, lang)
            call.ended_by, call.barge_ins = end.ended_by or "", end.barge_ins
            if end.amd is not None:
                call.amd, call.amd_reason = end.amd.verdict, end.amd.reason[:200]
            call.recording_path, call.error = end.recording or "", redact(end.error, lang).text
            _complete(session, call, now)
            for event in end.events:
                emit_script_event(session, event.name, {**_payload(call), "data": event.data}, now)
            # a campaign contact's callback is its next attempt (the dialer's report); anyone else's is a task
            if end.callback_at is not None and call.attempt_id is None:
                session.add(_callback_task(call, end.callback_at, now))
            # likewise a campaign contact's opt-out is listed by the dialer; anyone else's here
            if end.outcome == Outcome.DO_NOT_CALL and call.attempt_id is None and not call.test:
                self._list_opt_out(session, call, now)
            direction, answered, test = call.direction, call.answered_at is not None, call.test
        if not test:
            prometheus.call_ended(direction, answered, end.outcome or "", end.error, end.turns)

    def _list_opt_out(self, session: Session, call: Call, now: datetime) -> None:
        """Put the number of a caller who is no campaign contact (inbound, or a one-off call) and asked not to be
        called on the global do-not-call list, with the call and the moment they asked."""
        number = call.caller if call.direction == CallDirection.INBOUND else call.called
        try:
            phone = self.normalizer.normalize(number).e164
        except PhoneError:
            logger.warning(
                "call {}: the person asked not to be called, but the number is no phone number", call.call_id
            )
            return
        said_at = dnc.opt_out_moment(call.transcript, call.answered_at or call.started_at) or now
        why = f"asked during call {call.call_id}"
        dnc.add(session, phone, now, None, why, dnc.Source.DIALOG, call_id=call.call_id, said_at=said_at)


def live_call_nodes(session: Session) -> list[str]:
    """The worker nodes with calls not ended (rows without a node are never anyone's to end)."""
    query = select(Call.node).where(Call.state != CallState.ENDED, Call.node != "").distinct()
    return list(session.scalars(query))


def end_lost_calls(session: Session, nodes: list[str], now: datetime) -> list[Call]:
    """End the calls that the dead worker `nodes` left up: `ended_by` `worker_lost`, durations up to `now` (when
    the loss was found), one `call.completed` each in `session`'s transaction. The caller holds the nodes' leases
    (`bot.campaigns.nodes`), so no live process writes these rows meanwhile and no other worker ends them too.
    Count them with `count_lost` once committed."""
    lost = list(
        session.scalars(
            select(Call).where(Call.node.in_(nodes), Call.state != CallState.ENDED).order_by(Call.id)
        )
    )
    for call in lost:
        call.ended_by, call.error = EndedBy.WORKER_LOST, LOST_CALL_ERROR
        _complete(session, call, now)
    return lost


def count_lost(calls: list[Call]) -> None:
    """Count calls ended by `end_lost_calls` in this process's Prometheus metrics."""
    for call in calls:
        if not call.test:
            prometheus.call_lost(call.direction, call.answered_at is not None)


def _complete(session: Session, call: Call, now: datetime) -> None:
    """End the row at `now` (ring or talk time up to it) and emit its `call.completed`."""
    if call.answered_at is None:
        call.ring_seconds = round((now - call.started_at).total_seconds(), 3)
    else:
        call.talk_seconds = round((now - call.answered_at).total_seconds(), 3)
    call.state, call.ended_at = CallState.ENDED, now
    emit(
        session,
        EventType.CALL_COMPLETED,
        {
            **_payload(call),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "ended_at": now.isoformat(),
            "ring_seconds": call.ring_seconds,
            "talk_seconds": call.talk_seconds,
            "outcome": call.outcome,
            "outcome_data": call.outcome_data,
            "slots": call.slots,
            "transcript": call.transcript,
            "ended_by": call.ended_by,
            "recording": recording_link(call.call_id) if call.recording_path else None,
        },
        now,
    )


def _callback_task(call: Call, due_at: datetime, now: datetime) -> CallbackTask:
    phone = call.caller if call.direction == CallDirection.INBOUND else call.called
    return CallbackTask(
        call_id=call.id,
        phone=phone,
        script=call.script,
        language=call.language,
        due_at=due_at,
        created_at=now,
    )


def _get(session: Session, call_id: str) -> Call:
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is None:
        raise LookupError(f"no call {call_id}")
    return call
