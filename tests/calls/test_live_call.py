"""A test call's live transcript (`LiveCall`): each turn's lines in order, masked as the stored transcript is, with
the call's id as the conversation's."""

from __future__ import annotations

from bot.calls.live_call import LiveCall
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import InputKind, TurnEvent, TurnInput, TurnResult, new_state
from bot.dialog.transcript import Exchange
from tests.conftest import ROOT

VARIABLES = {"name": "Иван", "company": "Ромашка", "amount": "1500", "due_date": "2026-12-20"}


def test_each_turn_adds_its_lines_masked_as_they_are_stored():
    script = load_catalogue(ROOT / "dialogs", ROOT / "training_data").scripts["reminder"]
    state = new_state(script, "ru", VARIABLES)
    live = LiveCall(script, "ru")
    assert live.conversation(client=None, state=state).id == live.id  # the call's row is the conversation's

    greeted = state.model_copy(update={"step": "greet"})
    start = Exchange(
        TurnInput(kind=InputKind.START),
        TurnResult(say=["Здравствуйте, Иван!"], event=TurnEvent.STARTED, state=greeted),
    )
    live.add(start, None, greeted)
    assert live.lines == [
        {"speaker": "robot", "text": "Здравствуйте, Иван!", "step": "greet", "intent": None, "event": None}
    ]

    heard = TurnInput(
        kind=InputKind.TEXT, text="моя карта 4111 1111 1111 1111", intent="out_of_scope", confidence=0.4
    )
    reply = TurnResult(say=["Вы сможете оплатить вовремя?"], event=TurnEvent.NO_MATCH, state=greeted)
    live.add(Exchange(heard, reply), "greet", greeted)
    caller = live.lines[1]
    assert (caller["speaker"], caller["step"], caller["intent"]) == ("caller", "greet", "out_of_scope")
    assert "4111 1111 1111 1111" not in caller["text"] and "1111]" in caller["text"], caller["text"]
    assert [line["speaker"] for line in live.lines] == ["robot", "caller", "robot"]
