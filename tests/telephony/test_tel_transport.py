"""The pipecat transport's output half on a real loopback call between two phones (no external peers)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from pipecat.frames.frames import OutputAudioRawFrame

from telephony import CallState, EndReason
from telephony.transport import BACKLOG_SECONDS, CallTransport, HangupCallFrame, TransferCallFrame
from tests.telephony.conftest import loopback_call


async def test_output_paces_audio_and_hangs_up_only_after_it(ports):
    received: list[bytes] = []
    ended = asyncio.Event()

    async def customer(call):
        await call.answer()
        async for frame in call:
            received.append(frame)
        ended.set()

    async with loopback_call(ports, customer) as call:
        assert TransferCallFrame(target="x").interruptible is False
        assert HangupCallFrame().interruptible is False
        output = CallTransport(call).output()
        tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16).tobytes()
        start = time.monotonic()
        for i in range(0, len(tone), 320):
            assert await output.write_audio_frame(
                OutputAudioRawFrame(audio=tone[i : i + 320], sample_rate=8000, num_channels=1)
            )
        write_time = time.monotonic() - start
        await output.write_transport_frame(HangupCallFrame())
        total = time.monotonic() - start
        await asyncio.wait_for(ended.wait(), 3)
    # 1 s of audio took ~1 s to write, less the backlog the call keeps queued: paced, not dumped
    assert 0.9 - BACKLOG_SECONDS <= write_time <= 1.1 - BACKLOG_SECONDS, write_time
    assert total >= 0.98  # the hang-up waited for the audio queued before it
    assert call.state is CallState.ENDED and call.end_reason is EndReason.LOCAL_HANGUP
    heard = np.frombuffer(b"".join(received), np.int16)
    assert np.sum(np.abs(heard) > 2000) > 0.8 * 8000  # the customer heard (nearly) the whole second
