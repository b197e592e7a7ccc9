"""Real phone calls: the SIP phone, the voice pipeline and the dialog joined.

`PhoneCalls` places outbound calls (it is the campaign dialer's `CallPlacer`, and what `voicebot call` uses)
and answers inbound calls with the configured inbound script (`voicebot serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from loguru import logger
from pipecat.workers.runner import WorkerRunner

from bot.calls.pipeline import CallRecord, VoiceCall
from bot.campaigns.placer import AmdResult, CallReport, CallRequest, TelephonyResult
from bot.config import Settings
from bot.dialog.catalogue import Catalogue
from bot.dialog.conversation import Conversation
from bot.dialog.engine import DialogError, new_state
from bot.outcomes import Outcome
from bot.rasa.client import RasaClient
from telephony import DialStatus, Phone
from telephony.call import Call
from telephony.transport import CallTransport

DIAL_RESULTS = {
    DialStatus.BUSY: TelephonyResult.BUSY,
    DialStatus.NO_ANSWER: TelephonyResult.NO_ANSWER,
    DialStatus.REJECTED: TelephonyResult.REJECTED,
    DialStatus.FAILED: TelephonyResult.FAILED,
    DialStatus.CANCELLED: TelephonyResult.FAILED,
}


class PhoneCalls:
    """One SIP phone and one pipecat runner for every call of this process."""

    def __init__(self, settings: Settings, catalogue: Catalogue, client: RasaClient):
        self.settings, self.catalogue, self.client = settings, catalogue, client
        self.phone = Phone(settings.telephony, on_incoming=self._answer)
        self.runner = WorkerRunner(handle_sigint=False)
        self._runner_task: asyncio.Task | None = None
        self._inbound: set[asyncio.Task] = set()

    async def __aenter__(self) -> PhoneCalls:
        self._runner_task = asyncio.create_task(self.runner.run(auto_end=False), name="call-runner")
        await self.phone.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.phone.stop()
        for task in self._inbound:
            task.cancel()
        await self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner_task

    async def place(self, request: CallRequest) -> CallReport:
        """Dial, and when answered run the script with answering-machine detection; the dialer's CallPlacer."""
        script = self.catalogue.get(request.script)
        state = new_state(script, request.language, request.variables)  # DialogError before any phone rings
        started = time.monotonic()
        dialed = await self.phone.dial(request.phone, caller_id=request.caller_id or None)
        ring_seconds = time.monotonic() - started
        if not dialed.answered:
            reason = f"{dialed.code or ''} {dialed.reason}".strip()
            return CallReport(result=DIAL_RESULTS[dialed.status], ring_seconds=ring_seconds, error=reason)
        record = await self._talk(dialed.call, Conversation(self.client, state), detect_machine=True)
        return _report(record, ring_seconds)

    async def _answer(self, call: Call) -> None:
        inbound = self.settings.calls
        if not inbound.inbound_script:
            await call.reject(480)
            return
        script = self.catalogue.get(inbound.inbound_script)
        state = new_state(script, inbound.inbound_language, inbound.inbound_variables)
        if not await call.answer():
            return
        logger.info(f"inbound call {call.info.call_id} from {call.info.caller} to {call.info.called}")
        task = asyncio.create_task(self._talk(call, Conversation(self.client, state), detect_machine=False))
        self._inbound.add(task)
        task.add_done_callback(self._inbound.discard)

    async def _talk(self, call: Call, conversation: Conversation, detect_machine: bool) -> CallRecord:
        script = self.catalogue.get(conversation.state.script)
        voice_call = VoiceCall(
            CallTransport(call), conversation, script, self.settings.voice, detect_machine=detect_machine
        )
        return await voice_call.run(self.runner)


def check_inbound(settings: Settings, catalogue: Catalogue) -> None:
    """Fail at start-up, not at the first ring, when the inbound script or its variables are wrong."""
    inbound = settings.calls
    if inbound.inbound_script:
        try:
            new_state(
                catalogue.get(inbound.inbound_script), inbound.inbound_language, inbound.inbound_variables
            )
        except (KeyError, DialogError) as exc:
            raise DialogError(f"calls.inbound_script: {exc}") from exc


def _report(record: CallRecord, ring_seconds: float) -> CallReport:
    machine = record.outcome == Outcome.MACHINE
    transcript: list[dict[str, Any]] = [
        {"role": "bot" if line.speaker == "robot" else "caller", "text": line.text, "at": line.at}
        for line in record.transcript
    ]
    return CallReport(
        result=TelephonyResult.ANSWERED,
        outcome=Outcome(record.outcome) if record.outcome else None,
        outcome_data=record.outcome_data,
        slots=record.slots,
        transcript=transcript,
        ring_seconds=ring_seconds,
        talk_seconds=record.seconds,
        recording_path=record.recording or "",
        amd=AmdResult.MACHINE if machine else AmdResult.HUMAN if record.amd else AmdResult.NOT_RUN,
    )
