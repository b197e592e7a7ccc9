"""The pipecat transport in a real pipecat 1.14 pipeline over a real loopback call (robot phone <-> customer phone).

Pipeline: CallTransport.input() -> Probe -> CallTransport.output(), run by a PipelineWorker in a WorkerRunner.
The customer is a second `Phone` (trunk mode): it plays audio, presses keys, and records what it hears with arrival
times, so every claim is measured on the far end of a real RTP stream.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputDTMFFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from telephony import CallEventType, CallState, EndReason, TransferStatus, rig
from telephony.transport import CallTransport, HangupCallFrame, TransferCallFrame, TransferResultFrame
from tests.telephony.conftest import loopback_call

pytestmark = [pytest.mark.slow]

LOUD = 1000  # sample magnitude that counts as "audio" (the robot sends digital silence otherwise)


class Probe(FrameProcessor):
    """Records what the input transport delivers and what comes back upstream from the output transport."""

    def __init__(self) -> None:
        super().__init__()
        self.audio: list[InputAudioRawFrame] = []
        self.digits: list[KeypadEntry] = []
        self.results: list[tuple[float, TransferResultFrame]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.audio.append(frame)
        elif isinstance(frame, InputDTMFFrame):
            self.digits.append(frame.button)
        elif isinstance(frame, TransferResultFrame):
            self.results.append((time.monotonic(), frame))
        await self.push_frame(frame, direction)


@dataclass
class Line:
    robot: object  # the robot's Call
    customer: object  # the customer's Call
    heard: list[tuple[float, bytes]] = field(
        default_factory=list
    )  # (arrival time, 20 ms frame) at the customer


@pytest.fixture
async def line(ports):
    """A live call: robot phone dials a customer phone that answers and records (arrival time, frame)."""
    answered: asyncio.Queue = asyncio.Queue()

    async def customer(call):
        await call.answer()
        await answered.put(call)

    async with loopback_call(ports, customer) as robot_call:
        line = Line(robot_call, await asyncio.wait_for(answered.get(), 2))

        async def record():
            async for frame in line.customer:
                line.heard.append((time.monotonic(), frame))

        recorder = asyncio.get_running_loop().create_task(record())
        yield line
        recorder.cancel()


class Bot:
    """A pipeline over the robot's call, run by a WorkerRunner, with the probe in the middle."""

    def __init__(self, call) -> None:
        self.transport = CallTransport(call)
        self.probe = Probe()
        self.worker = PipelineWorker(
            Pipeline([self.transport.input(), self.probe, self.transport.output()]),
            enable_rtvi=False,
            cancel_on_idle_timeout=False,
            cancel_runner_on_idle_timeout=False,
            idle_timeout_secs=None,
        )
        self.runner = WorkerRunner(handle_sigint=False)
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Bot:
        await self.runner.add_workers(self.worker)
        self.task = asyncio.get_running_loop().create_task(self.runner.run())
        await asyncio.sleep(0.3)  # StartFrame through the pipeline
        return self

    async def __aexit__(self, *exc) -> None:
        if not self.task.done():
            await self.worker.cancel()
        await asyncio.wait_for(self.task, 5)

    async def say(self, pcm: np.ndarray) -> None:
        """Queue audio the way a TTS service does (interruptible output audio frames, 40 ms each)."""
        raw = pcm.astype("<i2").tobytes()
        await self.worker.queue_frames(
            [
                OutputAudioRawFrame(audio=raw[i : i + 640], sample_rate=8000, num_channels=1)
                for i in range(0, len(raw), 640)
            ]
        )


def loud_span(heard: list[tuple[float, bytes]]) -> tuple[float, float, int]:
    """(first, last) arrival time of frames with audio, and how many such frames arrived."""
    loud = [t for t, frame in heard if np.max(np.abs(np.frombuffer(frame, np.int16))) > LOUD]
    return (loud[0], loud[-1], len(loud)) if loud else (0.0, 0.0, 0)


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    return (np.sin(np.arange(int(seconds * 8000)) * 2 * np.pi * hz / 8000) * 8000).astype(np.int16)


