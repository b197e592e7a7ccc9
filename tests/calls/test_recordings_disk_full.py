"""The recordings disk full (issue 17 item 2): the call goes on and is kept without its recording, and the
condition is reported — an error in the log, `voicebot_recordings_failed` counted and `voicebot_recordings_writable`
at 0 until a recording is written again.

The full disk is real: the test mounts a 64 KiB tmpfs (as root) and fills it with a file until the kernel answers
ENOSPC, then runs a whole call (real pipeline and dialog service over the in-process line) recording into it.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from loguru import logger
from prometheus_client import REGISTRY

from bot.calls.simulate import CallerLine
from bot.config import load_settings
from tests.calls.helpers import call
from tests.chaos import ChaosRow, record
from tests.conftest import TINY

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


@pytest.fixture
def full_disk(tmp_path) -> Path:
    """A mounted 64 KiB tmpfs with no byte left."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "recordings"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        with pytest.raises(OSError) as full, (mount / "filler").open("wb") as filler:
            while True:
                filler.write(bytes(4096))
                filler.flush()
        assert full.value.errno == errno.ENOSPC
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_call_on_a_full_recordings_disk_goes_on_unrecorded_and_says_so(dialog_service, full_disk):
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(full_disk),
        }
    )
    errors: list[str] = []
    sink = logger.add(errors.append, level="ERROR", format="{message}")
    failed_before = metric("voicebot_recordings_failed_total")
    try:
        kept, _ = await call(settings, dialog_service, "reminder", [CallerLine("да")])
    finally:
        logger.remove(sink)
    record(
        ChaosRow(
            fault="recordings disk full (ENOSPC)",
            calls_up=1,
            contacts=None,
            lost=int(kept.outcome != "confirmed"),  # the call's record kept without its recording
            dialled_twice=None,
            events_lost=None,  # a simulated call writes no rows, so emits no events
            calls_left_live=int(kept.ended_by is None),
            seconds_to_recover=None,  # the disk stays full
        )
    )

    assert kept.outcome == "confirmed" and kept.ended_by == "robot", "the call itself is whole"
    assert any(entry.speaker == "caller" for entry in kept.transcript)
    assert kept.recording is None
    assert sorted(path.name for path in full_disk.iterdir()) == ["filler"], "no truncated WAV or JSON left"
    assert metric("voicebot_recordings_failed_total") == failed_before + 1
    assert metric("voicebot_recordings_writable") == 0
    assert any("recording not saved" in message and "No space left" in message for message in errors)
