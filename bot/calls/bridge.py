"""The dialog bridge: the processor between recognition and synthesis that runs a call's conversation.

It takes the caller's final transcripts, DTMF keys, no-input timeouts and the call's end to `Conversation` (the
real Rasa dialog, over HTTP), one turn at a time in its own task; pushes the replies to the TTS as one
`TTSSpeakFrame`, the step's expected phrases to the recogniser, and the dialog's actions to the transport (hang-up
and transfer frames that wait for the queued audio). Turn-taking rules, per step (`Listening`):
- barge-in allowed: caller speech (or a key) during a prompt interrupts it (`InterruptionFrame`);
- barge-in off: speech that starts during the prompt is ignored;
- no input for `silence_timeout` seconds after the prompt ends: `conversation.silence()`;
- the caller's turn ends after `end_of_turn` seconds of silence: the VAD is re-tuned when the step changes;
- or after `early_end_of_turn` seconds when the words heard so far are a complete expected answer
  (`bot.dialog.complete_answer`, asked by the recogniser at the caller's pauses: voice/turn_end.py).
Each turn's stage times (`TurnTiming`) are kept and logged; a caller turn's end of speech is the audio time the
VAD heard the last voiced window (carried by the transcript), so recogniser backlog and VAD lag show in its stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from functools import partial

from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InputDTMFFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    SpeechControlParamsFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    VADParamsUpdateFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.calls.dialog_outage import apology, wait_for_dialog
from bot.calls.latency import TurnStage, TurnTiming
from bot.calls.store import EndedBy
from bot.dialog.complete_answer import CompleteAnswer
from bot.dialog.conversation import Conversation, Exchange
from bot.dialog.engine import Listening
from bot.dialog.model import Script
from bot.handoff.desk import CallHandoff
from bot.outcomes import Outcome
from bot.rasa.client import RasaUnavailable
from telephony.transport import HangupCallFrame, TransferCallFrame, TransferResultFrame
from voice.amd import AmdResult, AmdResultFrame, RecordingReady, Verdict, VoicemailReadyFrame
from voice.stt_vosk import SpeechHintsFrame, UtteranceTranscriptionFrame
from voice.tts_piper import SpeechAudioStartedFrame
from voice.turn_end import EarlyEndOfTurnFrame


@dataclass(frozen=True)
class TurnRules:
    """Call-wide defaults; a step's `Listening` overrides barge-in, the no-input timeout and the end of turn."""

    end_of_turn_silence: float = 1.0  # the VAD's stop delay: speech ended this long before it is reported
    silence_timeout: float = 5.0
    dtmf_digit_gap: float = 1.0
    max_call_seconds: float = 600.0
    dialog_outage_seconds: float = 30.0  # a turn waits this long (holding phrases) for Rasa to come back


@dataclass
class _Input:
    kind: str  # start, text, silence, dtmf, hangup
    value: str = ""
    timing: TurnTiming | None = None


@dataclass(frozen=True)
class Announcement:
    """Words the robot said outside the script's exchanges: the voicemail message, the take-back, the holding
    phrases and apology of a dialog outage."""

    at: float  # seconds into the call
    event: str  # "voicemail", "takeback", "hold" or "apology"
    text: str


