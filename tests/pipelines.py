"""A pipecat 1.14 pipeline run in a test the way calls run: a PipelineWorker in its own WorkerRunner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pipecat.frames.frames import Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner


@asynccontextmanager
async def running(processors: list[FrameProcessor], seconds: float = 5.0) -> AsyncIterator[PipelineWorker]:
    """The pipeline of `processors`, started; the block ends it (an EndFrame queued, or `worker.cancel()`), and
    leaving the block waits up to `seconds` for the run to finish."""
    worker = PipelineWorker(
        Pipeline(processors),
        enable_rtvi=False,
        cancel_on_idle_timeout=False,
        cancel_runner_on_idle_timeout=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.get_running_loop().create_task(runner.run())
    try:
        yield worker
        await asyncio.wait_for(run, seconds)
    finally:
        if not run.done():
            run.cancel()


class Collect(FrameProcessor):
    """Passes every frame on and keeps those of `kinds` in `frames`, in the order they came."""

    def __init__(self, *kinds: type[Frame]) -> None:
        super().__init__()
        self.kinds = kinds
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, self.kinds):
            self.frames.append(frame)
        await self.push_frame(frame, direction)
