"""The engine's typed action log: each kind keeps the JSON shape the Rasa payload and the stored call files always
had, reads back as the same typed actions, and an unknown kind in incoming JSON is refused naming what it is."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from bot.dialog.action_log import (
    CallbackScheduled,
    CrmEventNamed,
    EngineAction,
    HangupAsked,
    LeadQualified,
    OutcomeSet,
    TransferAsked,
)
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogEngine, InputKind, TurnInput, TurnResult, new_state
from bot.outcomes import Outcome

LOG = TypeAdapter(list[EngineAction])
NOW = datetime(2025, 3, 10, 12, 0)

EVERY_KIND = [
    LeadQualified(queue="sales", data={"people": 3}),
    TransferAsked(queue="sales", data={"people": 3}),
    OutcomeSet(outcome=Outcome.CALLBACK, data={"when": "2025-03-11T17:00"}),
    CallbackScheduled(when="2025-03-11T17:00"),
    CrmEventNamed(event="debt.disputed", data={"amount": 25000}),
    HangupAsked(),
]
# the dicts the engine appended before the log was typed: what stored files and older payloads hold
AS_STORED = [
    {"type": "lead_qualified", "queue": "sales", "data": {"people": 3}},
    {"type": "transfer", "queue": "sales", "data": {"people": 3}},
    {"type": "set_outcome", "outcome": "callback", "data": {"when": "2025-03-11T17:00"}},
    {"type": "schedule_callback", "when": "2025-03-11T17:00"},
    {"type": "crm_event", "event": "debt.disputed", "data": {"amount": 25000}},
    {"type": "hangup"},
]


def test_every_kind_keeps_its_json_shape_and_reads_back_typed() -> None:
    assert LOG.dump_python(EVERY_KIND, mode="json") == AS_STORED
    assert LOG.validate_json(json.dumps(AS_STORED)) == EVERY_KIND


def test_a_turn_survives_the_json_round_trip_of_the_rasa_payload(catalogue: Catalogue) -> None:
    engine = DialogEngine(catalogue.get("offer"))
    state = new_state(engine.script, "ru", {"name": "Анна", "company": "Ромашка", "product": "страховку"})
    for turn in (TurnInput(kind=InputKind.START), TurnInput(kind=InputKind.DTMF, digits="1")):
        state = engine.handle(state, turn, NOW).state
    result = engine.handle(state, TurnInput(kind=InputKind.DTMF, digits="4#"), NOW)
    # as the action server sends it (`bot/rasa/actions.py`) and the platform reads it (`bot/rasa/conversation.py`)
    wire = json.dumps({"turn": result.model_dump(mode="json")})
    back = TurnResult.model_validate(json.loads(wire)["turn"])
    assert (
        back.actions
        == result.actions
        == [
            LeadQualified(queue="sales", data={"people": 4}),
            TransferAsked(queue="sales", data={"people": 4}),
            OutcomeSet(outcome=Outcome.TRANSFERRED),
        ]
    )
    assert [type(action) for action in back.actions] == [LeadQualified, TransferAsked, OutcomeSet]


def test_an_unknown_kind_or_a_missing_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match=r"(?s)tag 'transfer_to_mars'.*expected tags.*lead_qualified"):
        LOG.validate_python([{"type": "transfer_to_mars", "queue": "mars"}])
    with pytest.raises(ValidationError, match=r"(?s)queue\s+Field required"):
        LOG.validate_python([{"type": "transfer", "data": {}}])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        LOG.validate_python([{"type": "hangup", "queue": "sales"}])
