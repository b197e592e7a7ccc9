"""Barge-in: who holds the floor, and what the caller's speech or key does to a prompt that plays or is due.

A prompt is due from the moment its text goes to the TTS until its audio has played (`BotStoppedSpeakingFrame`).
On a step with barge-in, caller speech or a key during it interrupts it; without, speech that starts during it is
ignored (its transcript never reaches the dialog) and keys are taken as they come.
"""

from __future__ import annotations

from enum import StrEnum


class CallerOverPrompt(StrEnum):
    """What to do with caller input that arrives (during a prompt or not)."""

    TAKE = "take"  # no prompt in the way: take it
    INTERRUPT = "interrupt"  # stop the prompt (an `InterruptionFrame`), then take it
    IGNORE = "ignore"  # the prompt plays on; the utterance is dropped


class PromptFloor:
    def __init__(self) -> None:
        self.bot_speaking = False
        self.reply_pending = False  # a reply is queued for the TTS and has not started playing
        self.caller_speaking = False
        self.barge_ins = 0
        self._ignoring = False

    @property
    def prompt_due(self) -> bool:
        return self.bot_speaking or self.reply_pending

    @property
    def busy(self) -> bool:
        """Someone speaks, or is about to: no time to count as the caller's silence."""
        return self.prompt_due or self.caller_speaking

    def reply_queued(self) -> None:
        self.reply_pending = True

    def prompt_started(self) -> None:
        self.bot_speaking = True

    def prompt_ended(self) -> None:
        self.bot_speaking = self.reply_pending = False

    def caller_started(self, barge_in: bool) -> CallerOverPrompt:
        """The caller began to speak; `barge_in`: the listening step allows interruptions."""
        self.caller_speaking = True
        if not self.prompt_due:
            return CallerOverPrompt.TAKE
        if barge_in:
            return self._interrupt()
        self._ignoring = True
        return CallerOverPrompt.IGNORE

    def caller_stopped(self) -> None:
        self.caller_speaking = False

    def key_pressed(self, barge_in: bool) -> CallerOverPrompt:
        """A key always counts as input; it interrupts a prompt when the step allows barge-in."""
        return self._interrupt() if self.prompt_due and barge_in else CallerOverPrompt.TAKE

    def take_ignored_utterance(self) -> bool:
        """Whether the transcript that just arrived belongs to an utterance begun over a prompt without
        barge-in (asked once per transcript)."""
        ignored, self._ignoring = self._ignoring, False
        return ignored

    def _interrupt(self) -> CallerOverPrompt:
        self.barge_ins += 1
        self.reply_pending = False
        return CallerOverPrompt.INTERRUPT
