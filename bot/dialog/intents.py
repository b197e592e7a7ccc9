"""Which intent a turn means in the script and step it is heard in.

One Rasa model serves every script, so its top intent may be another script's own intent: a FAQ question of
`inbound` or a step's example phrase of `debt`, heard while the caller is in `reminder`. Such an intent can never
be answered there; the script's own reading is the best-ranked intent it can use at all (its answers' intents,
its own step phrases and FAQ questions, its handlers), with the confidence Rasa gave that intent.

At a yes/no question, a plain yes or no in the words (`understanding.yes_or_no`) may say more than the intent
heard; and an answer to the question the "yes" leads to ("я ничего не оформлял" at "это Иван?") says yes too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.dialog.model import Script, Step, ValueType
from bot.dialog.understanding import (
    asks_no_more_calls,
    asks_to_call_later,
    closing,
    has_negation,
    names_someone_absent,
    refuses_calls,
    says_its_me,
    says_yes,
    yes_or_no,
)
from bot.outcomes import Intent, Signal

LOCAL_MARK = "__"  # `<script>__<step>__<n>`, `<script>__faq__<id>`: an intent that belongs to one script
# Under this, the script's best intent is noise beside the other script's (0.11 beside 0.85): not a reading.
MIN_OWN_CONFIDENCE = 0.2

# Intents a plain yes/no in the words never overrides: they change the call's course whatever else is said
# (a do-not-call only when the words refuse calls: "да, я как раз собиралась вам звонить" is a yes).
KEPT_OVER_YES_NO = {
    Intent.DONT_CALL, Intent.ASK_HUMAN, Intent.WRONG_PERSON, Intent.CALLBACK_LATER, Intent.BUSY,
    Intent.WHO_IS_CALLING, Intent.REPEAT, Intent.RESCHEDULE, Intent.GREET, "already_paid", "dispute", "cant_pay",
}  # fmt: skip
# Intents that never answer the next question on the caller's behalf (they are that question's yes/no).
NOT_FORWARDED = {
    None,
    Signal.NLU_FALLBACK,
    Intent.AFFIRM,
    Intent.DENY,
    Intent.UNSURE,
    Intent.GREET,
    Intent.THANKS,
}


@dataclass(frozen=True)
class RankedIntent:
    """One entry of Rasa's `intent_ranking`."""

    name: str
    confidence: float


def script_intents(script: Script) -> frozenset[str]:
    """Every intent the script can act on: its answers' intents and phrases, its FAQ and its handlers."""
    names = set(script.handlers)
    names.update(script.faq_intent(entry) for entry in script.faq)
    for step_name, step in script.steps.items():
        for index, answer in enumerate(step.answers):
            names.update(answer.intent)
            if answer.examples:
                names.add(script.step_intent(step_name, index))
    return frozenset(names)


def belongs_elsewhere(intent: str, script: Script) -> bool:
    """Whether the intent is another script's own (a step phrase or FAQ question compiled for it)."""
    return LOCAL_MARK in intent and not intent.startswith(f"{script.id}{LOCAL_MARK}")


def own_reading(
    script: Script, usable: frozenset[str], top: RankedIntent, ranking: Iterable[RankedIntent]
) -> RankedIntent:
    """The top intent, unless it belongs to another script: then the best-ranked intent this script can use,
    or the fallback when the ranking holds none the model gave at least `MIN_OWN_CONFIDENCE`."""
    if not belongs_elsewhere(top.name, script):
        return top
    best = next((entry for entry in ranking if entry.name in usable), None)
    if best is None or best.confidence < MIN_OWN_CONFIDENCE:
        return RankedIntent(Signal.NLU_FALLBACK.value, 0.0)
    return best


def asks_yes_or_no(step: Step, pending: bool) -> bool:
    """Whether the step (or a pending asking back) waits for a yes or a no."""
    if pending or (step.capture and step.capture.type is ValueType.YES_NO):
        return True
    return any({Intent.AFFIRM, Intent.DENY} & set(answer.intent) for answer in step.answers)


def yes_no_override(
    script: Script, intent: str | None, text: str, lang: str, step_takes_intent: bool
) -> Intent | Signal | None:
    """At a yes/no question, the yes or no the words say ("sure why not", "нет я в другом городе") when the
    classifier heard the opposite, nothing this step takes, or a handler that does not change the call's course
    ("unsure", "goodbye", "out_of_scope"; not "operator", "call me later" nor a hello); else None. A yes heard
    in words that negate and hold no yes ("i really can't right now") is not understood; "there's no Ann here"
    is a wrong person."""
    absent = names_someone_absent(text, lang) and not says_yes(text, lang)
    if absent and intent != Intent.WRONG_PERSON and Intent.WRONG_PERSON in script.handlers:
        return Intent.WRONG_PERSON
    said = yes_or_no(text, lang)
    if said is None:
        if intent == Intent.AFFIRM and has_negation(text, lang) and not says_yes(text, lang):
            return Signal.NLU_FALLBACK
        return None
    if intent in (Intent.AFFIRM, Intent.DENY):  # "нет разумеется" heard as affirm: the words say no
        overrides = said != (intent == Intent.AFFIRM)
    else:
        kept = intent in KEPT_OVER_YES_NO and (intent in script.handlers or intent == Intent.GREET)
        if intent == Intent.DONT_CALL and said and not refuses_calls(text, lang):
            kept = False
        if intent == Intent.WRONG_PERSON and said and says_its_me(text, lang):  # "да это я иван петров"
            kept = False
        overrides = not kept and not step_takes_intent
    if not overrides:
        return None
    return Intent.AFFIRM if said else Intent.DENY


def heard_in_words(
    script: Script, step: Step, intent: str | None, text: str, lang: str
) -> tuple[str, bool] | None:
    """What the words say outright where the classifier heard something else, and whether that is as sure as
    heard: "don't call me with sales offers again" is a do-not-call (unsure: asked back; not inside a
    free-text answer), words that only close the call ("всё спасибо") are the thanks or goodbye the step takes,
    and "i can't talk now call me on friday" placed nowhere is a callback request (unsure). Else None."""
    free_text = step.capture is not None and step.capture.type is ValueType.TEXT
    refusable = intent != Intent.DONT_CALL and Intent.DONT_CALL in script.handlers and not free_text
    if refusable and asks_no_more_calls(text, lang):
        return Intent.DONT_CALL.value, False
    taken = {name for answer in step.answers for name in answer.intent}
    if intent in (None, Signal.NLU_FALLBACK, Intent.THANKS, Intent.GOODBYE) and intent not in taken:
        closed = next((kind for kind in closing(text, lang) if kind in taken), None)
        if closed is not None:
            return closed, True
    unplaced = intent in (None, Signal.NLU_FALLBACK)
    if unplaced and Intent.CALLBACK_LATER in script.handlers and asks_to_call_later(text, lang):
        return Intent.CALLBACK_LATER.value, False
    return None


def yes_leading_to(script: Script, step: Step, intent: str | None) -> tuple[int, str] | None:
    """The step's "yes" answer and the step it leads to, when that step takes this intent and this one does
    not: "я ничего у вас не оформлял" (a dispute) at "это Иван?" answers yes and the next question at once."""
    if intent in NOT_FORWARDED:
        return None
    for index, answer in enumerate(step.answers):
        following = script.steps.get(answer.goto or "")
        if answer.intent != [Intent.AFFIRM] or following is None or not following.waits:
            continue
        if any(intent in later.intent for later in following.answers):
            return index, answer.goto
    return None
