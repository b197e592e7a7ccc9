"""One call's pipeline over any pipecat transport, and what is kept of the call afterwards.

    transport.input() → CallerTap → Silero VAD → Vosk STT → DialogBridge → TTS → transport.output() → RobotTap

The Vosk model, its warm recognisers, the Silero VAD engine and the TTS voice are shared by every call of the
process; the VAD state, the recognition of the current utterance, the bridge and the recorder are per call.
`VoiceCall.run(runner)` adds the call's worker to a long-lived `WorkerRunner` and returns the `CallResult`
(outcome, per-turn timings, timestamped transcript, recording path, what the script asked for) when the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.transports.base_transport import BaseTransport
from pipecat.workers.runner import WorkerRunner

from bot.call_results.result import AmdCheck, CallResult, TimedLine
from bot.call_results.script_actions import script_requests
from bot.calls.bridge import DialogBridge, TurnRules
from bot.calls.recording import CallerTap, CallRecorder, RobotTap
from bot.dialog.engine import DialogEngine
from bot.dialog.model import Script
from bot.dialog.transcript import Transcript
from bot.metrics.prometheus import recording_saved
from bot.privacy.live import LIVE_CALLS
from bot.privacy.records import SensitiveSlots, redact_actions, redact_lines, redact_turns, redact_values
from bot.rasa.conversation import Conversation
from telephony.transport import SAMPLE_RATE, CallTransport
from voice.amd import AmdProcessor
from voice.config import VoiceSettings
from voice.models import asr_model_dir, synthesizer_for
from voice.stt_vosk import VoskSTTService
from voice.tts_piper import SpeechSynthesisService
from voice.vad import CallerVAD


class VoiceCall:
    """The pipeline of one call between `transport` and the dialog `conversation` (not started yet).

    Build it with `await VoiceCall.build(...)` while other calls run: construction may load a model or a voice
    (and the first call the shared Silero session), which on the event loop would hold up every call's media.
    """

    def __init__(
        self,
        transport: BaseTransport,
        conversation: Conversation,
        script: Script,
        settings: VoiceSettings,
        *,
        record: bool = True,
        detect_machine: bool = False,
    ) -> None:
        lang = conversation.state.lang
        self.conversation = conversation
        self.script = script
        self.settings = settings
        self.recorder = CallRecorder(SAMPLE_RATE) if record else None
        voicemail = None
        if detect_machine and script.voicemail:
            voicemail = DialogEngine(script).render(conversation.state, script.voicemail)
        self.bridge = DialogBridge(
            conversation,
            script,
            TurnRules(
                end_of_turn_silence=settings.end_of_turn_silence,
                silence_timeout=settings.default_silence_timeout,
                dtmf_digit_gap=settings.dtmf_digit_gap,
                max_call_seconds=settings.max_call_seconds,
                dialog_outage_seconds=settings.dialog_outage_seconds,
            ),
            wait_for_amd=detect_machine,
            voicemail=voicemail,
        )
        self.stt = VoskSTTService(asr_model_dir(settings, lang), sample_rate=SAMPLE_RATE)
        self.tts = SpeechSynthesisService(
            synthesizer_for(settings, lang), language=lang, sample_rate=SAMPLE_RATE, volume=settings.volume
        )
        vad = CallerVAD(
            VADParams(
                confidence=settings.vad_confidence,
                start_secs=settings.vad_start_secs,
                stop_secs=settings.end_of_turn_silence,
                min_volume=settings.vad_min_volume,
            )
        )
        processors = [transport.input(), vad, self.stt, self.bridge, self.tts, transport.output()]
        if detect_machine:
            processors.insert(1, AmdProcessor(SAMPLE_RATE, wait_for_recording=voicemail is not None))
        if self.recorder:
            processors.insert(1, CallerTap(self.recorder))
            processors.append(RobotTap(self.recorder))
            if isinstance(transport, CallTransport):  # a warm transfer's bridged talk is recorded too
                transport.call.bridge_tap = self.recorder.bridge_tap()
        self.worker = PipelineWorker(
            Pipeline(processors),
            params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE),
            enable_rtvi=False,
            enable_turn_tracking=False,  # the bridge times turns itself; the observer saw every frame push
            cancel_on_idle_timeout=False,
            cancel_runner_on_idle_timeout=False,
            idle_timeout_secs=None,
        )

    @classmethod
    async def build(cls, *args: Any, **kwargs: Any) -> VoiceCall:
        """`VoiceCall(...)` made in a worker thread, off the event loop."""
        return await asyncio.to_thread(cls, *args, **kwargs)

    async def run(self, runner: WorkerRunner) -> CallResult:
        """Run the call to its end in `runner` (started with `run(auto_end=False)`), then store and return it."""
        started_at = datetime.now(UTC)
        t0 = time.monotonic()
        call_id = self.conversation.id
        LIVE_CALLS.hold(call_id, SensitiveSlots.of(self.script), lambda: self.conversation.state.values)
        try:
            await runner.add_workers(self.worker)
            await self.worker.wait()
            # the record (which writes the WAV) is made before the call's sensitive values leave the log's mask
            record = await asyncio.to_thread(self._record, started_at, time.monotonic() - t0)
        finally:
            LIVE_CALLS.release(call_id)
        for turn in record.turns:
            logger.info(f"call {record.id} turn {turn['index']} ({turn['kind']}): {turn['ms']}")
        return record

    def _record(self, started_at: datetime, seconds: float) -> CallResult:
        transcript = Transcript(self.script)
        lines: list[TimedLine] = []
        for timing, (step, exchange) in zip(self.bridge.turns, self.bridge.exchanges, strict=True):
            before = len(transcript.lines)
            transcript.add(exchange, step)
            decided = timing.started + timing.ms.get("dialog_decision", 0) / 1000
            for line in transcript.lines[before:]:
                at = timing.started if line.speaker == "caller" else round(decided, 3)
                lines.append(TimedLine(at=at, **line.model_dump(exclude={"confidence"})))
        lines += [
            TimedLine(at=said.at, speaker="robot", text=said.text, event=said.event)
            for said in self.bridge.announcements
        ]
        lines.sort(key=lambda line: line.at)
        state = self.conversation.state
        result = transcript.record(state)
        # what is kept of the call (file, `calls` row, attempt, CRM events) has its identifiers masked
        lang, sensitive = state.lang, SensitiveSlots.of(self.script)
        secrets = sensitive.secrets(state.values)
        redacted = redact_lines([line.model_dump() for line in lines], lang, sensitive, secrets)
        actions = redact_actions(result.actions, lang, sensitive, secrets)
        asked = script_requests(actions, state.timezone)  # the CRM events carry masked values too
        record = CallResult(
            id=self.conversation.id,
            script=self.script.id,
            lang=lang,
            started_at=started_at.isoformat(timespec="seconds"),
            seconds=round(seconds, 2),
            outcome="machine" if self.bridge.ended_by == "machine" else result.outcome,
            outcome_data=redact_values(result.outcome_data, lang, sensitive, secrets),
            slots=redact_values(result.slots, lang, sensitive, secrets),
            actions=actions,
            ended_by=self.bridge.ended_by,
            barge_ins=self.bridge.barge_ins,
            amd=AmdCheck(verdict=self.bridge.amd.verdict, reason=self.bridge.amd.reason)
            if self.bridge.amd
            else None,
            turns=redact_turns(
                [t.summary() for t in self.bridge.turns],
                lang,
                sensitive,
                secrets,
                [step for step, _ in self.bridge.exchanges],
            ),
            transcript=[TimedLine(**line) for line in redacted],
            events=asked.events,
            callback_at=asked.callback_at,
        )
        if self.recorder:
            record.recording = self._save_or_report(record)
        return record

    def _save_or_report(self, record: CallResult) -> str | None:
        """The call's recording path, or None when it cannot be written (a full disk): the call is kept without
        it, the failure logged and counted (`voicebot_recordings_failed`, `voicebot_recordings_writable` 0)."""
        try:
            path = str(self.save(record))
        except OSError as exc:
            for leftover in (f"{record.id}.wav", f"{record.id}.json"):
                with contextlib.suppress(OSError):
                    (self.settings.recordings_dir / leftover).unlink(missing_ok=True)
            logger.error(f"call {record.id}: recording not saved in {self.settings.recordings_dir}: {exc}")
            record.recording = None
            recording_saved(False)
            return None
        recording_saved(True)
        return path

    def save(self, record: CallResult) -> Path:
        """Write `<id>.wav` (stereo: caller left, robot right) and `<id>.json`; returns the WAV path."""
        directory = self.settings.recordings_dir
        wav = self.recorder.write(directory / f"{record.id}.wav")
        record.recording = str(wav)
        (directory / f"{record.id}.json").write_text(
            json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return wav
