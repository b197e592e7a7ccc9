"""Whole calls through the real pipeline and the real dialog service: espeak-ng caller audio streamed in real time
over the in-process line → Silero VAD → Vosk (tiny test model) → Rasa → TTS (espeak-ng for Russian) → the line.

Each test is one phone call as a caller would have it; the claims are checked on what the call stored (outcome,
transcript, per-turn timings) and on the stereo recording.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from bot.calls.simulate import CallerLine, caller_speech
from bot.config import load_settings
from bot.dialog.transcript import Exchange
from bot.rasa.conversation import Conversation
from tests.calls.helpers import call
from tests.conftest import TINY
from tests.rasa.helpers import VARIABLES
from voice.amd import Verdict

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

VOICEBOT = str(Path(sys.executable).parent / "voicebot")
STAGES = ["end_of_speech", "vad_stop", "asr_final", "dialog_decision", "first_tts_audio", "first_audio_out"]


def channels(record) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(record.recording) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (2, 8000)
        stereo = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).reshape(-1, 2)
    return stereo[:, 0], stereo[:, 1]


def caller_lines(record) -> list[tuple[str, str | None, str | None]]:
    return [(line.text, line.intent, line.event) for line in record.transcript if line.speaker == "caller"]


async def test_a_reminder_confirmed_by_da(settings, dialog_service):
    record, line = await call(settings, dialog_service, "reminder", [CallerLine("да")])

    assert record.outcome == "confirmed"
    assert line.ended_by == "robot" and record.ended_by == "robot"
    assert caller_lines(record) == [("да", "affirm", "answered")]
    robot = [entry.text for entry in record.transcript if entry.speaker == "robot"]
    assert robot[0].startswith("Здравствуйте, Анна!") and robot[-1].startswith("Спасибо! Ждём платёж")

    answer = record.turns[1]
    assert answer["kind"] == "text" and list(answer["ms"]) == STAGES
    times = [answer["ms"][stage] for stage in STAGES]
    assert times == sorted(times), "the stages happen in order"
    assert times[-1] < 2000, f"end of speech → first audio out took {times[-1]} ms"

    caller, robot_audio = channels(record)
    assert np.abs(caller).max() > 3000 and np.abs(robot_audio).max() > 3000
    json_path = Path(record.recording).with_suffix(".json")
    assert '"outcome": "confirmed"' in json_path.read_text(encoding="utf-8")


async def test_an_order_number_said_digit_by_digit_is_passed_on_with_the_transfer(settings, dialog_service):
    # "1" on the keypad while the greeting plays (a key press barges in too), then the number aloud.
    lines = [CallerLine(dtmf="1", barge_in_after=1.5), CallerLine("восемь девять один два")]
    record, line = await call(settings, dialog_service, "inbound", lines)

    assert caller_lines(record)[1][0] == "восемь девять один два"
    assert record.slots["order_number"] == "8912"
    assert line.ended_by == "transfer" and line.transfer_target == "orders"
    assert record.outcome == "transferred"


async def test_keypad_answers_reach_the_dialog(settings, dialog_service):
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine(dtmf="4321#")]
    record, line = await call(settings, dialog_service, "inbound", lines)

    assert [(text, event) for text, _, event in caller_lines(record)] == [
        ("1", "answered"),
        ("4321#", "captured"),
    ]
    assert record.slots["order_number"] == "4321"
    assert line.transfer_target == "orders"


async def test_barge_in_cuts_the_prompt(settings, dialog_service):
    record, _ = await call(settings, dialog_service, "reminder", [CallerLine("да", barge_in_after=2.0)])

    assert record.outcome == "confirmed"
    assert record.barge_ins == 1
    caller, robot = channels(record)
    spoke = np.flatnonzero(np.abs(caller) > 1000)[0] / 8000  # the caller starts talking over the greeting
    loud = np.abs(robot).reshape(-1, 80).max(axis=1) > 300  # robot voice per 10 ms
    cut = spoke + np.argmax(~loud[int(spoke * 100) :]) / 100
    assert cut - spoke < 0.6, f"the greeting went on {cut - spoke:.2f} s over the caller"
    greeting = record.transcript[0].text
    voiced = loud.sum() / 100  # the robot's voice in the whole call (~13 s for the greeting alone, uncut)
    assert len(greeting) > 150 and voiced < 8, f"a cut greeting: {voiced:.1f} s of robot voice in the call"


async def test_a_silent_caller_is_reprompted_then_the_robot_ends_the_call(settings, dialog_service):
    record, line = await call(settings, dialog_service, "survey", [], hangup_after=60)

    assert [event for _, _, event in caller_lines(record)] == ["silence", "silence", "silence"]
    robot = [entry.text for entry in record.transcript if entry.speaker == "robot"]
    assert robot.count("Вы меня слышите?") == 2
    assert record.outcome == "no_answer_from_robot" and line.ended_by == "robot"
    silences = [turn for turn in record.turns if turn["kind"] == "silence"]
    # each no-input timeout (5 s in the script) runs from the end of the robot's prompt
    prompts_end = [entry.at for entry in record.transcript if entry.speaker == "robot"]
    assert all(turn["started"] > prompts_end[0] + 5 for turn in silences)


class _NoBargeIn(Conversation):
    """The real conversation, with every step's barge-in switched off (as a step with `barge_in: false`)."""

    async def _send(self, message: str) -> Exchange:
        exchange = await super()._send(message)
        if exchange.result.listening:
            exchange.result.listening.barge_in = False
        return exchange


