"""Call recordings: both directions aligned in one stereo WAV; retention deletes old files only."""

from __future__ import annotations

import asyncio
import os
import time
import wave
from pathlib import Path

import numpy as np
from pipecat.frames.frames import EndFrame, InputAudioRawFrame, OutputAudioRawFrame

from bot.calls.recording import (
    CallerTap,
    CallRecorder,
    RobotTap,
    purge_recordings,
    purge_recordings_periodically,
)
from tests.pipelines import Collect, running


def test_robot_audio_lands_where_the_caller_stream_was_when_it_was_played(tmp_path):
    recorder = CallRecorder(8000)
    recorder.caller(bytes(1600))  # 100 ms of caller silence
    recorder.robot(np.full(160, 1000, dtype=np.int16).tobytes())  # robot plays 20 ms now
    recorder.robot(np.full(160, 2000, dtype=np.int16).tobytes())  # and the next 20 ms right after
    recorder.caller(np.full(800, 500, dtype=np.int16).tobytes())
    path = recorder.write(tmp_path / "call.wav")

    with wave.open(str(path)) as reader:
        assert (reader.getnchannels(), reader.getframerate(), reader.getsampwidth()) == (2, 8000, 2)
        stereo = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).reshape(-1, 2)
    caller, robot = stereo[:, 0], stereo[:, 1]
    assert caller.size == 1600
    assert (robot[:800] == 0).all() and (robot[800:960] == 1000).all() and (robot[960:1120] == 2000).all()
    assert (caller[800:] == 500).all()


async def test_taps_record_the_callers_and_the_robots_audio_and_pass_every_frame_on():
    recorder, sink = CallRecorder(8000), Collect(InputAudioRawFrame, OutputAudioRawFrame)
    said = np.full(160, 500, dtype=np.int16).tobytes()
    played = np.full(160, 1000, dtype=np.int16).tobytes()
    async with running([CallerTap(recorder), RobotTap(recorder), sink]) as worker:
        await worker.queue_frames(
            [
                InputAudioRawFrame(audio=said, sample_rate=8000, num_channels=1),
                OutputAudioRawFrame(audio=played, sample_rate=8000, num_channels=1),
                EndFrame(),
            ]
        )

    caller, robot = recorder.channels()
    assert caller.tobytes()[: len(said)] == said and np.count_nonzero(caller) == 160  # the caller's side only
    assert np.count_nonzero(robot == 1000) == 160 and np.count_nonzero(robot) == 160  # the robot's side only
    assert sorted(frame.audio for frame in sink.frames) == sorted([said, played])


def test_retention_deletes_only_recordings_older_than_the_limit(tmp_path):
    old, new = tmp_path / "old.wav", tmp_path / "new.json"
    for path in (old, new, tmp_path / "keep.txt"):
        path.write_bytes(b"x")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    os.utime(tmp_path / "keep.txt", (past, past))

    assert purge_recordings(tmp_path, 30) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "new.json"]
    assert purge_recordings(tmp_path, 0) == 0


async def test_serve_applies_the_retention_periodically_until_stopped(tmp_path):
    def old_file(name: str) -> Path:
        path = tmp_path / name
        path.write_bytes(b"x")
        past = time.time() - 40 * 86400
        os.utime(path, (past, past))
        return path

    async def gone(path: Path) -> None:
        while path.exists():
            await asyncio.sleep(0.01)

    first = old_file("first.wav")
    stop = asyncio.Event()
    task = asyncio.create_task(purge_recordings_periodically(tmp_path, 30, stop, every=0.05))
    await asyncio.wait_for(gone(first), 5)
    later = old_file("later.json")  # appears after the first pass: only a later pass can delete it
    await asyncio.wait_for(gone(later), 5)
    (tmp_path / "fresh.wav").write_bytes(b"x")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [p.name for p in tmp_path.iterdir()] == ["fresh.wav"]
