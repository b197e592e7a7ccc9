"""Which of a step's answers a caller's turn picks: by its intent, or by a value said with it.

Pure readings of the script and of what was heard; the turn engine (`engine.py`) acts on them. A value said with a
bare yes/no may outweigh it ("да, но только двадцатого"), a yes may also answer the question it leads to ("да,
заплачу в четверг" at "это Иван?"), and a value said alone may be a yes and its answer ("three people").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.dialog.model import Script, Step, ValueType
from bot.dialog.slots import holds, read_capture, valid
from bot.dialog.understanding import has_negation, is_question, negates_a_word
from bot.outcomes import Intent, Signal
from bot.values.numbers import parse_number

# Intents that say little about the answer: a value said with them ("ну двадцатого") is the answer. Not
# out_of_scope: "какая сегодня погода" names a day without answering.
WEAK_INTENTS = {None, Signal.NLU_FALLBACK, Intent.UNSURE, Intent.GREET, Intent.THANKS}
# Yes/no-like intents that a value said in the same breath overrides: "да, но только двадцатого" is a new date.
VALUE_OVERRIDES = {Intent.AFFIRM, Intent.DENY, "cant_pay"}
NEGATIVE_INTENTS = {Intent.DENY, "cant_pay"}


@dataclass(frozen=True)
class Heard:
    """What the caller said in this turn, and what it is read against."""

    text: str
    intent: str | None
    lang: str
    values: dict[str, Any]  # the call's values so far
    now: datetime


def _key_said_aloud(text: str, lang: str) -> bool:
    """Whether the words are one key of a "press 1 for yes, 2 for no" prompt said aloud ("один", "two")."""
    return len(text.split()) == 1 and parse_number(text, lang) in (1, 2)


def matching_answer(script: Script, step_name: str, step: Step, intent: str | None) -> int | None:
    """The first of the step's answers the intent selects (its intents or its own example phrases)."""
    for index, answer in enumerate(step.answers):
        if intent in answer.intent or intent == script.step_intent(step_name, index):
            return index
    return None


def answer_carrying_value(script: Script, step: Step, heard: Heard) -> int | None:
    """The one answer whose next step captures a value that the words already hold ("двадцатого" at a yes/no
    question whose "yes" asks for the date), or None."""
    found = []
    for index, answer in enumerate(step.answers):
        target = script.steps.get(answer.goto or "")
        capture = target.capture if target else None
        if capture is None or not capture.prefill or not heard.text.strip():
            continue
        value = read_capture(capture, heard.text, heard.values, heard.lang, heard.now)
        if value is not None and valid(target.capture, value, heard.now.date()):
            found.append(index)
    return found[0] if len(found) == 1 else None


def yes_answers_next_question(script: Script, step: Step, matched: int, heard: Heard) -> bool:
    """Whether a plain yes taken here also answers the question it leads to with a value: "да, заплачу в
    четверг" at "это Иван?" is a yes, then a yes with its date at "вы сможете оплатить?"."""
    answer = step.answers[matched]
    following = script.steps.get(answer.goto or "")
    if answer.intent != [Intent.AFFIRM] or answer.confirm or following is None or not following.waits:
        return False
    if following.capture is not None or negates_a_word(heard.text, heard.lang):
        return False
    carried = answer_carrying_value(script, following, heard)
    return carried is not None and Intent.AFFIRM in following.answers[carried].intent


def yes_carries_value(script: Script, step: Step, heard: Heard) -> bool:
    """Whether a value said alone at a yes/no capture answers the question its yes leads to ("three people"
    at "are you interested?", then "for how many?"): the intent says little (counts said alone are
    out_of_scope to the classifier), nothing is negated or asked, and it is no key said aloud ("один")."""
    text, lang = heard.text, heard.lang
    off_topic = heard.intent == Intent.OUT_OF_SCOPE
    if (heard.intent not in WEAK_INTENTS and not off_topic) or not text.strip():
        return False
    if has_negation(text, lang) or is_question(text, lang) or _key_said_aloud(text, lang):
        return False
    values = {**heard.values, step.capture.slot: True}
    target = next((b.goto for b in step.branch if b.condition is None or holds(values, b.condition)), None)
    following = script.steps.get(target or step.goto or "")
    capture = following.capture if following else None
    if capture is None or not capture.prefill:
        return False
    if off_topic and capture.type in (ValueType.DATE, ValueType.DATETIME):
        return False  # "какая сегодня погода" names a day without answering
    value = read_capture(capture, text, heard.values, lang, heard.now)
    return value is not None and valid(capture, value, heard.now.date())


def value_decides(script: Script, step: Step, matched: int | None, heard: Heard) -> bool:
    """Whether a value said outweighs the intent heard: the intent says little ("ну двадцатого"), or it is a
    bare yes/no whose answer does not take the value ("да, но только двадцатого"); a "no" only when the
    caller did not negate anything ("смогу к двадцатому" heard as "не смогу")."""
    if matched is None:  # "ой нет завтра точно не получится" unheard is no promise for tomorrow
        return heard.intent in WEAK_INTENTS and not has_negation(heard.text, heard.lang)
    answer = step.answers[matched]
    target = script.steps.get(answer.goto or "")
    if target is not None and target.capture is not None and target.capture.prefill:
        return False
    if not set(answer.intent) <= VALUE_OVERRIDES or not answer.intent:
        return False
    negative = set(answer.intent) <= NEGATIVE_INTENTS
    return not (negative and has_negation(heard.text, heard.lang))


def own_value_decides(step: Step, matched: int, heard: Heard) -> bool:
    """Whether the value this step captures, said with a bare yes/no, is the answer: an offered option
    picked ("нет, давайте второе") always is; another value as `value_decides` says."""
    intents = set(step.answers[matched].intent)
    if not intents or not intents <= VALUE_OVERRIDES:
        return False
    if step.capture.options:
        return True
    negative = intents <= NEGATIVE_INTENTS
    return not (negative and has_negation(heard.text, heard.lang))
