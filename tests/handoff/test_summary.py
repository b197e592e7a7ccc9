"""The warm transfer's summary for the agent: a script's `handoff_summary:` template checked at load (file:line
for an unknown placeholder), rendered with the call's values in words, and a default for scripts without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialog.catalogue import load_catalogue
from bot.handoff.summary import summary_text
from tests.dialog.folders import dialogs_folder, line_of
from tests.handoff.test_scripts import ROOT, SCRIPT, errors


@pytest.fixture
def dialogs(tmp_path: Path) -> Path:
    return dialogs_folder(tmp_path)


WITH_SUMMARY = SCRIPT.replace(
    "start: greet\n",
    "handoff_summary:\n"
    '  ru: "Клиент {name}, {reason}. Людей: {people}. {collected}"\n'
    '  en: "Customer {name}, {reason}. People: {people}. {collected}"\n'
    "start: greet\n",
)


def test_an_unknown_variable_in_the_summary_is_a_file_line_error(dialogs: Path) -> None:
    text = WITH_SUMMARY.replace("Людей: {people}", "Бюджет: {budget}")
    (error,) = errors(dialogs, text)
    assert (error.file.name, error.line) == ("tiny.yml", line_of(text, "Бюджет: {budget}"))
    assert "undefined variable '{budget}' in the hand-off summary" in error.message
    assert "{reason}, {collected}, {last_words}, {queue}" in error.message  # what it may use besides slots
    assert errors(dialogs, WITH_SUMMARY) == []


def test_a_summary_needs_every_language_of_the_script(dialogs: Path) -> None:
    text = WITH_SUMMARY.replace('  en: "Customer {name}, {reason}. People: {people}. {collected}"\n', "")
    (error,) = errors(dialogs, text)
    assert error.line == line_of(text, "handoff_summary:") and "missing language variant: en" in error.message


def test_the_summary_is_said_in_words_with_the_reason_and_the_collected_slots(dialogs: Path) -> None:
    (dialogs / "tiny.yml").write_text(WITH_SUMMARY, encoding="utf-8")
    script = load_catalogue(dialogs, dialogs.parent / "training_data").get("tiny")
    values = {"name": "Анна", "interested": True, "people": 3}
    said = summary_text(
        script, "ru", reason="qualified", queue="sales", values=values,
        collected={"people": 3}, last_words="да, нас трое",
    )  # fmt: skip
    assert (
        said == "Клиент Анна, клиент заинтересован в предложении. Людей: три. "
        "Данные разговора: количество человек — три."
    )


def test_without_a_template_the_default_names_the_customer_and_says_what_they_said(dialogs: Path) -> None:
    (dialogs / "tiny.yml").write_text(SCRIPT, encoding="utf-8")
    script = load_catalogue(dialogs, dialogs.parent / "training_data").get("tiny")
    said = summary_text(
        script, "en", reason="requested", queue="support", values={"name": "Ann"},
        collected={}, last_words="operator please",
    )  # fmt: skip
    assert said == (
        "Connecting a customer. The customer is Ann. Reason: the customer asked for a person. "
        "The customer said: operator please."
    )


def test_the_default_leaves_the_name_out_when_the_call_has_none(dialogs: Path) -> None:
    (dialogs / "tiny.yml").write_text(SCRIPT, encoding="utf-8")
    script = load_catalogue(dialogs, dialogs.parent / "training_data").get("tiny")
    said = summary_text(
        script, "ru", reason="stuck", queue="support", values={"name": None}, collected={}, last_words=""
    )
    assert said == "Соединяю клиента. Причина: робот не смог понять клиента. Клиент сказал: ничего."


LABELLED = SCRIPT.replace(
    "capture: {slot: people, type: number}",
    'capture: {slot: people, type: number, label: {ru: "число гостей", en: "guests"}}',
)


def test_a_script_names_its_slots_in_the_summary_and_each_language_is_checked(dialogs: Path) -> None:
    (dialogs / "tiny.yml").write_text(LABELLED, encoding="utf-8")
    script = load_catalogue(dialogs, dialogs.parent / "training_data").get("tiny")
    for lang, words in (
        ("ru", "число гостей — три, order total — пять."),
        ("en", "guests — three, order total — five."),
    ):
        said = summary_text(
            script, lang, reason="qualified", queue="sales", values={},
            collected={"people": 3, "order_total": 5}, last_words="",
        )  # fmt: skip
        assert said.split(": ", 2)[-1].startswith(words), (
            said
        )  # an unknown slot: its name, underscores as spaces
    text = LABELLED.replace(', en: "guests"', "")
    (error,) = errors(dialogs, text)
    assert error.line == line_of(text, "label:") and "missing language variant: en" in error.message


def test_shipped_slots_are_named_and_money_and_dates_said_in_words() -> None:
    script = load_catalogue(ROOT / "dialogs", ROOT / "training_data").get("debt")
    collected = {"promise_amount": 5000, "promise_date": "2026-12-10"}
    said = {
        lang: summary_text(
            script,
            lang,
            reason="requested",
            queue="collections",
            values={"name": "Анна", **collected},
            collected=collected,
            last_words="да",
        )
        for lang in ("ru", "en")
    }
    assert (
        "Данные разговора: обещанная сумма — пять тысяч рублей, дата оплаты — десятое декабря." in said["ru"]
    )
    assert (
        "From the call: promised amount — five thousand rubles, payment date — December tenth." in said["en"]
    )
