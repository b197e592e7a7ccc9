"""The turn runner: the caller's inputs, one at a time, through the dialog (`Conversation`, real Rasa over HTTP).

Inputs (the script's start, a transcript, a digit string, no input, the call's end) queue up with their
`TurnTiming`; `run()` takes them in order, asks the dialog, marks the dialog's decision, keeps the turn and its
exchange for the transcript, and hands the exchange to the `TurnOutlet` (which makes the prompt and the actions).
A dialog service that is down holds the caller while it restarts (bot/calls/dialog_outage.py); any other failure
ends the call. Frame-free, so it is tested with a fake dialog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from loguru import logger

from bot.call_results.store import EndedBy
from bot.calls.dialog_outage import apology, wait_for_dialog
from bot.calls.latency import TurnKind, TurnStage, TurnTiming
from bot.dialog.transcript import Exchange
from bot.rasa.client import RasaUnavailable
from bot.rasa.conversation import Conversation


@dataclass
class TurnInput:
    kind: TurnKind
    value: str = ""
    timing: TurnTiming | None = None


class TurnOutlet(Protocol):
    """Where the runner's results go (the dialog bridge: frames to the TTS and the transport)."""

    async def act(self, exchange: Exchange) -> None:
        """Say the exchange's replies and carry out its actions."""

    async def announce(self, event: str, text: str) -> None:
        """Say words that are no answer of the script (holding phrases, the apology)."""

    async def hang_up(self, ended_by: EndedBy) -> None:
        """End the call, for `ended_by`."""

    def dialog_unavailable(self) -> None:
        """The dialog service is down: the caller's silence does not count while the runner waits for it."""


