"""The turn's way back from the action server to the platform, without Rasa: the platform's real action server
(`bot/rasa/actions.py`) answers webhook calls built as Rasa builds them, and the platform's `Conversation` reads
the custom payload. The engine's typed actions arrive typed; a payload with an action kind this platform does not
know is a clear `RasaError`. What Rasa itself understands is tested against the real server elsewhere."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.dialog.action_log import LeadQualified, OutcomeSet, TransferAsked
from bot.dialog.catalogue import Catalogue, load_catalogue
from bot.dialog.engine import DialogEngine, InputKind, TurnInput, new_state
from bot.outcomes import Outcome
from bot.rasa.actions import PAYLOAD_KEY, create_action_app
from bot.rasa.compiler import STATE_SLOT, TURN_ACTION
from bot.rasa.conversation import Conversation
from bot.rasa.errors import RasaError

ROOT = Path(__file__).resolve().parents[2]
OFFER = {"name": "Анна", "company": "Ромашка", "product": "страховку"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "dialogs", ROOT / "training_data")


class ToActionServer:
    """Stands in for Rasa's forwarding alone: keeps the state slot and posts each key press or signal to the
    action server's webhook the way Rasa does (only `/signal{...}` messages: no NLU here)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.http = TestClient(create_action_app(catalogue))
        self.state: dict[str, Any] | None = None

    async def set_slot(self, conversation_id: str, name: str, value: dict[str, Any]) -> None:
        self.state = value

    async def message(self, conversation_id: str, text: str) -> list[dict[str, Any]]:
        name, brace, entities = text.removeprefix("/").partition("{")
        found = json.loads(brace + entities) if brace else {}
        latest = {
            "text": text,
            "intent": {"name": name, "confidence": 1.0},
            "entities": [{"entity": key, "value": value} for key, value in found.items()],
        }
        body = {
            "next_action": TURN_ACTION,
            "tracker": {"slots": {STATE_SLOT: self.state}, "latest_message": latest},
        }
        answer = self.http.post("/webhook", json=body)
        assert answer.status_code == 200, answer.text
        self.state = answer.json()["events"][0]["value"]
        return self.relayed(answer.json()["responses"])

    def relayed(self, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return responses


class WithAnUnknownAction(ToActionServer):
    """A newer action server's payload: one more kind of action."""

    def relayed(self, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        responses[0]["custom"][PAYLOAD_KEY]["turn"]["actions"].append({"type": "send_sms", "text": "hi"})
        return responses


async def test_the_engines_actions_reach_the_platform_typed(catalogue: Catalogue) -> None:
    engine = DialogEngine(catalogue.get("offer"))
    conversation = Conversation(ToActionServer(catalogue), new_state(engine.script, "ru", OFFER))
    await conversation.start()
    await conversation.dtmf("1")
    exchange = await conversation.dtmf("4#")
    assert exchange.result.actions == [
        LeadQualified(queue="sales", data={"people": 4}),
        TransferAsked(queue="sales", data={"people": 4}),
        OutcomeSet(outcome=Outcome.TRANSFERRED),
    ]
    # the same turns in the engine itself give the same log
    state = new_state(engine.script, "ru", OFFER)
    now = datetime.now()
    for turn in (TurnInput(kind=InputKind.START), TurnInput(kind=InputKind.DTMF, digits="1")):
        state = engine.handle(state, turn, now).state
    direct = engine.handle(state, TurnInput(kind=InputKind.DTMF, digits="4#"), now)
    assert exchange.result.actions == direct.actions


async def test_an_action_kind_the_platform_does_not_know_is_a_clear_error(catalogue: Catalogue) -> None:
    conversation = Conversation(
        WithAnUnknownAction(catalogue), new_state(catalogue.get("offer"), "ru", OFFER)
    )
    with pytest.raises(RasaError, match=r"(?s)a turn this platform cannot read.*tag 'send_sms'"):
        await conversation.start()
