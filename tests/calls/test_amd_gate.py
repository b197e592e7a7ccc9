"""The answering-machine gate: the script waits for the verdict; a machine gets its message or a hang-up."""

from __future__ import annotations

import pytest

from bot.calls.amd_gate import AmdGate, GateDecision
from voice.amd import AmdResult, RecordingReady, Verdict

MESSAGE = "Здравствуйте! Это напоминание о платеже. Перезвоните нам, пожалуйста."


def test_a_call_without_detection_starts_the_script_at_once():
    gate = AmdGate()
    assert gate.open_at_start and gate.result is None and not gate.machine


@pytest.mark.parametrize("verdict", [Verdict.HUMAN, Verdict.UNKNOWN])
def test_a_person_or_no_decision_starts_the_script(verdict):
    gate = AmdGate(wait_for_amd=True, voicemail=MESSAGE)
    assert not gate.open_at_start
    assert gate.decide(AmdResult(verdict, "short greeting", 1.2)) is GateDecision.START_SCRIPT
    assert not gate.machine and gate.result.verdict is verdict


def test_a_machine_without_a_message_is_hung_up_on():
    gate = AmdGate(wait_for_amd=True)
    assert gate.decide(AmdResult(Verdict.MACHINE, "beep at 1000 Hz", 2.5)) is GateDecision.HANG_UP
    assert gate.machine


def test_a_machine_gets_the_message_once_it_records():
    gate = AmdGate(wait_for_amd=True, voicemail=MESSAGE)
    decision = gate.decide(AmdResult(Verdict.MACHINE, "greeting 3.1 s", 3.1))
    assert decision is GateDecision.WAIT_FOR_RECORDING
    assert gate.message_for(RecordingReady(True, "beep ended", 4.0)) == MESSAGE
    assert gate.message_for(RecordingReady(False, "no beep or silence within 20 s", 20.0)) is None
