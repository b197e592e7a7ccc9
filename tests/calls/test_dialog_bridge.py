"""The dialog bridge's composition, frames in and out, with a stand-in dialog (whole calls on the real dialog
service are in test_calls_on_rasa.py, test_voice_turns.py and the other slow tests)."""

from __future__ import annotations

from types import SimpleNamespace

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import InputDTMFFrame, InterruptionFrame, TTSSpeakFrame
from pipecat.tests.utils import SleepFrame, run_test

from bot.call_results.store import EndedBy
from bot.calls.bridge import DialogBridge, TurnRules
from telephony.transport import HangupCallFrame
from voice.amd import AmdResult, AmdResultFrame, Verdict


class _Dialog:
    """Greets, then thanks for any keys and ends."""

    def __init__(self) -> None:
        self.id = "call-1"
        self.state = SimpleNamespace(step=None, lang="ru", ended=False)
        self.asked: list[tuple[str, str]] = []

    @property
    def ended(self) -> bool:
        return self.state.ended

    def _exchange(self, say: str, ended: bool) -> SimpleNamespace:
        self.state.step, self.state.ended = "ask", ended
        result = SimpleNamespace(say=[say], actions=[], listening=None, state=self.state)
        return SimpleNamespace(result=result)

    async def start(self):
        self.asked.append(("start", ""))
        return self._exchange("Здравствуйте! Нажмите номер договора.", ended=False)

    async def dtmf(self, digits: str):
        self.asked.append(("dtmf", digits))
        return self._exchange("Спасибо, до свидания!", ended=True)

    async def hangup(self):
        self.asked.append(("hangup", ""))
        return self._exchange("", ended=True)


def _key(key: str) -> InputDTMFFrame:
    return InputDTMFFrame(button=KeypadEntry(key))


async def test_keys_over_the_greeting_interrupt_it_and_reach_the_dialog_as_one_answer():
    dialog = _Dialog()
    bridge = DialogBridge(dialog, script=None, rules=TurnRules(dtmf_digit_gap=5.0))
    sent = [SleepFrame(0.2), _key("1"), _key("2"), _key("#"), SleepFrame(0.2)]
    down, _ = await run_test(bridge, frames_to_send=sent)

    assert dialog.asked == [("start", ""), ("dtmf", "12#")]  # '#' ended the answer long before the gap
    said = [frame.text for frame in down if isinstance(frame, TTSSpeakFrame)]
    assert said == ["Здравствуйте! Нажмите номер договора.", "Спасибо, до свидания!"]
    assert sum(isinstance(frame, InterruptionFrame) for frame in down) == 1  # the first key; then no prompt
    assert isinstance(down[-1], HangupCallFrame)
    assert bridge.barge_ins == 1 and bridge.ended_by is EndedBy.ROBOT
    assert [turn.kind for turn in bridge.turns] == ["start", "dtmf"]


async def test_an_answering_machine_never_hears_the_script():
    dialog = _Dialog()
    bridge = DialogBridge(dialog, script=None, rules=TurnRules(), wait_for_amd=True)
    machine = AmdResultFrame(result=AmdResult(Verdict.MACHINE, "beep at 1000 Hz", 2.5))
    sent = [SleepFrame(0.1), _key("5"), machine, SleepFrame(0.2)]
    down, _ = await run_test(bridge, frames_to_send=sent)

    assert dialog.asked == [] and bridge.turns == []
    assert [type(frame) for frame in down] == [HangupCallFrame]
    assert bridge.ended_by is EndedBy.MACHINE and bridge.amd.verdict is Verdict.MACHINE