async def test_without_barge_in_speech_over_the_prompt_is_ignored(settings, dialog_service, monkeypatch):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _NoBargeIn)
    lines = [CallerLine("нет", barge_in_after=1.0), CallerLine("да")]
    record, _ = await call(settings, dialog_service, "reminder", lines)

    assert record.barge_ins == 0
    assert caller_lines(record) == [
        ("да", "affirm", "answered")
    ]  # "нет" over the greeting never reached Rasa
    assert record.outcome == "confirmed"


async def test_the_robot_ends_a_call_at_the_maximum_duration(dialog_service, tmp_path):
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
            "VOICEBOT_VOICE__MAX_CALL_SECONDS": "4",
        }
    )
    record, line = await call(settings, dialog_service, "reminder", [])

    assert record.ended_by == "max_duration" and line.ended_by == "robot"
    assert record.seconds < 6, "the greeting (about 15 s) is cut at the limit"


def test_voicebot_simulate_prints_the_transcript_outcome_and_latencies(dialog_service, tmp_path):
    env = {
        **dialog_service,
        "VOICEBOT_VOICE__ASR_RU": str(TINY),
        "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
    }
    variables = [f"{key}={value}" for key, value in VARIABLES["reminder"].items()]
    done = subprocess.run(
        [VOICEBOT, "simulate", "reminder", "--say", "да", *(a for v in variables for a in ("--var", v))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "caller да  [affirm]" in done.stdout
    assert "outcome: confirmed" in done.stdout
    turn = next(line for line in done.stdout.splitlines() if line.startswith("turn 1 text"))
    assert "end_of_speech 0" in turn and "first_audio_out" in turn
    assert list(tmp_path.glob("*.wav")) and list(tmp_path.glob("*.json"))


MACHINE_GREETING = (
    "Здравствуйте, вы позвонили в компанию Восток. Сейчас никто не может ответить. Оставьте сообщение."
)


async def test_an_outbound_call_answered_by_a_machine_ends_with_outcome_machine(settings, dialog_service):
    # the survey script has no voicemail message: the robot hangs up on the machine without a word
    greeting = caller_speech(MACHINE_GREETING, "ru")
    record, line = await call(
        settings, dialog_service, "survey", [], answer=greeting, detect_machine=True, hangup_after=10
    )

    assert record.outcome == "machine" and line.ended_by == "robot"
    assert record.amd.verdict is Verdict.MACHINE and record.amd.reason.startswith("greeting longer")
    assert not [entry for entry in record.transcript if entry.speaker == "robot"], "no script for a machine"
    _, robot = channels(record)
    assert np.abs(robot).max() == 0


async def test_a_machine_gets_the_scripts_voicemail_message_after_its_beep(settings, dialog_service):
    greeting = bytes(3200) + caller_speech(MACHINE_GREETING, "ru") + bytes(2400)
    t = np.arange(4000) / 8000  # a 0.5 s beep at 1000 Hz (sox-free: a pure tone)
    beep = (np.sin(2 * np.pi * 1000 * t) * 12000).astype(np.int16).tobytes()
    record, line = await call(
        settings, dialog_service, "reminder", [], answer=greeting + beep, detect_machine=True, hangup_after=40
    )

    assert record.outcome == "machine" and record.ended_by == "machine" and line.ended_by == "robot"
    assert not record.turns, "no dialog turn: the script does not run on a machine"
    [message] = [entry for entry in record.transcript if entry.speaker == "robot"]
    assert message.event == "voicemail"
    assert message.text.startswith("Здравствуйте, Анна. Это автоматический помощник компании Банк Восток.")
    _, robot = channels(record)
    beep_end = (len(greeting) + len(beep)) / 2 / 8000
    first_robot = np.flatnonzero(np.abs(robot) > 300)[0] / 8000
    assert beep_end < first_robot < beep_end + 1.0, "the message starts right after the beep"
    assert np.abs(robot[int(first_robot * 8000) :]).max() > 3000 and record.seconds > first_robot + 5


async def test_an_outbound_call_answered_by_a_person_gets_the_script_after_their_hello(
    settings, dialog_service
):
    # The answer is a key, not espeak's "да": after the "алло" and the long greeting, Silero scores that short
    # synthetic "да" 0.44–0.59 per window, so at some window phases it never has the 0.1 s of speech that starts
    # a turn (reproduced offline in 16 of 120 pause lengths); this test is about the hello and the verdict.
    record, _ = await call(
        settings,
        dialog_service,
        "reminder",
        [CallerLine(dtmf="1")],
        answer=bytes(3200) + caller_speech("алло", "ru"),
        detect_machine=True,
    )

    assert record.amd.verdict is Verdict.HUMAN
    assert record.outcome == "confirmed"
    caller, robot = channels(record)
    hello_end = np.flatnonzero(np.abs(caller) > 1000)[0] / 8000 + 0.5
    first_robot = np.flatnonzero(np.abs(robot) > 300)[0] / 8000
    assert first_robot > hello_end, "the robot waits for the callee's hello and the verdict"
