"""Slots a script marks `sensitive: true`: checked in the script, masked whole in what a call leaves behind (its
transcript, slots, outcome data, the hand-off's record and SIP context), while the dialog keeps the value."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import InputKind, TurnInput
from bot.handoff.desk import Handoffs
from bot.outcomes import Intent
from bot.privacy.records import SensitiveSlots, redact_lines, redact_turns, redact_values
from bot.storage.models import Handoff
from tests.dialog.test_checks import GOOD, errors_of, folder, line_of, write  # noqa: F401  (folder: a fixture)
from tests.handoff.test_records import SETTINGS, offer_exchanges, start_call

CODEWORD = GOOD.replace(
    """      - intent: deny
        goto: refused
""",
    """      - intent: deny
        goto: refused
  ask_codeword:
    say: {ru: Назовите кодовое слово., en: Say your codeword.}
    capture: {slot: codeword, type: text, sensitive: true}
    goto: check_codeword
  check_codeword:
    say: {ru: "Кодовое слово {codeword}, верно?", en: "Codeword {codeword}, right?"}
    capture: {slot: codeword, type: text}
    goto: confirmed
""",
).replace("goto: confirmed\n      - intent: deny", "goto: ask_codeword\n      - intent: deny")


def test_a_slot_is_sensitive_at_every_step_that_captures_it(folder: Path) -> None:  # noqa: F811
    path = write(folder, CODEWORD)
    [error] = errors_of(folder)
    assert (error.file, error.line) == (path, line_of(CODEWORD, "capture: {slot: codeword, type: text}"))
    assert error.message == "slot 'codeword' is sensitive at another step: mark it here too"

    write(
        folder,
        CODEWORD.replace("{slot: codeword, type: text}", "{slot: codeword, type: text, sensitive: true}"),
    )
    catalogue = load_catalogue(folder, folder.parent / "training_data")
    assert catalogue.errors == []
    sensitive = SensitiveSlots.of(catalogue.get("tiny"))
    assert sensitive == SensitiveSlots(frozenset({"codeword"}), frozenset({"ask_codeword", "check_codeword"}))


SENSITIVE = SensitiveSlots(frozenset({"codeword", "pin"}), frozenset({"ask_codeword"}))
VALUES = {"codeword": "Ромашка", "pin": 1234, "people": 3}


def test_a_sensitive_value_is_masked_in_slots_lines_and_turns() -> None:
    secrets = SENSITIVE.secrets(VALUES)
    assert redact_values(VALUES, "ru", SENSITIVE, secrets) == {
        "codeword": "[скрыто]",
        "pin": "[скрыто]",
        "people": 3,
    }
    assert redact_values({"word": "ромашка"}, "en", SENSITIVE, ["ромашка"]) == {"word": "[hidden]"}
    lines = [
        {"speaker": "robot", "text": "Назовите кодовое слово.", "step": "ask_codeword"},
        {"speaker": "caller", "text": "сейчас, это ромашка кажется", "step": "ask_codeword"},
        {
            "speaker": "robot",
            "text": "Кодовое слово Ромашка, верно? И пин один два три четыре.",
            "step": "check",
        },
        {"speaker": "caller", "text": "да, пин один два три четыре", "step": "check"},
    ]
    assert [line["text"] for line in redact_lines(lines, "ru", SENSITIVE, secrets)] == [
        "Назовите кодовое слово.",
        "[скрыто]",
        "Кодовое слово [скрыто], верно? И пин [скрыто].",
        "да, пин [скрыто]",
    ]
    turns = [{"index": 1, "heard": "ромашка"}, {"index": 2, "heard": "нет"}]
    assert redact_turns(turns, "ru", SENSITIVE, secrets, ["ask_codeword", "check"]) == [
        {"index": 1, "heard": "[скрыто]"},
        {"index": 2, "heard": "нет"},
    ]


async def test_a_hand_off_stores_and_sends_a_sensitive_slot_masked_and_the_dialog_keeps_it(db) -> None:
    exchanges = offer_exchanges(
        TurnInput(kind=InputKind.TEXT, text="да", intent=Intent.AFFIRM, confidence=0.9),
        TurnInput(kind=InputKind.DTMF, digits="3#", intent="dtmf"),
    )
    [people_step] = [step for step, exchange in exchanges if exchange.heard.digits == "3#"]
    await start_call(db)
    sensitive = SensitiveSlots(frozenset({"people"}), frozenset({people_step}))
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru", sensitive)
    transfer = await handoff.start(exchanges[-1][1], exchanges)
    await handoff.settle()

    assert exchanges[-1][1].result.state.values["people"] == 3  # the dialog's own state is untouched
    with db.session() as session:
        context = session.scalar(select(Handoff)).context
    assert context["slots"]["people"] == "[скрыто]" and context["data"] == {"people": "[скрыто]"}
    assert {"speaker": "caller", "text": "[скрыто]", "step": people_step, "intent": "dtmf"} in context[
        "transcript"
    ]
    assert (
        "X-Voicebot-Slot-people" not in transfer.headers
    )  # a masked value does not travel to the agent's phone
