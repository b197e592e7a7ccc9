"""Prompts as the robot says them: placeholders filled with words in the case the sentence needs (from a
preposition or a `{name:case}` marker), numbers counting the noun after them, the digits an author wrote written
out; every prompt of the shipped scripts reaches the voice without a digit; bad case markers are script errors."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_checks import GOOD, folder, line_of, only_error  # noqa: F401  (folder: a fixture)

from bot.dialog.catalogue import Catalogue, load_catalogue
from bot.dialog.checks import _texts
from bot.dialog.engine import DialogEngine, DialogError, new_state
from bot.dialog.model import ValueType
from bot.dialog.render import coerce, render
from voice.spoken import RenderError

ROOT = Path(__file__).resolve().parents[2]
TYPES = {
    "amount": ValueType.MONEY,
    "due": ValueType.DATE,
    "visit": ValueType.DATETIME,
    "at": ValueType.TIME,
    "count": ValueType.NUMBER,
    "score": ValueType.RATING,
    "order": ValueType.DIGITS,
    "paid": ValueType.YES_NO,
    "name": ValueType.TEXT,
    "support": ValueType.PHONE,
}
VALUES = {
    "amount": 21000,
    "due": "2026-12-01",
    "visit": "2026-12-22T14:30",
    "at": "09:00",
    "count": 3,
    "score": 1,
    "order": "00123",
    "paid": True,
    "name": "Анна",
    "support": "+7 912 345-67-89",
}


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Долг {amount} нужно оплатить до {due}.", "Долг двадцать одна тысяча рублей нужно оплатить до первого декабря."),
        ("Внесите {amount} к {due}.", "Внесите двадцать одну тысячу рублей к первому декабря."),
        ("Платёж в размере {amount} просрочен.", "Платёж в размере двадцати одной тысячи рублей просрочен."),
        ("Звоню по поводу платежа {amount:gen}.", "Звоню по поводу платежа двадцати одной тысячи рублей."),
        ("Звоню по поводу платежа {amount:род}.", "Звоню по поводу платежа двадцати одной тысячи рублей."),
        ("Напоминаем о {amount}.", "Напоминаем о двадцати одной тысяче рублей."),
        ("Записала, {due}.", "Записала, первое декабря."),
        ("Первое — {due}.", "Первое — первое декабря."),
        ("Оплатите {due}.", "Оплатите первого декабря."),
        ("С {due} действует тариф.", "С первого декабря действует тариф."),
        ("Перенесу на {due}.", "Перенесу на первое декабря."),
        ("Договор действует по {due}.", "Договор действует по первое декабря."),
        ("Сообщим о {due}.", "Сообщим о первом декабря."),
        ("Ждём вас {visit}.", "Ждём вас двадцать второго декабря в четырнадцать тридцать."),
        ("Записываю вас на {visit}.", "Записываю вас на двадцать второе декабря в четырнадцать тридцать."),
        ("Готовьтесь к {visit}.", "Готовьтесь к двадцать второму декабря в четырнадцать тридцать."),
        ("Приходите в {at}.", "Приходите в девять часов."),
        ("Работаем до {at}.", "Работаем до девяти часов."),
        ("У вас {count} платёж.", "У вас три платежа."),
        ("У вас {count} платежей.", "У вас три платежа."),
        ("Осталось {count} недели.", "Осталось три недели."),
        ("Вы поставили {score} балл.", "Вы поставили один балл."),
        ("У вас {count} новых платежа.", "У вас три новых платежа."),
        ("Оценка {score} из десяти.", "Оценка один из десяти."),
        ("Ваша оценка — {score}.", "Ваша оценка — один."),
        ("Заказ {order} в пути.", "Заказ ноль ноль один два три в пути."),
        ("{name}, нажмите 1.", "Анна, нажмите один."),
        ("Оплачено: {paid}.", "Оплачено: да."),
        ("Ответ займёт 2 минуты.", "Ответ займёт две минуты."),
        ("В течение 2 недель, {name}.", "В течение двух недель, Анна."),
        ("{unknown} и всё", " и всё"),
        ("Наш номер: {support}.", "Наш номер: плюс семь, девятьсот двенадцать, триста сорок пять, шестьдесят семь, восемьдесят девять."),
    ],
)  # fmt: skip
def test_russian_prompts(text: str, spoken: str) -> None:
    assert render(text, VALUES, TYPES, "ru", "RUB") == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("You owe {amount} by {due}.", "You owe twenty-one thousand rubles by December first."),
        ("See you on {visit}.", "See you on December twenty-second at two thirty PM."),
        ("Come at {at}.", "Come at nine AM."),
        ("You have {count} payments.", "You have three payments."),
        ("Order {order} is on its way.", "Order zero zero one two three is on its way."),
        ("Press 1 for yes, 2 for no.", "Press one for yes, two for no."),
    ],
)
def test_english_prompts(text: str, spoken: str) -> None:
    assert render(text, VALUES, TYPES, "en", "RUB") == spoken


def test_a_phone_variable_must_be_a_phone_number() -> None:
    assert coerce(" 8 (800) 555-35-35 ", ValueType.PHONE) == "8 (800) 555-35-35"
    with pytest.raises(ValueError, match="expected a phone number, got 'позже'"):
        coerce("позже", ValueType.PHONE)


def test_money_in_the_scripts_currency() -> None:
    assert (
        render("Долг {amount}.", {"amount": 5.5}, TYPES, "ru", "USD")
        == "Долг пять долларов пятьдесят центов."
    )


def test_a_value_that_cannot_be_said_is_a_clear_error() -> None:
    with pytest.raises(
        RenderError, match=r"cannot say \{amount\} = 5 \(money\): no words for currency 'XYZ'"
    ):
        render("Долг {amount}.", {"amount": 5}, TYPES, "ru", "XYZ")


# -- every prompt of the shipped scripts -------------------------------------------------------------------

SAMPLES: dict[ValueType, Any] = {
    ValueType.DATE: "2026-12-01",
    ValueType.DATETIME: "2026-12-22T14:30",
    ValueType.TIME: "09:05",
    ValueType.MONEY: 21000.5,
    ValueType.NUMBER: 21,
    ValueType.RATING: 9,
    ValueType.DIGITS: "00123",
    ValueType.YES_NO: True,
}
VARIABLES: dict[str, dict[str, str]] = {
    "reminder": {"name": "Анна", "company": "Ромашка", "amount": "10500.01", "due_date": "2026-12-31"},
    "survey": {"name": "Анна", "company": "Ромашка 24"},
    "debt": {"name": "Иван Петров", "company": "Ромашка", "amount": "21000", "due_date": "2026-12-02"},
    "offer": {"name": "Анна", "company": "Ромашка", "product": "тариф «Плюс 500»"},
    "inbound": {"company": "Ромашка", "name": "Анна"},
    "appointment": {
        "name": "Анна",
        "clinic": "Здоровье",
        "slot1": "2026-12-01T09:00",
        "slot2": "2026-12-02T14:30",
        "slot3": "2026-12-23T21:05",
    },
}


def rendered_prompts(catalogue: Catalogue, script_id: str, lang: str) -> list[str]:
    """Every prompt of a script as the engine renders it, with the contact's variables and a sample value in
    every slot the script captures."""
    script = catalogue.get(script_id)
    state = new_state(script, lang, VARIABLES[script_id])
    for name, kind in script.slot_types().items():
        state.values.setdefault(name, SAMPLES.get(kind, "Анна"))
    engine = DialogEngine(script)
    skip = {("title",)}  # shown on the dashboard, never spoken
    return [
        engine.render(state, text)
        for path, text in _texts(script)
        if path not in skip and path[-1] != "examples"
    ]


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("script_id", ["reminder", "survey", "debt", "appointment", "offer", "inbound"])
def test_shipped_prompts_reach_the_voice_without_digits(
    catalogue: Catalogue, script_id: str, lang: str
) -> None:
    prompts = rendered_prompts(catalogue, script_id, lang)
    assert len(prompts) > 10
    with_digits = [p for p in prompts if any(c.isdigit() for c in p)]
    assert with_digits == []
    assert not [p for p in prompts if "{" in p or "}" in p]
    voice = {"ru": "ru", "en": "en-us"}[lang]
    phonemes = subprocess.run(
        ["espeak-ng", "-v", voice, "-q", "-x", "\n".join(prompts)], capture_output=True, text=True, check=True
    ).stdout
    assert len(phonemes.split()) > len(prompts)  # espeak-ng read all of it


def test_shipped_reminder_says_the_amount_and_date_in_their_cases(catalogue: Catalogue) -> None:
    prompts = " ".join(rendered_prompts(catalogue, "reminder", "ru"))
    assert (
        "Напоминаем о платеже десяти тысяч пятисот рублей одной копейки до тридцать первого декабря."
        in prompts
    )
    assert "нужно внести платёж на сумму десять тысяч пятьсот рублей одна копейка" in prompts
    assert "Если да, нажмите один, если нет — два." in prompts


def test_the_engine_reports_a_value_it_cannot_say_as_a_dialog_error(catalogue: Catalogue) -> None:
    script = catalogue.get("reminder").model_copy(update={"currency": "XYZ"})
    state = new_state(script, "ru", VARIABLES["reminder"])
    with pytest.raises(
        DialogError, match=r"script 'reminder': cannot say \{amount\} = 10500\.01 \(money\): no words"
    ):
        DialogEngine(script).render(state, script.steps["greet"].say)


# -- case markers in the script checker --------------------------------------------------------------------


def test_an_unknown_case_marker_is_a_script_error(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("ru: Здравствуйте, {name}!", "ru: Здравствуйте, {name:genn}!")
    error = only_error(folder, text)
    assert error.line == line_of(text, "{name:genn}") - 1  # the line of `say:`
    assert error.message == (
        "unknown case 'genn' in '{name:genn}': expected one of nom, gen, dat, acc, ins, loc "
        "(or им, род, дат, вин, тв, пр) in the ru text"
    )


def test_a_malformed_placeholder_is_a_script_error(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("en: Hello {name}!", "en: Hello {name gen}!")
    error = only_error(folder, text)
    assert error.line == line_of(text, "{name gen}") - 2  # the line of `say:`
    assert (
        error.message == "malformed placeholder '{name gen}': expected {name} or {name:case} in the en text"
    )


def test_case_markers_in_any_accepted_name_are_valid(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("{name}!", "{name:gen}!").replace("{name}! Will", "{name:родительный}! Will")
    path = folder / "tiny.yml"
    path.write_text(text, encoding="utf-8")
    assert load_catalogue(folder, folder.parent / "training_data").errors == []


def test_a_date_after_v_is_a_script_error(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("  name: text\n", "  name: text\n  visit: date\n").replace(
        "ru: Здравствуйте, {name}! Вы придёте?", "ru: Здравствуйте, {name}! Вы придёте в {visit}?"
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, "придёте в {visit}") - 1  # the line of `say:`
    assert error.message == (
        "'в {visit}' is no Russian for a date: write 'на {visit}' or '{visit}' alone in the ru text"
    )


def test_phone_is_no_capture_type(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace(
        "    answers:\n      - intent: affirm",
        "    capture: {slot: number, type: phone}\n    goto: confirmed\n    answers:\n      - intent: affirm",
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, "type: phone")
    assert error.message == "phone is a type for variables (a number the robot says), not for captures"


def test_an_unknown_currency_is_a_script_error(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("goal: confirmed", "goal: confirmed\ncurrency: XYZ")
    error = only_error(folder, text)
    assert error.line == line_of(text, "currency: XYZ")
    assert error.message == "unknown currency 'XYZ': expected one of RUB, USD, EUR, KZT"
