"""One sentence to an answered call, then hang up: the busy and out-of-hours messages.

    transport.input() → TTS → transport.output()

No recognition and no dialog: the caller is not listened to. The worker ends when the call does (the robot's
hang-up after the sentence, or the caller's).
"""

from __future__ import annotations

from pipecat.frames.frames import TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from telephony.call import Call
from telephony.transport import SAMPLE_RATE, CallTransport, HangupCallFrame
from voice.tts_piper import SpeechSynthesisService, Synthesizer


async def announce(
    call: Call, text: str, language: str, synthesizer: Synthesizer, volume: float, runner: WorkerRunner
) -> None:
    """Say `text` (in `language`) on the answered `call` and hang up once it has been heard; returns when the
    call has ended."""
    transport = CallTransport(call)
    tts = SpeechSynthesisService(synthesizer, language=language, sample_rate=SAMPLE_RATE, volume=volume)
    worker = PipelineWorker(
        Pipeline([transport.input(), tts, transport.output()]),
        params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        cancel_on_idle_timeout=False,
        cancel_runner_on_idle_timeout=False,
        idle_timeout_secs=None,
    )
    await runner.add_workers(worker)
    await worker.queue_frames([TTSSpeakFrame(text=text), HangupCallFrame()])
    await worker.wait()