async def test_input_pushes_8khz_audio_frames_and_dtmf_frames(line):
    customer_says = rig.speechlike(2.0, seed=7)
    async with Bot(line.robot) as bot:
        line.customer.write_audio(customer_says.tobytes())
        await line.customer.wait_audio_sent()
        await line.customer.send_dtmf("15#")
        await asyncio.sleep(0.5)
        frames = list(bot.probe.audio)
        digits = list(bot.probe.digits)
    # 40 ms frames: two RTP packets each (INPUT_FRAME_BYTES)
    assert frames and {(f.sample_rate, f.num_channels, len(f.audio)) for f in frames} == {(8000, 1, 640)}
    heard = np.frombuffer(b"".join(f.audio for f in frames), np.int16)
    match = rig.compare_audio(customer_says, heard)
    assert match.snr_db >= 30 and match.dead_frames == 0, match  # the peer's audio, G.711-exact
    assert digits == [KeypadEntry.ONE, KeypadEntry.FIVE, KeypadEntry.POUND]


async def test_interruption_stops_queued_audio_within_one_chunk(line):
    async with Bot(line.robot) as bot:
        await bot.say(tone(3.0))
        await asyncio.sleep(1.0)
        interrupted_at = time.monotonic()
        await bot.worker.queue_frame(InterruptionFrame())
        await asyncio.sleep(1.0)
        queued_after = line.robot.rtp.queued_bytes
    _, last, count = loud_span(line.heard)
    assert count > 0
    played = count * 0.02
    # ~1 s of the 3 s was played; what reached the far end after the interruption is at most ~2 packets
    # (the one in flight plus network/jitter), never the remaining 2 s.
    assert 0.8 <= played <= 1.15, played
    assert last - interrupted_at <= 0.08, last - interrupted_at
    assert queued_after == 0


async def test_hangup_frame_runs_after_queued_audio(line):
    async with Bot(line.robot) as bot:
        start = time.monotonic()
        await bot.say(tone(1.0))
        await bot.worker.queue_frame(HangupCallFrame())
        reason = await asyncio.wait_for(line.customer.wait_ended(), 4)
        ended_at = time.monotonic()
        # the call's end ends the pipeline by itself (asyncio.wait, not wait_for: a cancelled runner returns
        # normally, so wait_for would "succeed" on its timeout)
        done, _ = await asyncio.wait({bot.task}, timeout=2)
        pipeline_end = time.monotonic() - ended_at
    assert done, "pipeline still running after the call ended"
    assert pipeline_end < 1.0, pipeline_end
    count = loud_span(line.heard)[2]
    assert count >= 48, count  # the whole second (50 frames) was heard before the BYE
    assert ended_at - start >= 0.98
    assert reason is EndReason.REMOTE_BYE and line.robot.end_reason is EndReason.LOCAL_HANGUP


async def test_transfer_frame_survives_interruption_and_reports_result(line):
    """Audio, then a transfer frame, then barge-in: the audio stops, the transfer still runs, right away.

    The customer phone declines REFER (603), so the result frame carries FAILED/603: proof the REFER was sent
    after the interruption and its outcome pushed upstream.
    """
    async with Bot(line.robot) as bot:
        await bot.say(tone(3.0))
        await bot.worker.queue_frame(TransferCallFrame(target="sip:agent@127.0.0.1:5999", timeout=5))
        await asyncio.sleep(0.5)
        interrupted_at = time.monotonic()
        await bot.worker.queue_frame(InterruptionFrame())
        for _ in range(60):
            if bot.probe.results:
                break
            await asyncio.sleep(0.05)
        results = list(bot.probe.results)
        state = line.robot.state
        await bot.worker.queue_frame(EndWorkerFrame())
    assert len(results) == 1
    at, frame = results[0]
    assert frame.result.status is TransferStatus.FAILED and frame.result.code == 603, frame.result
    assert at - interrupted_at < 0.5  # not after the 2.5 s of audio that were dropped
    count = loud_span(line.heard)[2]
    assert 0.3 <= count * 0.02 <= 0.65, count
    assert state is CallState.ACTIVE  # a failed transfer leaves the customer with the robot


async def test_output_dtmf_frame_is_sent_after_the_audio_before_it(line):
    digits: list[tuple[float, str]] = []
    line.customer.add_listener(
        lambda e: e.type is CallEventType.DTMF and digits.append((time.monotonic(), e.digit))
    )
    async with Bot(line.robot) as bot:
        await bot.say(tone(0.6))
        await bot.worker.queue_frame(OutputDTMFFrame.from_string("9#"))
        for _ in range(60):
            if len(digits) == 2:
                break
            await asyncio.sleep(0.05)
    _, last_audio, count = loud_span(line.heard)
    assert [d for _, d in digits] == ["9", "#"]  # decoded by the customer's RFC 2833 detector, once each
    assert count >= 28  # the 0.6 s of audio was played in full
    assert digits[0][0] > last_audio  # and the keypress came after it, not mixed into it
