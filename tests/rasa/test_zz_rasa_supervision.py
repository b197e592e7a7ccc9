"""Rasa dies: callers get a clear error, the platform restarts it, conversations work again.

Runs last in this folder (it kills the session's Rasa server and waits for the restart).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.rasa.client import RasaUnavailable
from tests.rasa.helpers import client_for, converse

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def rasa_server_pids(port: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in args and b"--enable-api" in args and port.encode() in args:
            pids.append(int(proc.name))
    return pids


async def test_killed_rasa_is_reported_then_restarted(dialog_service):
    port = dialog_service["VOICEBOT_RASA__PORT"]
    pids = rasa_server_pids(port)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    await asyncio.sleep(0.5)

    client = client_for(dialog_service)
    try:
        with pytest.raises(RasaUnavailable, match=r"Rasa is not answering at http://127\.0\.0\.1:"):
            await client.status()
        for _ in range(300):
            try:
                await client.status()
                break
            except RasaUnavailable:
                await asyncio.sleep(1)
        else:
            pytest.fail("Rasa was not restarted within 300 s")
    finally:
        await client.close()
    assert rasa_server_pids(port) not in ([], pids)
    record = await converse(dialog_service, "reminder", ["да"])
    assert record.outcome == "confirmed"
