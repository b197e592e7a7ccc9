"""The dialog bridge: the processor between recognition and synthesis that runs a call's conversation.

It is a composition of small turn-taking parts, each with its own tests, and turns their decisions into frames:
- `AmdGate` (amd_gate.py): an outbound call's script waits for the detector's verdict; a machine gets the
  voicemail message or a hang-up;
- `PromptFloor` (barge_in.py): per step (`Listening.barge_in`), caller speech or a key during a prompt interrupts
  it (`InterruptionFrame`), or, with barge-in off, speech begun during the prompt is ignored;
- `DtmfCollector` (dtmf_collector.py): keys closer than `dtmf_digit_gap` form one answer, `#` ends it at once;
- `CallTimers` (call_timers.py): no input for the step's `silence_timeout` after the prompt ends →
  `conversation.silence()`; the call's maximum duration cuts the prompt and ends the dialog;
- `TurnRunner` (turn_runner.py): the inputs, one turn at a time, through `Conversation` (the real Rasa dialog,
  over HTTP), with each turn's stage times (`TurnTiming`); a caller turn's end of speech is the audio time the
  VAD heard the last voiced window (carried by the transcript), so recogniser backlog and VAD lag show in it.
The bridge pushes each turn's replies to the TTS as one `TTSSpeakFrame`, the step's expected phrases to the
recogniser, its end of turn to the VAD (`end_of_turn`, and `early_end_of_turn` with the test for a complete
answer: voice/turn_end.py), and the dialog's actions to the transport (hang-up and transfer frames that wait for
the queued audio); a transfer whose agent never answered is taken back (a callback as the outcome).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

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

from bot.call_results.store import EndedBy
from bot.calls.amd_gate import AmdGate, GateDecision
from bot.calls.barge_in import CallerOverPrompt, PromptFloor
from bot.calls.call_timers import CallTimers
from bot.calls.dtmf_collector import DtmfCollector
from bot.calls.latency import TurnStage, TurnTiming
from bot.calls.turn_runner import TurnRunner
from bot.dialog.action_log import HangupAsked, TransferAsked
from bot.dialog.complete_answer import CompleteAnswer
from bot.dialog.engine import Listening
from bot.dialog.model import Script
from bot.dialog.transcript import Exchange
from bot.handoff.desk import CallHandoff
from bot.outcomes import Outcome
from bot.rasa.conversation import Conversation
from telephony.transport import HangupCallFrame, TransferCallFrame, TransferResultFrame
from voice.amd import AmdResult, AmdResultFrame, VoicemailReadyFrame
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


@dataclass(frozen=True)
class Announcement:
    """Words the robot said outside the script's exchanges: the voicemail message, the take-back, the holding
    phrases and apology of a dialog outage, and a warm transfer's steps (bot/handoff/timeline.py)."""

    at: float  # seconds into the call
    event: str  # "voicemail", "takeback", "hold", "apology" or "handoff_…"
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
        self.announcements: list[Announcement] = []  # the robot's words outside the script's exchanges
        self.ended_by: EndedBy | None = None
        self.handoff: CallHandoff | None = None  # records transfers and maps queues to agents (phone calls)
        self.gate = AmdGate(wait_for_amd, voicemail)
        self.floor = PromptFloor()
        self.runner = TurnRunner(conversation, self, rules.dialog_outage_seconds)
        self.keys = DtmfCollector(rules.dtmf_digit_gap, self.runner.keyed, spawn=self.create_task)
        self.timers = CallTimers(
            rules.max_call_seconds, self._no_input, self._call_too_long, spawn=self.create_task
        )
        self._listening: Listening | None = None
        self._worker: asyncio.Task | None = None  # the turn runner's task
        self._finished = False
        self._speech_started: float | None = None  # when the caller's current utterance began
        self._end_of_speech: float | None = None
        self._vad_params: VADParams | None = None  # the VAD's current parameters (it announces them)

    # what is kept of the call

    @property
    def amd(self) -> AmdResult | None:
        return self.gate.result

    @property
    def turns(self) -> list[TurnTiming]:
        return self.runner.turns

    @property
    def exchanges(self) -> list[tuple[str | None, Exchange]]:
        return self.runner.exchanges

    @property
    def barge_ins(self) -> int:
        return self.floor.barge_ins

    # frames

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self.runner.begin_call()
            self._worker = self.create_task(self.runner.run())
            self.timers.start_call()
            if self.gate.open_at_start:
                self.runner.start_script()
        elif isinstance(frame, TransferResultFrame):
            await self._transfer_finished(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, AmdResultFrame):
            await self._answered_by(frame.result)
        elif isinstance(frame, VoicemailReadyFrame):
            logger.info(f"call {self.conversation.id}: voicemail: {frame.result.reason}")
            if message := self.gate.message_for(frame.result):
                await self.announce("voicemail", message)
            await self.push_frame(HangupCallFrame())
        elif isinstance(frame, (EndFrame, CancelFrame)):
            await self._finish()
            await self.push_frame(frame, direction)
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            await self._caller_started()
            await self.push_frame(frame, direction)
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self.floor.caller_stopped()
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
            self.runner.mark(TurnStage.FIRST_TTS_AUDIO, frame.at)
        elif isinstance(frame, BotStartedSpeakingFrame):
            if direction is FrameDirection.UPSTREAM:
                self.floor.prompt_started()
                self.timers.stop_waiting()
                self.runner.mark(TurnStage.FIRST_AUDIO_OUT, time.monotonic())
            await self.push_frame(frame, direction)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            if direction is FrameDirection.UPSTREAM:
                self.floor.prompt_ended()
                self._wait_for_input()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def _answered_by(self, result: AmdResult) -> None:
        """Outbound: a machine gets no script (the call ends with outcome `machine`, after the voicemail message
        if there is one); anyone else gets it now."""
        decision = self.gate.decide(result)
        logger.info(
            f"call {self.conversation.id}: answering-machine detection: {result.verdict} ({result.reason})"
        )
        if decision is GateDecision.START_SCRIPT:
            self.runner.start_script()
            return
        self.ended_by = EndedBy.MACHINE
        if decision is GateDecision.HANG_UP:
            await self.push_frame(HangupCallFrame())

    # the caller

    async def _caller_started(self) -> None:
        if self.gate.machine:
            return  # a voicemail's greeting or noise: nothing to interrupt for
        self._speech_started = time.monotonic()
        self.timers.stop_waiting()
        if self.floor.caller_started(self._barge_in) is CallerOverPrompt.INTERRUPT:
            await self.push_frame(InterruptionFrame())

    async def _transcribed(self, frame: TranscriptionFrame) -> None:
        text = frame.text
        started = self.runner.started_at
        if started is None or (self._speech_started or 0.0) < started:
            # begun before the script started: an outbound callee's "алло" during detection, whose final
            # result may arrive after the greeting has begun ("алло, да?" must not answer an unheard question)
            return
        if self.floor.take_ignored_utterance():
            logger.info(f"call {self.conversation.id}: ignored {text!r} said over a prompt without barge-in")
            self._wait_for_input()
            return
        if not text.strip():
            self._wait_for_input()  # noise, or words the recogniser does not know: keep waiting
            return
        if isinstance(frame, UtteranceTranscriptionFrame) and frame.speech_ended_at is not None:
            # stamped from the audio: any VAD lag or recogniser backlog since then counts in the turn
            self.runner.heard(
                text,
                frame.speech_ended_at,
                vad_stop=frame.stop_detected_at or time.monotonic(),
                early_end=frame.early_end,
            )
        else:
            self.runner.heard(text, self._end_of_speech or time.monotonic())

    async def _key(self, key: str) -> None:
        self.timers.stop_waiting()
        if self.floor.key_pressed(self._barge_in) is CallerOverPrompt.INTERRUPT:
            await self.push_frame(InterruptionFrame())
        self.keys.key(key)

    @property
    def _barge_in(self) -> bool:
        return self._listening.barge_in if self._listening else True

    # timers

    def _wait_for_input(self) -> None:
        """Start the no-input timer if nothing else is going on: no prompt, no caller speech or keys, no turn
        waiting, a script that runs and a dialog that answers."""
        self.timers.stop_waiting()
        waiting = self.floor.busy or self.keys.pending or self.runner.pending
        if self._finished or self.conversation.ended or waiting:
            return
        if self.runner.started_at is None or self.runner.in_outage:
            return  # no script runs (a machine, or detection still deciding), or it waits for the dialog
        timeout = self._listening.silence_timeout if self._listening else self.rules.silence_timeout
        self.timers.wait_for_input(timeout)

    async def _no_input(self) -> None:
        self.runner.no_input()

    async def _call_too_long(self) -> None:
        logger.info(
            f"call {self.conversation.id}: maximum duration {self.rules.max_call_seconds:.0f} s reached"
        )
        # not started: a machine's call (or one detection never decided)
        started = self.runner.started_at is not None
        self.ended_by = EndedBy.MAX_DURATION if started else self.ended_by or EndedBy.MAX_DURATION
        await self.push_frame(InterruptionFrame())  # no waiting for the rest of a prompt
        if started:
            self.runner.end_dialog()
        else:
            await self.push_frame(HangupCallFrame())  # no dialog to end

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

    # the turn runner's outlet

    async def act(self, exchange: Exchange) -> None:
        """The dialog's answer: listen for the next step, say the replies, carry out a transfer or hang-up."""
        result = exchange.result
        self._listening = result.listening
        if result.listening is not None:
            await self.push_frame(
                SpeechHintsFrame(phrases=tuple(result.listening.hints)), FrameDirection.UPSTREAM
            )
            await self._listen_for_turn_end(result.listening)
        self.timers.stop_waiting()
        if result.say:
            self.floor.reply_queued()
            await self.push_frame(TTSSpeakFrame(text=" ".join(result.say)))
        transfer = next((a for a in result.actions if isinstance(a, TransferAsked)), None)
        if transfer is not None:
            self.ended_by = self.ended_by or EndedBy.ROBOT
            await self.push_frame(await self._transfer_frame(exchange, transfer.queue))
        elif result.state.ended or any(isinstance(a, HangupAsked) for a in result.actions):
            self.ended_by = self.ended_by or EndedBy.ROBOT
            await self.push_frame(HangupCallFrame())
        elif not result.say:
            self._wait_for_input()

    async def announce(self, event: str, text: str) -> None:
        """Say words that are no answer of the script, and keep them for the transcript."""
        self.announcements.append(Announcement(self.runner.elapsed(), event, text))
        await self.push_frame(TTSSpeakFrame(text=text))

    async def hang_up(self, ended_by: EndedBy) -> None:
        self.ended_by = ended_by
        await self.push_frame(HangupCallFrame())

    def dialog_unavailable(self) -> None:
        self.timers.stop_waiting()

    # transfers

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
            self.timers.lift_call_limit()
        takeback = self.handoff.finished(frame.result, frame.connected, frame.seconds)
        began = self.runner.elapsed() - frame.seconds  # the warm transfer's steps go into the transcript
        self.announcements += [
            Announcement(round(began + line.at, 3), line.event, line.text) for line in self.handoff.timeline
        ]
        if takeback is None:
            return
        state = self.conversation.state
        state.outcome, state.outcome_data = Outcome.CALLBACK, {"when": takeback.callback_at.isoformat()}
        await self.announce("takeback", takeback.say)
        await self.push_frame(HangupCallFrame())

    async def _finish(self) -> None:
        """The call is over: stop timers and the turn task; a caller hang-up still reaches the dialog."""
        if self._finished:
            return
        self._finished = True
        self.timers.stop()
        self.keys.stop()
        if self._worker:
            await self.cancel_task(self._worker)
        if self.runner.dialog_running:
            self.ended_by = self.ended_by or EndedBy.CALLER
            await self.runner.caller_hung_up()