class TurnRunner:
    def __init__(self, conversation: Conversation, outlet: TurnOutlet, outage_seconds: float) -> None:
        self.conversation = conversation
        self.outage_seconds = outage_seconds  # a turn waits this long (holding phrases) for Rasa to come back
        self.turns: list[TurnTiming] = []
        self.exchanges: list[tuple[str | None, Exchange]] = []  # (step before, exchange) for the transcript
        self.current: TurnTiming | None = None  # the turn whose prompt is playing
        self.started_at: float | None = None  # when the script's start was queued (None: not started)
        self.in_outage = False
        self._outlet = outlet
        self._inputs: asyncio.Queue[TurnInput] = asyncio.Queue()
        self._t0 = time.monotonic()

    # inputs

    def begin_call(self) -> None:
        """The call starts now: turn and announcement times count from here."""
        self._t0 = time.monotonic()

    def elapsed(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    @property
    def pending(self) -> bool:
        """An input waits for its turn."""
        return not self._inputs.empty()

    def start_script(self) -> None:
        self.started_at = time.monotonic()
        self._inputs.put_nowait(TurnInput(TurnKind.START))

    def heard(
        self, text: str, speech_ended_at: float, vad_stop: float | None = None, early_end: bool = False
    ) -> None:
        """The caller's final transcript; `speech_ended_at`: the last voiced audio (or the VAD's stop)."""
        now = time.monotonic()
        timing = self._timing(TurnKind.TEXT, text)
        timing.mark(TurnStage.END_OF_SPEECH, speech_ended_at)
        if vad_stop is not None:
            timing.mark(TurnStage.VAD_STOP, vad_stop)
        timing.early_end = early_end
        timing.mark(TurnStage.ASR_FINAL, now)
        self._inputs.put_nowait(TurnInput(TurnKind.TEXT, text, timing))

    def keyed(self, digits: str, last_key_at: float) -> None:
        timing = self._timing(TurnKind.DTMF, digits)
        timing.mark(TurnStage.END_OF_SPEECH, last_key_at)  # the last key is the end of the caller's input
        timing.mark(TurnStage.ASR_FINAL, time.monotonic())
        self._inputs.put_nowait(TurnInput(TurnKind.DTMF, digits, timing))

    def no_input(self) -> None:
        timing = self._timing(TurnKind.SILENCE, "")
        timing.mark(TurnStage.ASR_FINAL, time.monotonic())
        self._inputs.put_nowait(TurnInput(TurnKind.SILENCE, timing=timing))

    def end_dialog(self) -> None:
        """The robot ends the call (its maximum duration): the dialog hears a hang-up as its next turn."""
        self._inputs.put_nowait(TurnInput(TurnKind.HANGUP))

    def mark(self, stage: TurnStage, when: float) -> None:
        """A later stage of the current turn (its reply's first audio)."""
        if self.current:
            self.current.mark(stage, when)

    # turns

    async def run(self) -> None:
        """Take the inputs in order until the call ends or the dialog fails for good."""
        while True:
            item = await self._inputs.get()
            if self.conversation.ended or (self.started_at is None and item.kind is not TurnKind.START):
                continue  # over, or never started (a machine): a dialog takes input only while it runs
            step = self.conversation.state.step
            try:
                exchange = await self._exchange(item)
            except RasaUnavailable as exc:
                exchange = await self._after_outage(item, exc)
                if exchange is None:
                    return
            except Exception:
                logger.exception(f"call {self.conversation.id}: the dialog failed; ending the call")
                await self._outlet.hang_up(EndedBy.ERROR)
                return
            timing = item.timing or self._timing(item.kind, item.value)
            timing.mark(TurnStage.DIALOG_DECISION, time.monotonic())
            self.turns.append(timing)
            self.current = timing
            self.exchanges.append((step if item.kind is not TurnKind.START else None, exchange))
            await self._outlet.act(exchange)
            logger.info(f"call {self.conversation.id} turn {timing.index} {timing.kind} {timing.heard!r}")

    @property
    def dialog_running(self) -> bool:
        """The script has taken a turn and the dialog has not ended."""
        return bool(self.turns) and not self.conversation.ended

    async def caller_hung_up(self) -> None:
        """The caller hung up: a running dialog hears it (its failure no longer matters)."""
        if not self.dialog_running:
            return
        with contextlib.suppress(Exception):
            step = self.conversation.state.step
            timing = self._timing(TurnKind.HANGUP, "")
            exchange = await self.conversation.hangup()
            timing.mark(TurnStage.DIALOG_DECISION, time.monotonic())
            self.turns.append(timing)
            self.exchanges.append((step, exchange))

    async def _after_outage(self, item: TurnInput, error: RasaUnavailable) -> Exchange | None:
        """The dialog service is down: hold the caller until it is back and run the turn again, else apologise
        and hang up."""
        logger.warning(f"call {self.conversation.id}: {error}; holding the caller while Rasa restarts")
        self.in_outage = True
        self._outlet.dialog_unavailable()
        lang, limit = self.conversation.state.lang, self.outage_seconds
        try:
            hold = partial(self._outlet.announce, "hold")
            if await wait_for_dialog(self.conversation.client, limit, hold, lang):
                if item.kind is not TurnKind.START:
                    await self.conversation.resume()
                exchange = await self._exchange(item)
                logger.info(f"call {self.conversation.id}: the dialog is back; the conversation goes on")
                return exchange
            logger.error(f"call {self.conversation.id}: Rasa not back within {limit:.0f} s; ending the call")
        except Exception:
            logger.exception(f"call {self.conversation.id}: the dialog failed again after the outage")
        finally:
            self.in_outage = False
        await self._outlet.announce("apology", apology(lang))
        await self._outlet.hang_up(EndedBy.ERROR)
        return None

    async def _exchange(self, item: TurnInput) -> Exchange:
        match item.kind:
            case TurnKind.START:
                return await self.conversation.start()
            case TurnKind.TEXT:
                return await self.conversation.say(item.value)
            case TurnKind.DTMF:
                return await self.conversation.dtmf(item.value)
            case TurnKind.SILENCE:
                return await self.conversation.silence()
        return await self.conversation.hangup()

    def _timing(self, kind: TurnKind, heard: str) -> TurnTiming:
        return TurnTiming(index=len(self.turns), kind=kind, heard=heard, started=self.elapsed())
