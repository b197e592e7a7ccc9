"""Real phone calls: the SIP phone, the voice pipeline and the dialog joined.

`PhoneCalls` places outbound calls (it is the campaign dialer's `CallPlacer`, and what `voicebot call` uses)
and answers inbound calls (`voicebot serve`): routed by the called number (`bot/inbound_routing.py`), within the
concurrent-call cap (beyond it the caller hears the busy message), with the caller's variables from the CRM
lookup. Every call is a row of the `calls` table from its first ring (`CallStore`), ended even when it fails.
A stopping worker drains (`drain`): no new calls, the calls up go on for a bounded time, then are hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from enum import StrEnum

from loguru import logger
from pipecat.workers.runner import WorkerRunner

from bot.call_results.result import CallResult, TimedLine
from bot.call_results.store import CallStart, CallStore, EndedBy
from bot.calls.announcement import announce
from bot.calls.live_call import LiveCall
from bot.calls.lookup import CallerLookup
from bot.calls.pending_writes import PendingWrites, Write
from bot.calls.pipeline import VoiceCall
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.config import Settings
from bot.core.clock import Clock, SystemClock
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogError, DialogState, new_state
from bot.dialog.loader import ScriptErrors
from bot.handoff.desk import Handoffs
from bot.handoff.probe import AgentProbe
from bot.handoff.warm import speaker
from bot.inbound_routing import InboundPlan, select_route
from bot.outcomes import Outcome
from bot.privacy.records import SensitiveSlots
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation
from telephony import CallDirection, DialStatus, EndReason, Phone
from telephony.call import Call
from telephony.transport import CallTransport
from voice.amd import Verdict
from voice.models import synthesizer_for

DIAL_RESULTS = {
    DialStatus.BUSY: TelephonyResult.BUSY,
    DialStatus.NO_ANSWER: TelephonyResult.NO_ANSWER,
    DialStatus.REJECTED: TelephonyResult.REJECTED,
    DialStatus.FAILED: TelephonyResult.FAILED,
    DialStatus.CANCELLED: TelephonyResult.FAILED,
}
NUMBER_COLUMN = 64  # calls.caller / calls.called
SHUTDOWN_GRACE = 10.0  # seconds for calls hung up at shutdown to finish their records
ROWS_GRACE = 30.0  # seconds a stopping process waits for call rows kept while the database is down


class LineOutcome(StrEnum):
    """Outcomes of inbound calls that never reached a script."""

    BUSY = "busy"  # over the concurrent-call cap: the busy message or 486
    OUT_OF_HOURS = "out_of_hours"  # the route's out-of-hours message


class PhoneCalls:
    """One SIP phone and one pipecat runner for every call of this process; `store` records each call."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        client: RasaClient,
        *,
        store: CallStore | None = None,
        clock: Clock | None = None,
    ):
        self.settings, self.catalogue, self.client = settings, catalogue, client
        self.store, self.clock = store, clock or SystemClock()
        self.writes = PendingWrites(store) if store else None  # call rows, kept while the database is down
        self.handoffs = Handoffs(settings.handoff, store.db if store else None)
        self.routes = settings.calls.inbound_routes
        self.lookup = CallerLookup(settings.calls) if settings.calls.lookup_url else None
        self.phone = Phone(settings.telephony, on_incoming=self._answer)
        self.handoffs.phone = self.phone  # dials the agents of warm queues
        self.probe = AgentProbe(self.handoffs.board, self.phone.options, settings.handoff.probe_seconds)
        self.handoffs.speaker = lambda lang: speaker(
            synthesizer_for(settings.voice, lang), settings.voice.volume
        )
        self.runner = WorkerRunner(handle_sigint=False)
        self.robot_calls = 0  # calls talking to a script now (counted against calls.max_concurrent)
        self.taking_calls = True  # False once draining: inbound refused, late dialer requests not dialled
        self._runner_task: asyncio.Task | None = None
        self._recording: set[asyncio.Task] = set()  # tasks of calls whose row is not ended yet

    async def __aenter__(self) -> PhoneCalls:
        self._runner_task = asyncio.create_task(self.runner.run(auto_end=False), name="call-runner")
        await self.phone.start(wait_for_registrar=True)  # a PBX away at start: the dialer waits (line_down)
        self.probe.start()  # the agents' reachability, by SIP OPTIONS through the registrar
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Hang up the calls in progress and let them finish (their records and rows), then stop the phone."""
        await self._hang_up_all()
        await self.probe.stop()
        await self.phone.stop()
        await self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner_task
        if self.writes:
            await self.writes.flush(ROWS_GRACE)
        if self.lookup:
            await self.lookup.close()

    async def drain(self, seconds: float) -> int:
        """Stop taking calls (inbound ones are refused with 503, so a SIP proxy tries another worker; requests the
        dialer still hands over are not dialled), let the calls up go on for at most `seconds`, then hang up on
        the rest (`ended_by` shutdown) and wait for their rows. Returns how many were hung up."""
        self.taking_calls = False
        deadline = time.monotonic() + seconds
        while self._recording and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._recording), timeout=left)
        return await self._hang_up_all()

    async def _hang_up_all(self) -> int:
        calls = [c for c in self.phone.calls.values() if c is not None]
        for call in calls:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.hangup(EndReason.SHUTDOWN), 2)
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=SHUTDOWN_GRACE)
        return len(calls)

    # outbound

    def line_up(self) -> bool:
        """Is the phone registered (or has no registration to keep)? The dialer pauses while it is not."""
        return self.phone.line_up

    async def place(self, request: CallRequest, live: LiveCall | None = None) -> CallReport:
        """Dial, and when answered run the script with answering-machine detection; the dialer's CallPlacer.
        With `live` it is a test call (the wizard's "call me"): its turns reach `live` as they happen and its
        row is marked `test`, counted in no metric."""
        if not self.taking_calls:
            return CallReport(result=TelephonyResult.FAILED, error="not dialled: the worker is stopping")
        try:  # the version the campaign started with (parsed once, in a thread: CPU work)
            script = await asyncio.to_thread(self.catalogue.version, request.script, request.script_version)
        except (KeyError, ScriptErrors) as exc:  # unknown, or no longer valid with today's _common.yml
            return CallReport(result=TelephonyResult.FAILED, error=f"not dialled: {exc}")
        state = new_state(script, request.language, request.variables)  # DialogError before any phone rings
        state.version = request.script_version
        conversation = live.conversation(self.client, state) if live else Conversation(self.client, state)
        telephony = self.settings.telephony
        start = CallStart(
            call_id=conversation.id,
            direction=CallDirection.OUTBOUND,
            caller=(request.caller_id or telephony.caller_id or telephony.user)[:NUMBER_COLUMN],
            called=request.phone[:NUMBER_COLUMN],
            script=request.script,
            language=request.language,
            campaign_id=request.campaign_id or None,
            contact_id=request.contact_id or None,
            attempt_id=request.attempt_id or None,
            test=live is not None,
        )
        async with self._recorded(start) as ending:
            started = time.monotonic()
            with self._robot_call():
                dialed = await self.phone.dial(request.phone, caller_id=request.caller_id or None)
                ring_seconds = time.monotonic() - started
                if not dialed.answered:
                    reason = f"{dialed.code or ''} {dialed.reason}".strip()
                    ending.end = CallResult(error=f"{DIAL_RESULTS[dialed.status]}: {reason}")
                    return CallReport(
                        result=DIAL_RESULTS[dialed.status], ring_seconds=ring_seconds, error=reason
                    )
                await self._answered(start.call_id)
                record = await self._talk(dialed.call, conversation, detect_machine=True)
            ending.end = record
            return _report(record, ring_seconds)

    # inbound

    async def _answer(self, call: Call) -> None:
        """The phone's handler of a ringing inbound call: the route decides, the call is recorded throughout."""
        info = call.info
        if not self.taking_calls:
            logger.info(f"inbound call (SIP {info.call_id}) refused with 503: this worker is stopping")
            await call.reject(503, "Service Unavailable")
            return
        route = select_route(self.routes, info.called)
        plan = route.plan(self.clock.now()) if route else None
        start = CallStart(
            call_id=uuid.uuid4().hex,
            direction=CallDirection.INBOUND,
            caller=info.caller[:NUMBER_COLUMN],
            called=info.called[:NUMBER_COLUMN],
            script=plan.script if plan else "",
            language=plan.language if plan else "",
        )
        logger.info(
            f"inbound call {start.call_id} (SIP {info.call_id}) from {info.caller} to {info.called}: "
            + (f"script {plan.script}" if plan and plan.script else "closed" if plan else "no route")
        )
        async with self._recorded(start) as ending:
            if plan is None:
                await call.reject(480, "Temporarily Unavailable")
                ending.end = CallResult(error=f"no inbound route for the number {info.called!r}")
            elif not plan.script:
                ending.end = await self._closed(call, start.call_id, plan)
            elif self._at_capacity():
                ending.end = await self._busy(call, start.call_id, plan.language)
            else:
                with self._robot_call():
                    ending.end = await self._talk_inbound(call, start.call_id, plan)

    async def _busy(self, call: Call, call_id: str, language: str) -> CallResult:
        if self.settings.calls.over_capacity == "refuse":
            await call.reject(486)
            return CallResult(outcome=LineOutcome.BUSY, error="refused: over calls.max_concurrent")
        busy = self.settings.calls.busy_message[language]
        return await self._say_and_hang_up(call, call_id, busy, language, LineOutcome.BUSY)

    async def _closed(self, call: Call, call_id: str, plan: InboundPlan) -> CallResult:
        if plan.message:
            return await self._say_and_hang_up(
                call, call_id, plan.message, plan.language, LineOutcome.OUT_OF_HOURS
            )
        await call.reject(480, "Temporarily Unavailable")
        return CallResult(outcome=LineOutcome.OUT_OF_HOURS)

    async def _talk_inbound(self, call: Call, call_id: str, plan: InboundPlan) -> CallResult:
        state = await self.inbound_state(plan, call.info.caller, call.info.called)
        if not await call.answer():
            return CallResult(outcome=Outcome.ABANDONED, ended_by="caller")
        await self._answered(call_id)
        record = await self._talk(call, Conversation(self.client, state, call_id), detect_machine=False)
        return record

    async def inbound_state(self, plan: InboundPlan, caller: str, called: str) -> DialogState:
        """The script's state: the route's variables over what the CRM knows of the caller (if it is asked)."""
        script = self.catalogue.get(plan.script)
        if self.lookup:
            found = await self.lookup.variables(caller, called)
            if found:
                try:
                    return new_state(script, plan.language, {**found, **plan.variables})
                except DialogError as exc:
                    logger.warning(f"caller lookup variables not usable, ignored: {exc}")
        return new_state(script, plan.language, plan.variables)

    async def _say_and_hang_up(
        self, call: Call, call_id: str, text: str, lang: str, outcome: LineOutcome
    ) -> CallResult:
        """Answer, say one sentence, hang up; refuse with 486 when the language has no voice to say it."""
        voice = self.settings.voice
        try:
            synthesizer = await asyncio.to_thread(synthesizer_for, voice, lang)
        except Exception as exc:
            await call.reject(486)
            return CallResult(outcome=outcome, error=f"no voice to say the {outcome} message: {exc}")
        if not await call.answer():
            return CallResult(outcome=outcome, ended_by=EndedBy.CALLER)
        await self._answered(call_id)
        await announce(call, text, lang, synthesizer, voice.volume, self.runner)
        line = TimedLine(at=0.0, speaker="robot", text=text).model_dump()
        ended_by = EndedBy.CALLER if call.end_reason is EndReason.REMOTE_BYE else EndedBy.ROBOT
        return CallResult(outcome=outcome, transcript=[line], ended_by=ended_by)

    # both directions

    async def _talk(self, call: Call, conversation: Conversation, detect_machine: bool) -> CallResult:
        script = self.catalogue.version(conversation.state.script, conversation.state.version)
        voice_call = await VoiceCall.build(
            CallTransport(call), conversation, script, self.settings.voice, detect_machine=detect_machine
        )
        voice_call.bridge.handoff = self.handoffs.for_call(
            conversation.id, conversation.state.lang, SensitiveSlots.of(script), script
        )
        try:
            record = await voice_call.run(self.runner)
        finally:
            await voice_call.bridge.handoff.settle()
        if call.end_reason is EndReason.SHUTDOWN:  # hung up by a stopping worker (`drain`)
            record.ended_by = EndedBy.SHUTDOWN
        return record

    def _at_capacity(self) -> bool:
        cap = self.settings.calls.max_concurrent
        return cap is not None and self.robot_calls >= cap

    @contextlib.contextmanager
    def _robot_call(self) -> Iterator[None]:
        self.robot_calls += 1
        try:
            yield
        finally:
            self.robot_calls -= 1

    @contextlib.asynccontextmanager
    async def _recorded(self, start: CallStart) -> AsyncIterator[_Ending]:
        """The call's row from `started` to `ended`: `ending.end` set by the body, or the error that ended it."""
        ending = _Ending()
        task = asyncio.current_task()
        self._recording.add(task)
        await self._write("started", start.call_id, lambda store, at: store.started(start, at))
        try:
            yield ending
        except asyncio.CancelledError:
            ending.end = CallResult(error="cancelled: the platform stopped during the call")
            raise
        except Exception as exc:
            ending.end = CallResult(error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            end = ending.end
            try:
                await asyncio.shield(
                    self._write("ended", start.call_id, lambda store, at: store.ended(start.call_id, end, at))
                )
            finally:
                self._recording.discard(task)

    async def _answered(self, call_id: str) -> None:
        await self._write("answered", call_id, lambda store, at: store.answered(call_id, at))

    async def _write(self, what: str, call_id: str, write: Write) -> None:
        """A store write; the call never waits for a database that is down (bot/calls/pending_writes.py)."""
        if self.writes is not None:
            await self.writes.write(what, call_id, write)


class _Ending:
    """What the body of `PhoneCalls._recorded` reports; every way out of it sets `end`."""

    end: CallResult


def check_inbound(settings: Settings, catalogue: Catalogue) -> None:
    """Fail at start-up, not at the first ring, when an inbound route's script or its variables are wrong."""
    calls = settings.calls
    named = [(f"calls.routes[{i}] (did {route.did})", route) for i, route in enumerate(calls.routes)]
    if calls.inbound_script:
        named.append(("calls.inbound_script", calls.inbound_routes[-1]))
    for where, route in named:
        for key, script_id, variables in route.scripts():
            try:
                new_state(catalogue.get(script_id), route.language, variables)
            except KeyError as exc:
                raise DialogError(f"{where}: {key}: no script {script_id!r}") from exc
            except DialogError as exc:
                raise DialogError(f"{where}: {key}: {exc}") from exc


def _report(record: CallResult, ring_seconds: float) -> CallReport:
    """The dialer's view of an answered call, derived from its result."""
    return CallReport(
        result=TelephonyResult.ANSWERED,
        outcome=Outcome(record.outcome) if record.outcome else None,
        outcome_data=record.outcome_data,
        callback_at=record.callback_at,
        slots=record.slots,
        transcript=record.transcript,
        ring_seconds=ring_seconds,
        talk_seconds=record.seconds,
        # the dialer's verdict: machine, or human when the detector let the script start (unknown included)
        amd=Verdict.MACHINE
        if record.outcome == Outcome.MACHINE
        else Verdict.HUMAN
        if record.amd
        else Verdict.NOT_RUN,
    )
