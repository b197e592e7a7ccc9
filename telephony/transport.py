"""A pipecat 1.14 transport over one `Call`: 8 kHz PCM in and out, DTMF frames, transfer and hang-up frames."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    CancelFrame,
    DataFrame,
    EndFrame,
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputDTMFFrame,
    OutputDTMFUrgentFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from telephony.call import Call
from telephony.events import CallEvent, CallEventType, CallState, EndReason, TransferResult

SAMPLE_RATE = 8000
# the caller's audio goes down the pipeline in 40 ms frames (two RTP packets): half the frame hops of 20 ms frames
# for every processor on the way, at ≤ 20 ms more delay before the VAD hears the audio
INPUT_FRAME_BYTES = SAMPLE_RATE * 40 // 1000 * 2
BACKLOG_SECONDS = 0.2  # robot audio kept queued on the call ahead of the 20 ms ticks
PLAYOUT_TAIL = 0.2  # s after our last audio packet before BYE/REFER: the far end's jitter buffer plays it out


@dataclass
class TransferCallFrame(DataFrame):
    """Transfer the call once the audio queued before this frame has been played: a blind REFER to `target`, or
    `procedure(call)` when given (e.g. a warm transfer that bridges the call to an agent's leg).

    Not dropped by an interruption. The outcome is pushed upstream as a `TransferResultFrame`.
    """

    target: str = ""
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)  # carried to the target in the Refer-To URI
    procedure: Callable[[Call], Awaitable[TransferResult]] | None = None
    interruptible: bool = field(default=False, init=False)


@dataclass
class HangupCallFrame(DataFrame):
    """Hang up once the audio queued before this frame has been played. Not dropped by an interruption."""

    reason: EndReason = EndReason.LOCAL_HANGUP
    interruptible: bool = field(default=False, init=False)


@dataclass
class TransferResultFrame(DataFrame):
    """How a transfer ended; `connected`: the robot still has the caller; `seconds`: REFER sent → result."""

    result: TransferResult | None = None
    connected: bool = False
    seconds: float = 0.0


def telephony_params(**overrides) -> TransportParams:
    """TransportParams for an 8 kHz mono phone call (audio in and out enabled)."""
    values = dict(
        audio_in_enabled=True,
        audio_in_sample_rate=SAMPLE_RATE,
        audio_in_channels=1,
        audio_out_enabled=True,
        audio_out_sample_rate=SAMPLE_RATE,
        audio_out_channels=1,
        audio_out_10ms_chunks=2,
    )
    values.update(overrides)
    return TransportParams(**values)


Feed = Coroutine[Any, Any, None]  # a task pushing an input's frames: one of `FeedInputTransport.feeds()`


class FeedInputTransport(BaseInputTransport):
    """An input transport whose frames come from background tasks: the coroutines of `feeds()` start when the
    pipeline starts (once the transport is ready) and are cancelled when it stops or is cancelled.

    `CallInputTransport` is one; a simulated line without a phone can be another."""

    def __init__(self, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._feeds: list[asyncio.Task] = []

    def feeds(self) -> list[Feed]:
        """The coroutines that push this input's frames down the pipeline."""
        raise NotImplementedError

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        if not self._feeds:
            self._feeds = [self.create_task(feed) for feed in self.feeds()]

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._stop_feeds()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._stop_feeds()

    async def _stop_feeds(self) -> None:
        for task in self._feeds:
            await self.cancel_task(task)
        self._feeds = []


class CallInputTransport(FeedInputTransport):
    """Pushes the caller's audio as `InputAudioRawFrame` (8 kHz mono) and keypresses as `InputDTMFFrame`."""

    def __init__(self, call: Call, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._call = call
        self._digits: asyncio.Queue[str] = asyncio.Queue()
        call.add_listener(self._on_event)

    def _on_event(self, event: CallEvent) -> None:
        if event.type is CallEventType.DTMF and event.digit:
            self._digits.put_nowait(event.digit)
        elif event.type is CallEventType.ENDED:
            self._digits.put_nowait("")

    def feeds(self) -> list[Feed]:
        return [self._read(), self._read_dtmf()]

    async def _read(self) -> None:
        audio = bytearray()
        async for pcm in self._call:
            audio += pcm
            if len(audio) < INPUT_FRAME_BYTES:
                continue
            frame = InputAudioRawFrame(audio=bytes(audio), sample_rate=SAMPLE_RATE, num_channels=1)
            audio.clear()
            # when the audio arrived: a turn's end of speech is timed from it (voice.vad.RECEIVED_AT)
            frame.metadata["received_at"] = time.monotonic()
            await self.push_audio_frame(frame)
        # The call is over: end the pipeline. In pipecat 1.14 an EndFrame pushed from inside the pipeline
        # does not end the worker (measured: it ran on until cancelled); EndWorkerFrame does.
        await self.push_frame(EndWorkerFrame(reason=f"call ended: {self._call.end_reason}"))

    async def _read_dtmf(self) -> None:
        while digit := await self._digits.get():
            with contextlib.suppress(ValueError):
                await self.push_frame(InputDTMFFrame(button=KeypadEntry(digit)))


class CallOutputTransport(BaseOutputTransport):
    """Sends the robot's audio paced at real time; executes transfer/hang-up frames after preceding audio."""

    def __init__(self, call: Call, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._call = call

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InterruptionFrame):
            self._call.flush_audio()  # barge-in: drop what the phone has not sent yet
        await super().process_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Queue one chunk on the call and block while the call has more than `BACKLOG_SECONDS` queued: enough that
        a busy event loop does not run the line dry (a barge-in flushes it, so it never delays an interruption)."""
        if self._call.state is not CallState.ACTIVE:
            return False
        self._call.write_audio(frame.audio)
        limit = max(len(frame.audio), int(BACKLOG_SECONDS * SAMPLE_RATE) * 2)
        while self._call.rtp.queued_bytes > limit and self._call.state is CallState.ACTIVE:
            await asyncio.sleep(0.02)
        return True

    def _supports_native_dtmf(self) -> bool:
        return True

    async def _write_dtmf_native(self, frame: OutputDTMFFrame | OutputDTMFUrgentFrame) -> None:
        buttons = frame.buttons or ([frame.button] if frame.button else [])
        await self._call.wait_audio_sent()
        with contextlib.suppress(Exception):
            await self._call.send_dtmf("".join(str(b.value) for b in buttons))

    async def write_transport_frame(self, frame: Frame) -> None:
        if isinstance(frame, TransferCallFrame):
            await self._wait_played()
            started = time.monotonic()
            if frame.procedure is not None:
                result = await frame.procedure(self._call)
            else:
                result = await self._call.transfer(frame.target, frame.timeout, frame.headers)
            await self.push_frame(
                TransferResultFrame(
                    result=result,
                    connected=self._call.state is CallState.ACTIVE,
                    seconds=round(time.monotonic() - started, 3),
                ),
                FrameDirection.UPSTREAM,
            )
        elif isinstance(frame, HangupCallFrame):
            if self._call.on_hold:
                self._call.flush_audio()  # held audio would wait for a resume that may never come
            await self._wait_played()
            await self._call.hangup(frame.reason)

    async def _wait_played(self) -> None:
        """Until the audio queued so far has been sent and (given a jitter buffer's time) heard.

        Measured with a real baresip customer: a REFER sent the moment the last packet left cut the last 40 ms
        of the prompt (the transfer ended the call while they were still in its jitter buffer).
        """
        await self._call.wait_audio_sent()
        since_last = time.monotonic() - self._call.rtp.last_audio_sent
        if since_last < PLAYOUT_TAIL and self._call.state is CallState.ACTIVE:
            await asyncio.sleep(PLAYOUT_TAIL - since_last)


class CallTransport(BaseTransport):
    """`transport.input()` and `transport.output()` around one answered call."""

    def __init__(self, call: Call, params: TransportParams | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.call = call
        self._params = params or telephony_params()
        self._input = CallInputTransport(call, self._params, name=self._input_name)
        self._output = CallOutputTransport(call, self._params, name=self._output_name)

    def input(self) -> CallInputTransport:
        return self._input

    def output(self) -> CallOutputTransport:
        return self._output
