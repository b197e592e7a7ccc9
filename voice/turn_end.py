"""Early end of turn: a short pause ends the caller's turn when what was heard is already a complete answer.

The dialog knows what each step expects; the voice layer only asks it. Per step the dialog pushes
`EarlyEndOfTurnFrame` upstream (a pause length and a test of the heard words). The VAD announces
`CallerPausedFrame` once the caller has been silent that long (its own end of turn, `stop_secs`, is longer);
the recogniser then reads the utterance so far and, if the test says it is complete, asks the VAD with
`CommitTurnFrame` to end the utterance now. Otherwise nothing happens and the step's full silence ends the turn.
If the caller speaks again before the commit reaches the VAD, the commit is ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame

CompleteAnswer = Callable[[str], Awaitable[bool]]
"""Whether these words (the recogniser's utterance so far) are a complete answer to the current step."""


@dataclass
class EarlyEndOfTurnFrame(SystemFrame):
    """The current step's early end of turn (pushed upstream): after `pause` seconds of silence the turn ends if
    `is_complete` accepts the words heard. `pause` None: off (the step's full end-of-turn silence only)."""

    pause: float | None = None
    is_complete: CompleteAnswer | None = None


@dataclass
class CallerPausedFrame(SystemFrame):
    """The VAD heard `EarlyEndOfTurnFrame.pause` seconds of silence in the caller's utterance (downstream)."""


@dataclass
class CommitTurnFrame(SystemFrame):
    """The recogniser found the utterance complete at a pause: the VAD ends it now (upstream)."""
