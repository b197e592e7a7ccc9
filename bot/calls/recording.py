"""Call recording: both directions into one stereo WAV (left: caller, right: robot), aligned on the caller's
continuous 8 kHz stream, plus retention (old recordings deleted). After a warm transfer joins the caller to an
agent, the bridged conversation goes on into the same file (left: caller, right: the agent) until the call ends."""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from telephony.call import BridgeTap


class CallRecorder:
    """Caller audio is appended as it arrives (the line delivers it continuously); robot audio is placed at the
    caller-stream position of the moment it was written to the line."""

    def __init__(self, sample_rate: int = 8000) -> None:
        self.sample_rate = sample_rate
        self._caller = bytearray()
        self._robot: list[tuple[int, bytes]] = []
        self._robot_end = 0

    def caller(self, pcm: bytes) -> None:
        self._caller += pcm

    def robot(self, pcm: bytes) -> None:
        # Audio written back to back continues where the last chunk ended, even if the writes jitter.
        position = max(len(self._caller) // 2, self._robot_end)
        self._robot.append((position, pcm))
        self._robot_end = position + len(pcm) // 2

    def bridge_tap(self) -> BridgeTap:
        """For `Call.bridge_tap`: a bridged call's peer goes on the caller's channel, the agent's audio forwarded
        to it on the robot's."""
        return BridgeTap(heard=self.caller, played=self.robot)

    @property
    def seconds(self) -> float:
        return len(self._caller) / 2 / self.sample_rate

    def channels(self) -> tuple[np.ndarray, np.ndarray]:
        caller = np.frombuffer(bytes(self._caller), dtype=np.int16)
        length = max(caller.size, self._robot_end)
        left = np.zeros(length, dtype=np.int16)
        left[: caller.size] = caller
        right = np.zeros(length, dtype=np.int16)
        for position, pcm in self._robot:
            chunk = np.frombuffer(pcm, dtype=np.int16)
            right[position : position + chunk.size] = chunk
        return left, right

    def write(self, path: Path) -> Path:
        left, right = self.channels()
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(np.column_stack([left, right]).tobytes())
        return path


class _AudioTap(FrameProcessor):
    """Passes every frame on; the audio of each `kind` frame going downstream goes to `record` first."""

    def __init__(
        self, kind: type[InputAudioRawFrame | OutputAudioRawFrame], record: Callable[[bytes], None], **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self._kind = kind
        self._record = record

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, self._kind) and direction is FrameDirection.DOWNSTREAM:
            self._record(frame.audio)
        await self.push_frame(frame, direction)


class CallerTap(_AudioTap):
    """Put right after the transport's input: records the caller's audio and passes every frame on."""

    def __init__(self, recorder: CallRecorder, **kwargs) -> None:
        super().__init__(InputAudioRawFrame, recorder.caller, **kwargs)


class RobotTap(_AudioTap):
    """Put right after the transport's output: records the audio it wrote (pushed on after each write)."""

    def __init__(self, recorder: CallRecorder, **kwargs) -> None:
        super().__init__(OutputAudioRawFrame, recorder.robot, **kwargs)


def purge_recordings(directory: Path, retention_days: int, now: float | None = None) -> int:
    """Delete recordings and transcripts older than `retention_days` (0 keeps everything); returns the count."""
    if retention_days <= 0 or not directory.exists():
        return 0
    cutoff = (now or time.time()) - retention_days * 86400
    removed = 0
    for path in directory.iterdir():
        if path.suffix in (".wav", ".json") and path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    return removed


async def purge_recordings_periodically(
    directory: Path, retention_days: int, stop: asyncio.Event, every: float = 3600.0
) -> None:
    """Apply the retention now and then every `every` seconds until `stop` is set (file work on a thread)."""
    while not stop.is_set():
        try:
            removed = await asyncio.to_thread(purge_recordings, directory, retention_days)
        except OSError as exc:
            logger.warning(f"recording retention in {directory} failed: {exc}")
        else:
            if removed:
                logger.info(f"recording retention: {removed} files older than {retention_days} days deleted")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
