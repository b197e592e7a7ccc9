"""A call's identifiers are masked in what it leaves behind (issue 18 item 2), on a whole call through the real
pipeline and dialog service: a card number keyed where the inbound script asks for an order number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.calls.simulate import CallerLine
from bot.dialog.action_log import TransferAsked
from bot.rasa.conversation import Conversation
from tests.calls.helpers import call

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

CARD = "4276380012345679"  # Luhn-valid


class _KeptConversation(Conversation):
    """The call's conversation, kept so the test can see what the dialog itself held."""

    last: Conversation | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _KeptConversation.last = self


async def test_a_keyed_card_number_is_masked_in_the_stored_call_but_not_in_the_dialog(
    settings, dialog_service, monkeypatch
):
    monkeypatch.setattr("bot.calls.simulate.Conversation", _KeptConversation)
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine(dtmf=f"{CARD}#")]
    record, line = await call(settings, dialog_service, "inbound", lines)

    assert _KeptConversation.last.state.values["order_number"] == CARD  # the dialog had the real number
    assert line.ended_by == "transfer"
    caller = [entry.text for entry in record.transcript if entry.speaker == "caller"]
    assert caller == ["1", "[карта •••• 5679]#"]
    assert record.slots["order_number"] == "[карта •••• 5679]"
    [transfer] = [action for action in record.actions if isinstance(action, TransferAsked)]
    assert transfer.data == {"order_number": "[карта •••• 5679]"}
    stored = Path(record.recording).with_suffix(".json").read_text(encoding="utf-8")
    assert CARD not in stored and "5679" in stored
    assert json.loads(stored)["slots"]["order_number"] == "[карта •••• 5679]"
    # the file keeps the action log's JSON shape: one object per action, tagged by its `type`
    assert {"type": "transfer", "queue": "orders", "data": {"order_number": "[карта •••• 5679]"}} in (
        json.loads(stored)["actions"]
    )
