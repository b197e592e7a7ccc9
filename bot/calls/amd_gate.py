"""The answering-machine gate of an outbound call: the script's greeting waits for the detector's verdict.

A person (or no decision) opens the gate and the script starts; a machine gets no script: the robot hangs up at
once, or, when the script has a voicemail message, waits until the machine records (`RecordingReady`), says the
message, then hangs up. Calls without detection start the script at once.
"""

from __future__ import annotations

from enum import StrEnum

from voice.amd import AmdResult, RecordingReady, Verdict


class GateDecision(StrEnum):
    START_SCRIPT = "start_script"
    HANG_UP = "hang_up"  # a machine, and no message for it
    WAIT_FOR_RECORDING = "wait_for_recording"  # a machine: the message follows when it records


class AmdGate:
    def __init__(self, wait_for_amd: bool = False, voicemail: str | None = None) -> None:
        self.wait_for_amd = wait_for_amd
        self.voicemail = voicemail  # the message for an answering machine (rendered in the call's language)
        self.result: AmdResult | None = None

    @property
    def open_at_start(self) -> bool:
        """The script starts with the call (no detection to wait for)."""
        return not self.wait_for_amd

    @property
    def machine(self) -> bool:
        return self.result is not None and self.result.verdict is Verdict.MACHINE

    def decide(self, result: AmdResult) -> GateDecision:
        """The detector's verdict: what the call does now."""
        self.result = result
        if not self.machine:
            return GateDecision.START_SCRIPT
        return GateDecision.WAIT_FOR_RECORDING if self.voicemail else GateDecision.HANG_UP

    def message_for(self, ready: RecordingReady) -> str | None:
        """The words to leave once the machine records (None: it never did, or there is no message); the robot
        hangs up after them either way."""
        return self.voicemail if ready.ready else None
