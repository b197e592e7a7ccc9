"""The early end of turn's test: which words already answer the waiting step (bot/dialog/complete_answer.py).

The dialog service's classification is given here as a table (what Rasa would say), so the rules themselves are
checked; a real call through Rasa is in tests/calls/test_voice_turns.py."""

from __future__ import annotations

import asyncio

import pytest

from bot.dialog.complete_answer import CompleteAnswer

CLASSIFIED = {
    "да": ("affirm", 0.99),
    "нет": ("deny", 0.98),
    "я заплачу": ("affirm", 0.95),
    "да смогу": ("affirm", 0.97),
    "может быть": ("affirm", 0.5),
    "а кто это": ("who_is_calling", 0.93),
    "yes": ("affirm", 0.99),
    "i will pay": ("affirm", 0.9),
    "погода хорошая": ("order_status", 0.95),
    "алло": ("greet", 0.99),  # a confident intent, just not one the step or the script answers
}


async def classify(text: str) -> dict:
    name, confidence = CLASSIFIED.get(text, ("nlu_fallback", 0.3))
    return {"intent": {"name": name, "confidence": confidence}}


def complete(catalogue, script_id: str, step: str, text: str, lang: str = "ru", values=None) -> bool:
    script = catalogue.get(script_id)
    check = CompleteAnswer(script, script.steps[step], lang, values or {}, "Europe/Moscow", classify)
    return asyncio.run(check(text))


@pytest.mark.parametrize("text", ["да", "нет", "а кто это"])
def test_a_confident_expected_intent_is_complete(catalogue, text):
    assert complete(catalogue, "reminder", "greet", text)


@pytest.mark.parametrize(
    "text",
    [
        "я заплачу",  # a promise waiting for its date
        "ну",  # a filler
        "да но",  # a conjunction
        "может быть",  # the right intent, but not sure enough to act on without asking back
        "погода хорошая",  # sure, but of an intent this step does not answer
        "алло",  # a greeting: the answer is still to come
        "",
    ],
)
def test_an_unfinished_or_unexpected_answer_waits(catalogue, text):
    assert not complete(catalogue, "reminder", "greet", text)


@pytest.mark.parametrize("text", ["двадцатого", "двадцать пятого", "через неделю", "в пятницу", "завтра"])
def test_a_whole_date_is_complete(catalogue, text):
    assert complete(catalogue, "reminder", "ask_date", text)


@pytest.mark.parametrize("text", ["двадцать", "я заплачу", "к", "не завтра", "а какого числа можно"])
def test_a_date_that_may_go_on_waits(catalogue, text):
    assert not complete(catalogue, "reminder", "ask_date", text)


def test_a_date_out_of_the_steps_bounds_waits(catalogue):
    assert not complete(catalogue, "reminder", "ask_date", "через три месяца")


def test_digits_said_in_groups_always_wait(catalogue):
    assert not complete(catalogue, "inbound", "ask_order_number", "пятьсот двенадцать")


def test_english_follows_the_same_rules(catalogue):
    assert complete(catalogue, "reminder", "greet", "yes", "en")
    assert not complete(catalogue, "reminder", "greet", "i will pay", "en")
    assert complete(catalogue, "reminder", "ask_date", "on the twentieth", "en")
    assert not complete(catalogue, "reminder", "ask_date", "on the", "en")
