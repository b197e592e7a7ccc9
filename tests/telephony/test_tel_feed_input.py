"""`FeedInputTransport` in a real pipecat 1.14 pipeline: its feeds start once with the pipeline and are cancelled
when the pipeline ends or is cancelled (no call, no network)."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import EndFrame, InputDTMFFrame

from telephony.transport import Feed, FeedInputTransport, telephony_params
from tests.pipelines import Collect, running


class Keys(FeedInputTransport):
    """Presses 1 2 # from one feed; the other waits until it is cancelled."""

    def __init__(self) -> None:
        super().__init__(telephony_params())
        self.started = 0
        self.cancelled = asyncio.Event()

    def feeds(self) -> list[Feed]:
        self.started += 1
        return [self._press(), self._wait()]

    async def _press(self) -> None:
        for key in "12#":
            await self.push_frame(InputDTMFFrame(button=KeypadEntry(key)))

    async def _wait(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.mark.parametrize("ending", ["end", "cancel"])
async def test_feeds_run_from_the_pipelines_start_until_it_ends_or_is_cancelled(ending):
    keys, digits = Keys(), Collect(InputDTMFFrame)
    async with running([keys, digits]) as worker:
        async with asyncio.timeout(5):
            while len(digits.frames) < 3:
                await asyncio.sleep(0.01)
        assert [frame.button.value for frame in digits.frames] == ["1", "2", "#"]
        assert keys.started == 1 and not keys.cancelled.is_set()
        if ending == "end":
            await worker.queue_frame(EndFrame())
        else:
            await worker.cancel()
    assert keys.cancelled.is_set()
    assert keys.started == 1