class DialogBridge(FrameProcessor):
    def __init__(
        self,
        conversation: Conversation,
        script: Script,
        rules: TurnRules,
        *,
        wait_for_amd: bool = False,
        voicemail: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation
        self.script = script
        self.rules = rules
        self.wait_for_amd = wait_for_amd  # outbound: start the script only once a human is detected
        self.voicemail = voicemail  # the message for an answering machine (needs VoicemailReadyFrame)
        self.amd: AmdResult | None = None
        self.announcements: list[Announcement] = []  # the robot's words outside the script's exchanges
        self.exchanges: list[tuple[str | None, Exchange]] = []  # (step before, exchange) for the transcript
        self.turns: list[TurnTiming] = []
        self.barge_ins = 0
        self.ended_by: EndedBy | None = None
        self.handoff: CallHandoff | None = None  # records transfers and maps queues to agents (phone calls)
        self._listening: Listening | None = None
        self._inputs: asyncio.Queue[_Input] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._no_input: asyncio.Task | None = None
        self._dtmf_flush: asyncio.Task | None = None
        self._deadline: asyncio.Task | None = None
        self._digits = ""
        self._last_key_at = 0.0
        self._t0 = time.monotonic()
        self._bot_speaking = False
        self._reply_pending = False
        self._caller_speaking = False
        self._ignore_utterance = False
        self._end_of_speech: float | None = None
        self._vad_params: VADParams | None = None  # the VAD's current parameters (it announces them)
        self._current: TurnTiming | None = None
        self._finished = False
        self._script_started: float | None = None  # when the first turn was queued
        self._speech_started: float | None = None  # when the caller's current utterance began
        self._outage = False  # a turn is waiting for the dialog service to come back

    # frames

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._t0 = time.monotonic()
            self._worker = self.create_task(self._run_turns())
            self._deadline = self.create_task(self._max_duration())
            if not self.wait_for_amd:
                self._start_script()
        elif isinstance(frame, TransferResultFrame):
            await self._transfer_finished(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, AmdResultFrame):
            await self._answered_by(frame.result)
        elif isinstance(frame, VoicemailReadyFrame):
            await self._leave_voicemail(frame.result)
        elif isinstance(frame, (EndFrame, CancelFrame)):
            await self._finish()
            await self.push_frame(frame, direction)
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            await self._caller_started()
            await self.push_frame(frame, direction)
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._caller_speaking = False
            self._end_of_speech = time.monotonic() - self._end_of_turn  # unless the transcript says when
            await self.push_frame(frame, direction)
        elif isinstance(frame, SpeechControlParamsFrame):
            self._vad_params = frame.vad_params or self._vad_params
            await self.push_frame(frame, direction)
        elif isinstance(frame, TranscriptionFrame):
            await self._transcribed(frame)
        elif isinstance(frame, InterimTranscriptionFrame):
            logger.debug(f"call {self.conversation.id}: hearing {frame.text!r}")
        elif isinstance(frame, InputDTMFFrame):
            await self._key(str(frame.button.value))
        elif isinstance(frame, SpeechAudioStartedFrame):
            if self._current:
                self._current.mark(TurnStage.FIRST_TTS_AUDIO, frame.at)
        elif isinstance(frame, BotStartedSpeakingFrame):
            if direction is FrameDirection.UPSTREAM:
                self._bot_speaking = True
                self._cancel(self._no_input)
                if self._current:
                    self._current.mark(TurnStage.FIRST_AUDIO_OUT, time.monotonic())
            await self.push_frame(frame, direction)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            if direction is FrameDirection.UPSTREAM:
                self._bot_speaking = self._reply_pending = False
                self._start_no_input_timer()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def _answered_by(self, result: AmdResult) -> None:
        """Outbound: a machine gets no script (the call ends with outcome `machine`, after the voicemail message
        if there is one); anyone else gets it now."""
        self.amd = result
        logger.info(
            f"call {self.conversation.id}: answering-machine detection: {result.verdict} ({result.reason})"
        )
        if result.verdict is Verdict.MACHINE:
            self.ended_by = EndedBy.MACHINE
            if not self.voicemail:
                await self.push_frame(HangupCallFrame())
        else:
            self._start_script()

    def _start_script(self) -> None:
        self._script_started = time.monotonic()
        self._inputs.put_nowait(_Input("start"))

    async def _leave_voicemail(self, ready: RecordingReady) -> None:
        """The machine records now: say the message, then hang up (or hang up at once if it never records)."""
        logger.info(f"call {self.conversation.id}: voicemail: {ready.reason}")
        if ready.ready and self.voicemail:
            await self._announce("voicemail", self.voicemail)
        await self.push_frame(HangupCallFrame())

    async def _caller_started(self) -> None:
        if self.ended_by == EndedBy.MACHINE:
            return  # a voicemail's greeting or noise: nothing to interrupt for
        self._caller_speaking = True
        self._speech_started = time.monotonic()
        self._cancel(self._no_input)
        if self._bot_speaking or self._reply_pending:
            if self._barge_in:
                self.barge_ins += 1
                self._reply_pending = False
                await self.push_frame(InterruptionFrame())
            else:
                self._ignore_utterance = True

    async def _transcribed(self, frame: TranscriptionFrame) -> None:
        text = frame.text
        if self._script_started is None or (self._speech_started or 0.0) < self._script_started:
            # begun before the script started: an outbound callee's "алло" during detection, whose final
            # result may arrive after the greeting has begun ("алло, да?" must not answer an unheard question)
            return
        if self._ignore_utterance:
            self._ignore_utterance = False
            logger.info(f"call {self.conversation.id}: ignored {text!r} said over a prompt without barge-in")
            self._start_no_input_timer()
            return
        if not text.strip():
            self._start_no_input_timer()  # noise, or words the recogniser does not know: keep waiting
            return
        now = time.monotonic()
        timing = self._timing("text", text)
        if isinstance(frame, UtteranceTranscriptionFrame) and frame.speech_ended_at is not None:
            # stamped from the audio: any VAD lag or recogniser backlog since then counts in the turn
            timing.mark(TurnStage.END_OF_SPEECH, frame.speech_ended_at)
            timing.mark(TurnStage.VAD_STOP, frame.stop_detected_at or now)
            timing.early_end = frame.early_end
        else:
            timing.mark(TurnStage.END_OF_SPEECH, self._end_of_speech or now)
        timing.mark(TurnStage.ASR_FINAL, now)
        self._inputs.put_nowait(_Input("text", text, timing))

    async def _key(self, key: str) -> None:
        self._cancel(self._no_input)
        if (self._bot_speaking or self._reply_pending) and self._barge_in:
            self.barge_ins += 1
            self._reply_pending = False
            await self.push_frame(InterruptionFrame())
        self._digits += key
        self._last_key_at = time.monotonic()
        self._cancel(self._dtmf_flush)
        if key == "#":
            self._flush_digits()
        else:
            self._dtmf_flush = self.create_task(self._flush_digits_later())

    async def _flush_digits_later(self) -> None:
        await asyncio.sleep(self.rules.dtmf_digit_gap)
        self._flush_digits()

    def _flush_digits(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            timing = self._timing("dtmf", digits)
            # the last key is the end of the caller's input
            timing.mark(TurnStage.END_OF_SPEECH, self._last_key_at)
            timing.mark(TurnStage.ASR_FINAL, time.monotonic())
            self._inputs.put_nowait(_Input("dtmf", digits, timing))

    # timers

    @property
    def _end_of_turn(self) -> float:
        return self._vad_params.stop_secs if self._vad_params else self.rules.end_of_turn_silence

    async def _listen_for_turn_end(self, listening: Listening) -> None:
        """Give the VAD the step's end-of-turn silence (or the call's default) if it has another one now, and the
        voice layer the step's early end of turn with its test for a complete answer."""
        wanted = listening.end_of_turn or self.rules.end_of_turn_silence
        if self._vad_params and self._vad_params.stop_secs != wanted:
            params = self._vad_params.model_copy(update={"stop_secs": wanted})
            await self.push_frame(VADParamsUpdateFrame(params=params), FrameDirection.UPSTREAM)
        state = self.conversation.state
        check = CompleteAnswer(
            self.script, self.script.steps[listening.step], state.lang, dict(state.values), state.timezone,
            self.conversation.client.parse,
        )  # fmt: skip
        early = EarlyEndOfTurnFrame(pause=listening.early_end_of_turn or None, is_complete=check)
        await self.push_frame(early, FrameDirection.UPSTREAM)

    @property
    def _barge_in(self) -> bool:
        return self._listening.barge_in if self._listening else True

    def _start_no_input_timer(self) -> None:
        self._cancel(self._no_input)
        waiting = self._bot_speaking or self._reply_pending or self._caller_speaking or self._digits
        if self._finished or self.conversation.ended or waiting or not self._inputs.empty():
            return
        if self._script_started is None or self._outage:
            return  # no script runs (a machine, or detection still deciding), or it waits for the dialog
        timeout = self._listening.silence_timeout if self._listening else self.rules.silence_timeout
        self._no_input = self.create_task(self._no_input_after(timeout))

    async def _no_input_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        timing = self._timing("silence", "")
        timing.mark(TurnStage.ASR_FINAL, time.monotonic())
        self._inputs.put_nowait(_Input("silence", timing=timing))

    async def _max_duration(self) -> None:
        await asyncio.sleep(self.rules.max_call_seconds)
        logger.info(
            f"call {self.conversation.id}: maximum duration {self.rules.max_call_seconds:.0f} s reached"
        )
        # not started: a machine's call (or one detection never decided)
        started = self._script_started is not None
        self.ended_by = EndedBy.MAX_DURATION if started else self.ended_by or EndedBy.MAX_DURATION
        await self.push_frame(InterruptionFrame())  # no waiting for the rest of a prompt
        if started:
            self._inputs.put_nowait(_Input("hangup"))
        else:
            await self.push_frame(HangupCallFrame())  # no dialog to end

    def _cancel(self, task: asyncio.Task | None) -> None:
        if task and not task.done():
            task.cancel()

    def _timing(self, kind: str, heard: str) -> TurnTiming:
        return TurnTiming(
            index=len(self.turns), kind=kind, heard=heard, started=round(time.monotonic() - self._t0, 3)
        )

    # dialog turns

    async def _run_turns(self) -> None:
        while True:
            item = await self._inputs.get()
            if self.conversation.ended or (self._script_started is None and item.kind != "start"):
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
                self.ended_by = EndedBy.ERROR
                await self.push_frame(HangupCallFrame())
                return
            timing = item.timing or self._timing(item.kind, item.value)
            timing.mark(TurnStage.DIALOG_DECISION, time.monotonic())
            self.turns.append(timing)
            self._current = timing
            self.exchanges.append((step if item.kind != "start" else None, exchange))
            await self._act(exchange)
            logger.info(f"call {self.conversation.id} turn {timing.index} {timing.kind} {timing.heard!r}")

    async def _after_outage(self, item: _Input, error: RasaUnavailable) -> Exchange | None:
        """The dialog service is down: hold the caller until it is back and run the turn again, else apologise
        and hang up (bot/calls/dialog_outage.py)."""
        logger.warning(f"call {self.conversation.id}: {error}; holding the caller while Rasa restarts")
        self._outage = True
        self._cancel(self._no_input)
        lang, limit = self.conversation.state.lang, self.rules.dialog_outage_seconds
        try:
            if await wait_for_dialog(self.conversation.client, limit, partial(self._announce, "hold"), lang):
                if item.kind != "start":
                    await self.conversation.resume()
                exchange = await self._exchange(item)
                logger.info(f"call {self.conversation.id}: the dialog is back; the conversation goes on")
                return exchange
            logger.error(f"call {self.conversation.id}: Rasa not back within {limit:.0f} s; ending the call")
        except Exception:
            logger.exception(f"call {self.conversation.id}: the dialog failed again after the outage")
        finally:
            self._outage = False
        self.ended_by = EndedBy.ERROR
        await self._announce("apology", apology(lang))
        await self.push_frame(HangupCallFrame())
        return None

    async def _exchange(self, item: _Input) -> Exchange:
        if item.kind == "start":
            return await self.conversation.start()
        if item.kind == "text":
            return await self.conversation.say(item.value)
        if item.kind == "dtmf":
            return await self.conversation.dtmf(item.value)
        if item.kind == "silence":
            return await self.conversation.silence()
        return await self.conversation.hangup()

    async def _act(self, exchange: Exchange) -> None:
        result = exchange.result
        self._listening = result.listening
        if result.listening is not None:
            await self.push_frame(
                SpeechHintsFrame(phrases=tuple(result.listening.hints)), FrameDirection.UPSTREAM
            )
            await self._listen_for_turn_end(result.listening)
        self._cancel(self._no_input)
        if result.say:
            self._reply_pending = True
            await self.push_frame(TTSSpeakFrame(text=" ".join(result.say)))
        transfer = next((a for a in result.actions if a.get("type") == "transfer"), None)
        if transfer is not None:
            self.ended_by = self.ended_by or EndedBy.ROBOT
            await self.push_frame(await self._transfer_frame(exchange, str(transfer.get("queue") or "")))
        elif result.state.ended or any(a.get("type") == "hangup" for a in result.actions):
            self.ended_by = self.ended_by or EndedBy.ROBOT
            await self.push_frame(HangupCallFrame())
        elif not result.say:
            self._start_no_input_timer()

    async def _transfer_frame(self, exchange: Exchange, queue: str) -> TransferCallFrame:
        """The REFER to the queue's agents with the hand-off's context (a bare queue name without a desk)."""
        if self.handoff is None:
            return TransferCallFrame(target=queue)
        transfer = await self.handoff.start(exchange, self.exchanges)
        return TransferCallFrame(
            target=transfer.target,
            timeout=transfer.timeout,
            headers=transfer.headers,
            procedure=transfer.warm,
        )

    async def _transfer_finished(self, frame: TransferResultFrame) -> None:
        """Record the hand-off's end; if the agent never answered and the caller is still here, take the call
        back: say so, record a callback as the call's outcome, hang up."""
        if self.handoff is None or frame.result is None:
            return
        if (
            frame.result.succeeded and frame.connected
        ):  # warm: joined to an agent, who may talk as long as needed
            self._cancel(self._deadline)
        takeback = self.handoff.finished(frame.result, frame.connected, frame.seconds)
        if takeback is None:
            return
        state = self.conversation.state
        state.outcome, state.outcome_data = Outcome.CALLBACK, {"when": takeback.callback_at.isoformat()}
        await self._announce("takeback", takeback.say)
        await self.push_frame(HangupCallFrame())

    async def _announce(self, event: str, text: str) -> None:
        """Say words that are no answer of the script, and keep them for the transcript."""
        self.announcements.append(Announcement(round(time.monotonic() - self._t0, 3), event, text))
        await self.push_frame(TTSSpeakFrame(text=text))

    async def _finish(self) -> None:
        """The call is over: stop timers and the turn task; a caller hang-up still reaches the dialog."""
        if self._finished:
            return
        self._finished = True
        for task in (self._no_input, self._dtmf_flush, self._deadline):
            self._cancel(task)
        if self._worker:
            await self.cancel_task(self._worker)
        if not self.conversation.ended and self.turns:
            self.ended_by = self.ended_by or EndedBy.CALLER
            with contextlib.suppress(Exception):
                step = self.conversation.state.step
                timing = self._timing("hangup", "")
                exchange = await self.conversation.hangup()
                timing.mark(TurnStage.DIALOG_DECISION, time.monotonic())
                self.turns.append(timing)
                self.exchanges.append((step, exchange))
