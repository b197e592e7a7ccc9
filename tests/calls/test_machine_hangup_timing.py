"""Every answering-machine call ends `machine`, whatever the far end's hang-up timing (issue 17): after the voicemail
message the line may stay up (a far end slow to confirm the robot's hang-up, or one that never does), and no timer
of the never-started script may turn the call into a dialog error.

Real pipeline and dialog service, over the in-process line (see tests/calls/test_calls_on_rasa.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.calls.simulate import caller_speech
from bot.config import load_settings
from tests.calls.helpers import call
from tests.calls.test_calls_on_rasa import MACHINE_GREETING
from tests.chaos import ChaosRow
from tests.chaos import record as record_row
from tests.conftest import TINY

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def voicemail_with_beep() -> bytes:
    greeting = bytes(3200) + caller_speech(MACHINE_GREETING, "ru") + bytes(2400)
    t = np.arange(4000) / 8000
    return greeting + (np.sin(2 * np.pi * 1000 * t) * 12000).astype(np.int16).tobytes()


@pytest.mark.parametrize(
    ("hangup_delay", "hangup_after"),
    [(4.0, 60.0), (None, 30.0)],
    ids=["hang-up-confirmed-4s-late", "never-confirmed-far-end-hangs-up-later"],
)
async def test_a_machine_call_ends_machine_when_the_line_stays_up_after_the_voicemail(
    dialog_service, tmp_path, hangup_delay, hangup_after
):
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
            "VOICEBOT_VOICE__DEFAULT_SILENCE_TIMEOUT": "1",  # a no-input timer would fire while the line is up
        }
    )
    record, line = await call(
        settings,
        dialog_service,
        "reminder",
        [],
        answer=voicemail_with_beep(),
        detect_machine=True,
        hangup_after=hangup_after,
        hangup_delay=hangup_delay,
    )

    timing = "never confirmed" if hangup_delay is None else f"confirmed {hangup_delay:g} s late"
    record_row(
        ChaosRow(
            fault=f"machine's hang-up {timing}",
            calls_up=1,
            contacts=None,
            lost=int(record.outcome != "machine"),
            dialled_twice=None,
            events_lost=None,  # a simulated call writes no rows, so emits no events
            calls_left_live=int(record.ended_by is None),
            seconds_to_recover=None,  # nothing breaks: the far end is only slow
        )
    )
    assert (record.outcome, record.ended_by) == ("machine", "machine")
    assert not record.turns, "no dialog turn: the script never runs on a machine"
    [message] = [entry for entry in record.transcript if entry.speaker == "robot"]
    assert message.event == "voicemail"
    assert line.ended_by == ("robot" if hangup_delay is not None else "caller")
