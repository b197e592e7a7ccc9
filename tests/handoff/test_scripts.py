"""Hand-off in scripts: every queue a script names must be configured (file:line errors at start-up), and a
script's `lead:` rule qualifies a lead — and transfers it — as soon as the answer that completes it is given."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.dialog.action_log import LeadQualified, OutcomeSet, TransferAsked
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogEngine, InputKind, TurnInput, TurnResult, new_state
from bot.dialog.loader import ScriptError
from bot.outcomes import Intent, Outcome
from tests.dialog.folders import dialogs_folder, line_of

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 10, 12, 0)
OFFER = {"name": "Анна", "company": "Ромашка", "product": "страховку"}

SCRIPT = """\
id: tiny
title: {ru: Проверка, en: Check}
languages: [ru, en]
operator_queue: support
variables: {name: text}
identity: {ru: Это помощник., en: This is the assistant.}
lead:
  if: "interested == true"
  requires: [people]
  queue: sales
  say: {ru: Соединяю., en: Connecting.}
start: greet
steps:
  greet:
    say: {ru: Интересно?, en: Interested?}
    capture: {slot: interested, type: yes_no}
    goto: ask_people
  ask_people:
    say: {ru: Сколько человек?, en: How many people?}
    capture: {slot: people, type: number}
    goto: bye
  bye:
    say: {ru: Пока., en: Bye.}
    do:
      - transfer: orders
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return dialogs_folder(tmp_path)


def errors(folder: Path, text: str, queues=None) -> list[ScriptError]:
    (folder / "tiny.yml").write_text(text, encoding="utf-8")
    return load_catalogue(folder, folder.parent / "training_data", queues=queues).errors


def test_every_queue_a_script_names_must_be_configured(folder: Path) -> None:
    found = errors(folder, SCRIPT, queues={"support"})
    where = {(e.file.name, e.line): e.message for e in found}
    assert where == {
        ("tiny.yml", line_of(SCRIPT, "queue: sales")): (
            "lead queue 'sales' is not configured in handoff.queues (configured: support)"
        ),
        ("tiny.yml", line_of(SCRIPT, "- transfer: orders")): (
            "transfer queue 'orders' is not configured in handoff.queues (configured: support)"
        ),
    }
    assert errors(folder, SCRIPT, queues={"support", "sales", "orders"}) == []
    assert errors(folder, SCRIPT) == []  # no queue list given: only the script itself is checked


def test_the_operator_queue_is_checked_where_it_is_declared(folder: Path) -> None:
    found = errors(folder, SCRIPT, queues={"sales", "orders"})
    assert [(e.line, e.message) for e in found] == [
        (
            line_of(SCRIPT, "operator_queue"),
            "operator_queue 'support' is not configured in handoff.queues (configured: orders, sales)",
        )
    ]


def test_a_lead_rule_must_name_existing_slots(folder: Path) -> None:
    text = SCRIPT.replace("requires: [people]", "requires: [budget]").replace(
        'if: "interested == true"', 'if: "keen == true"'
    )
    found = {(e.line, e.message) for e in errors(folder, text)}
    assert found == {
        (line_of(text, "requires: [budget]"), "lead requires undefined slot 'budget'"),
        (line_of(text, "keen == true"), "lead condition uses undefined slot or variable 'keen'"),
    }


def test_a_lead_rule_needs_a_condition_or_slots(folder: Path) -> None:
    text = SCRIPT.replace('  if: "interested == true"\n  requires: [people]\n', "")
    (error,) = errors(folder, text)
    assert error.line == line_of(text, "lead:")
    assert "a lead needs 'if' or 'requires'" in error.message


def test_shipped_scripts_fail_the_check_naming_an_unconfigured_queue(tmp_path: Path) -> None:
    config = tmp_path / "voicebot.yml"
    config.write_text("handoff:\n  queues:\n    support: {target: '200'}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["dialogs", "check"], env={"VOICEBOT_CONFIG": str(config)})
    assert result.exit_code == 1
    offer = ROOT / "dialogs" / "offer.yml"
    line = line_of(offer.read_text(encoding="utf-8"), "  queue: sales")
    assert (
        f"{offer}:{line}: lead queue 'sales' is not configured in handoff.queues (configured: support)"
        in (result.stderr)
    )


class Offer:
    """The shipped `offer` script driven turn by turn through the engine."""

    def __init__(self) -> None:
        catalogue = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
        self.engine = DialogEngine(catalogue.get("offer"))
        self.state = new_state(self.engine.script, "ru", OFFER)
        self.turn(TurnInput(kind=InputKind.START))

    def turn(self, turn: TurnInput) -> TurnResult:
        result = self.engine.handle(self.state, turn, NOW)
        self.state = result.state
        return result

    def says(self, text: str, intent: str | None = None) -> TurnResult:
        return self.turn(TurnInput(kind=InputKind.TEXT, text=text, intent=intent, confidence=0.9))

    def keys(self, digits: str) -> TurnResult:
        return self.turn(TurnInput(kind=InputKind.DTMF, digits=digits, intent="dtmf"))


def test_an_interested_caller_who_gives_the_number_is_a_qualified_lead_handed_to_sales() -> None:
    call = Offer()
    asked = call.says("да", Intent.AFFIRM)
    assert not any(isinstance(a, LeadQualified | TransferAsked) for a in asked.actions)
    result = call.says("три человека", None)
    assert result.actions == [
        LeadQualified(queue="sales", data={"people": 3}),
        TransferAsked(queue="sales", data={"people": 3}),
        OutcomeSet(outcome=Outcome.TRANSFERRED, data={}),
    ]
    assert result.say == [
        "Отлично, спасибо! Соединяю вас со специалистом, он подберёт для вас условия. "
        "Пожалуйста, оставайтесь на линии."
    ]
    assert result.state.ended and result.state.outcome == "transferred"


def test_keys_qualify_the_same_way() -> None:
    call = Offer()
    call.keys("1")
    assert call.keys("4#").actions[0] == LeadQualified(queue="sales", data={"people": 4})


def test_no_lead_without_interest_or_without_the_required_answer() -> None:
    refused = Offer()
    result = refused.keys("2")
    assert result.state.outcome == "refused" and not any(isinstance(a, TransferAsked) for a in result.actions)
    vague = Offer()
    vague.keys("1")
    vague.says("не знаю", None)
    result = vague.says("не знаю", None)  # no number twice: a callback, not a lead
    assert result.state.outcome == "callback"
    assert not any(isinstance(a, LeadQualified | TransferAsked) for a in result.actions)
