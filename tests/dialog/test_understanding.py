"""Understanding natural answers: values inside yes/no answers, negation, self-corrections, offered choices by
what the caller says, asking back before costly decisions, `set` and slot-to-slot conditions.

The engine is fed turns as Rasa would classify them (intent, confidence) with a fixed clock: Monday 10 March
2025, noon. The same behaviour through the real Rasa server is in tests/rasa/test_understanding_on_rasa.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from bot.dialog.catalogue import Catalogue, load_catalogue
from bot.dialog.engine import DialogEngine, InputKind, TurnEvent, TurnInput, TurnResult, new_state
from bot.dialog.understanding import (
    asks_no_more_calls,
    asks_to_call_later,
    closing,
    corrected,
    has_negation,
    is_question,
    without_negated,
    yes_or_no,
)
from bot.values.choices import choose
from bot.values.dates import parse_date
from bot.values.shares import parse_share

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 10, 12, 0)  # a Monday
VARIABLES: dict[str, dict[str, str]] = {
    "survey": {"name": "Анна", "company": "Ромашка"},
    "offer": {"name": "Анна", "company": "Ромашка", "product": "домашний интернет"},
    "inbound": {"company": "Ромашка"},
    "reminder": {"name": "Анна", "company": "Ромашка", "amount": "10500", "due_date": "2025-03-15"},
    "debt": {"name": "Иван", "company": "Ромашка", "amount": "25000", "due_date": "2025-03-01"},
    "appointment": {
        "name": "Анна",
        "clinic": "Здоровье",
        "slot1": "2025-03-12T10:30",  # Wednesday morning
        "slot2": "2025-03-13T15:00",  # Thursday afternoon
        "slot3": "2025-03-14T09:00",  # Friday morning
    },
}


class Call:
    def __init__(self, catalogue: Catalogue, script: str, lang: str = "ru"):
        self.script = catalogue.get(script)
        self.engine = DialogEngine(self.script)
        self.state = new_state(self.script, lang, VARIABLES[script])
        self.last: TurnResult = self.engine.handle(self.state, TurnInput(kind=InputKind.START), NOW)
        self.state = self.last.state

    def says(self, text: str, intent: str | None, confidence: float = 0.95) -> TurnResult:
        turn = TurnInput(
            kind=InputKind.TEXT, text=text, intent=intent, confidence=confidence if intent else 0
        )
        return self._turn(turn)

    def presses(self, digits: str) -> TurnResult:
        return self._turn(TurnInput(kind=InputKind.DTMF, digits=digits))

    def _turn(self, turn: TurnInput) -> TurnResult:
        self.last = self.engine.handle(self.state, turn, NOW)
        self.state = self.last.state
        return self.last

    @property
    def step(self) -> str | None:
        return self.state.step

    @property
    def outcome(self) -> tuple[str | None, dict[str, Any]]:
        return self.state.outcome, self.state.outcome_data


def at_debt_question(catalogue: Catalogue) -> Call:
    call = Call(catalogue, "debt")
    call.says("да это я", "affirm")
    assert call.step == "state_debt"
    return call


# -- values said inside yes/no answers ------------------------------------------------------------------------


def test_a_promise_heard_as_cant_pay_without_a_negation_is_a_yes_with_its_date(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    result = call.says("смогу оплатить к двадцатому", "cant_pay", 0.88)
    assert result.event is TurnEvent.CONFIRMING  # a guess against the classifier is asked back
    assert result.say == ["Правильно поняла, вы сможете оплатить в ближайшие две недели?"]
    call.says("да", "affirm")
    assert call.step == "ask_promise_amount"  # the date was taken from the first answer, not asked again
    assert call.state.values["promise_date"] == "2025-03-20"


def test_a_real_negation_keeps_cant_pay(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    call.says("не смогу к двадцатому", "cant_pay", 0.9)
    assert call.step == "cant_pay"


def test_yes_with_a_date_fills_the_date_and_skips_its_question(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    result = call.says("да внесу двадцатого", "affirm", 0.95)
    assert call.step == "ask_promise_amount"
    assert call.state.values["promise_date"] == "2025-03-20"
    assert not any("Какого числа" in line for line in result.say)


def test_a_bare_date_at_a_yes_no_question_is_the_yes_that_takes_it(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    assert call.says("ну двадцатого наверное", None).event is TurnEvent.CONFIRMING
    call.presses("1")
    assert call.step == "ask_promise_amount"


def test_reminder_yes_but_later_date_is_a_reschedule(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.says("да но только двадцатого", "affirm")
    assert call.outcome == ("rescheduled", {"date": "2025-03-20"})


def test_reminder_yes_with_a_date_by_the_due_date_is_confirmed(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.says("да оплачу четырнадцатого", "affirm")
    assert call.outcome == ("confirmed", {})


def test_a_past_date_does_not_turn_a_statement_into_a_promise(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.says("я оплатила вчера", "already_paid")
    assert call.outcome == ("already_paid", {})


# -- asking back ----------------------------------------------------------------------------------------------


def test_an_unsure_dispute_is_asked_back_and_a_no_reasks_the_question(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    assert call.says("а что за сумма такая", "dispute", 0.62).event is TurnEvent.CONFIRMING
    result = call.says("нет", "deny")
    assert result.event is TurnEvent.NO_MATCH
    assert call.step == "state_debt" and call.state.pending is None


def test_a_sure_dispute_is_not_asked_back(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    call.says("это не мой долг", "dispute", 0.97)
    assert call.outcome[0] == "dispute"


def test_an_unsure_do_not_call_is_asked_back_then_recorded(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    result = call.says("не звоните", "dont_call", 0.7)
    assert result.say == ["Правильно поняла, вы не хотите, чтобы мы вам звонили?"]
    call.says("да", "affirm")
    assert call.outcome == ("do_not_call", {})


def test_something_else_said_at_the_ask_back_is_heard_afresh(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    call.says("а что за сумма такая", "dispute", 0.62)
    call.says("я уже оплатил", "already_paid", 0.97)
    assert call.outcome == ("already_paid", {})


# -- offered choices ------------------------------------------------------------------------------------------


def at_offered_slots(catalogue: Catalogue, lang: str = "ru") -> Call:
    call = Call(catalogue, "appointment", lang)
    call.says("да", "affirm")
    assert call.step == "offer_slots"
    return call


@pytest.mark.parametrize(
    ("said", "intent", "chosen"),
    [
        ("давайте второе", None, "2025-03-13T15:00"),
        ("в четверг", None, "2025-03-13T15:00"),
        ("в три часа", None, "2025-03-13T15:00"),
        ("который пораньше", None, "2025-03-12T10:30"),
        ("в пятницу утром", None, "2025-03-14T09:00"),
        ("ну давайте четырнадцатого", "affirm", "2025-03-14T09:00"),
        ("нет давайте последнее", "deny", "2025-03-14T09:00"),
        ("после обеда", None, "2025-03-13T15:00"),
    ],
)
def test_an_offered_time_is_chosen_by_what_the_caller_says(
    catalogue: Catalogue, said: str, intent: str | None, chosen: str
) -> None:
    call = at_offered_slots(catalogue)
    call.says(said, intent)
    assert call.step == "confirm_visit"
    call.says("да", "affirm")
    assert call.outcome == ("booked", {"slot": chosen})


def test_an_offered_time_by_key_and_none_fits(catalogue: Catalogue) -> None:
    call = at_offered_slots(catalogue)
    call.presses("3")
    assert call.state.values["visit"] == "2025-03-14T09:00"
    call.says("нет", "deny")
    assert call.step == "offer_slots"
    call.presses("0")
    assert call.step == "none_fits"


def test_an_answer_that_fits_two_offers_is_not_a_choice(catalogue: Catalogue) -> None:
    call = at_offered_slots(catalogue)
    result = call.says("утром", None)  # Wednesday 10:30 and Friday 9:00 are both mornings
    assert result.event is TurnEvent.NO_MATCH


def test_a_time_said_with_the_yes_books_it_at_once(catalogue: Catalogue) -> None:
    call = Call(catalogue, "appointment", "en")
    call.says("yes on thursday please", "affirm")
    assert call.step == "confirm_visit"
    assert call.state.values["visit"] == "2025-03-13T15:00"


OFFERED = [datetime(2025, 3, 12, 10, 30), datetime(2025, 3, 13, 15, 0), datetime(2025, 3, 14, 9, 0)]


@pytest.mark.parametrize(
    ("lang", "said", "index"),
    [
        ("ru", "первое", 0),
        ("ru", "вариант номер три", 2),
        ("ru", "в среду", 0),
        ("ru", "тринадцатого", 1),
        ("ru", "в десять тридцать", 0),
        ("ru", "попозже", 2),
        ("ru", "утром но попозже", 2),
        ("ru", "в субботу", None),
        ("ru", "не знаю", None),
        ("en", "the second one", 1),
        ("en", "the last one", 2),
        ("en", "wednesday", 0),
        ("en", "at three", 1),
        ("en", "the earliest", 0),
        ("en", "in the afternoon", 1),
        ("en", "whatever", None),
    ],
)
def test_choose_among_offered_moments(lang: str, said: str, index: int | None) -> None:
    assert choose(said, lang, OFFERED, date(2025, 3, 10)) == index


def test_choose_among_dates_and_times() -> None:
    days = [date(2025, 3, 11), date(2025, 3, 18)]
    assert choose("во вторник на следующей неделе", "ru", days, date(2025, 3, 10)) is None  # both Tuesdays
    assert choose("восемнадцатого", "ru", days, date(2025, 3, 10)) == 1
    hours = [time(9, 0), time(14, 0)]
    assert choose("в два", "ru", hours, date(2025, 3, 10)) == 1
    assert choose("с утра", "ru", hours, date(2025, 3, 10)) == 0


# -- corrections and negation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "said", "meant"),
    [
        ("ru", "нет то есть да", "да"),
        ("ru", "пятнадцатого ой нет двадцатого", "двадцатого"),
        ("ru", "да вернее нет не смогу", "нет не смогу"),
        ("ru", "да конечно", "да конечно"),
        ("ru", "то есть", "то есть"),
        ("ru", "ой нет подождите", "ой нет подождите"),
        ("ru", "первое нет лучше второе", "второе"),
        ("en", "no i mean yes", "yes"),
        ("en", "friday no wait monday", "monday"),
        ("ru", "ну девять с половиной пусть будет девять", "девять"),
        ("en", "seven no actually eight", "eight"),
        ("en", "yes", "yes"),
    ],
)
def test_self_corrections(lang: str, said: str, meant: str) -> None:
    assert corrected(said, lang) == meant


@pytest.mark.parametrize(
    ("lang", "said", "negated"),
    [
        ("ru", "не смогу", True),
        ("ru", "денег нет", True),
        ("ru", "смогу через неделю", False),
        ("ru", "оплачу в понедельник", False),
        ("en", "i can't pay", True),
        ("en", "i dont think so", True),
        ("en", "i will pay the payment", False),
        ("ru", "заплачу не волнуйтесь", False),
        ("en", "it'll be paid don't worry", False),
    ],
)
def test_negation(lang: str, said: str, negated: bool) -> None:
    assert has_negation(said, lang) is negated


# -- script format --------------------------------------------------------------------------------------------


def test_set_action_and_slot_to_slot_conditions(tmp_path: Path) -> None:
    script = tmp_path / "pick.yml"
    script.write_text(
        """id: pick
title: {ru: Выбор, en: Pick}
languages: [ru]
variables: {due: date}
identity: {ru: Это тест.}
start: ask
steps:
  ask:
    say: {ru: Когда?}
    capture: {slot: when, type: date}
    branch:
      - {if: "when <= {due}", goto: early}
      - goto: late
  early:
    do:
      - {set: kind, to: early}
      - {set: vip, to: true}
      - {set: outcome_data_count, to: 3}
    goto: done
  late:
    do: [{set: kind, to: late}]
    goto: done
  done:
    say: {ru: "Записала."}
    do:
      - set_outcome: completed
        data: {kind: kind}
      - hangup
""",
        encoding="utf-8",
    )
    loaded = load_catalogue(tmp_path, ROOT / "training_data")
    assert loaded.errors == []
    script_model = loaded.get("pick")
    assert script_model.slot_types()["vip"] == "yes_no"
    for said, kind in (("двенадцатого", "early"), ("двадцатого", "late")):
        engine = DialogEngine(script_model)
        state = new_state(script_model, "ru", {"due": "2025-03-15"})
        state = engine.handle(state, TurnInput(kind=InputKind.START), NOW).state
        turn = TurnInput(kind=InputKind.TEXT, text=said, intent=None)
        assert engine.handle(state, turn, NOW).state.outcome_data == {"kind": kind}


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("capture: {slot: pick, type: datetime, options: [slot1, nope]}", "option 'nope' is not a variable"),
        ("capture: {slot: pick, type: date, options: [slot1, slot2]}", "option 'slot1' is a datetime"),
        ("capture: {slot: pick, type: datetime, options: [slot1]}", "name at least two"),
        ("capture: {slot: pick, type: date}\n    branch: [{if: 'pick < {later}', goto: ask}, {goto: ask}]",
         "undefined slot or variable '{later}'"),
        ("do: [{set: pick}]", "set needs a slot name and a constant"),
        ("capture: {slot: pick, type: date, whole: slot1}", "whole works for money and number captures"),
        ("confirm_below: 1.5\n    capture: {slot: pick, type: date}", "less than or equal to 1"),
        ("answers: [{intent: affirm, goto: ask, confirm: {en: Sure?}}]", "missing language variant: ru"),
        ("capture: {slot: pick, type: money, whole: slot1}", "whole needs a money or number variable"),
        ("do: [{hangup: null, to: 3}]", "'to' belongs to a set action"),
    ],
)  # fmt: skip
def test_script_errors_name_file_and_line(tmp_path: Path, fragment: str, message: str) -> None:
    (tmp_path / "bad.yml").write_text(
        f"""id: bad
title: {{ru: Плохой}}
languages: [ru]
variables: {{slot1: datetime, slot2: datetime}}
identity: {{ru: Это тест.}}
start: ask
steps:
  ask:
    say: {{ru: Когда?}}
    {fragment}
    goto: ask
""",
        encoding="utf-8",
    )
    errors = [str(e) for e in load_catalogue(tmp_path, ROOT / "training_data").errors]
    assert any(message in e and re.search(r"bad\.yml:1[01]: ", e) for e in errors), errors


# -- shares of a known amount ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "amount"),
    [("всю сумму", 25000), ("полностью", 25000), ("половину", 12500), ("десять тысяч", 10000)],
)
def test_the_amount_promised_may_be_a_share_of_the_debt(catalogue: Catalogue, said: str, amount: int) -> None:
    call = at_debt_question(catalogue)
    call.says("да внесу завтра", "affirm")
    assert call.step == "ask_promise_amount"
    call.says(said, None)
    assert call.outcome == ("promise_to_pay", {"date": "2025-03-11", "amount": amount})


@pytest.mark.parametrize(
    ("lang", "said", "share"),
    [("ru", "всю", 1), ("ru", "ну половину наверное", 0.5), ("ru", "тысячу", None), ("en", "in full", 1),
     ("en", "half of it", 0.5), ("en", "five hundred", None)],
)  # fmt: skip
def test_parse_share(lang: str, said: str, share: float | None) -> None:
    found = parse_share(said, lang)
    assert (None if found is None else float(found)) == share


# -- negated values and questions back ------------------------------------------------------------------------


def test_an_unheard_refusal_with_a_date_is_no_promise(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.says("ой нет завтра точно не получится", None)  # a plain no in the words, with what cannot be done
    assert call.step == "ask_date" and "promise_date" not in call.state.values


def test_a_refusal_with_the_new_date_fills_it(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.says("нет только двадцатого", "deny")
    assert call.outcome == ("rescheduled", {"date": "2025-03-20"})


@pytest.mark.parametrize(
    ("lang", "said", "intent", "step"),
    [
        ("en", "sure why not", "unsure", "ask_nps"),
        ("en", "go on then", "goodbye", "ask_nps"),
        ("ru", "да интересно спрашивайте", "out_of_scope", "ask_nps"),
        ("en", "not now thanks", "thanks", "declined"),
        ("ru", "нет я сейчас в другом городе", None, "declined"),
        ("ru", "ну не знаю наверное", "unsure", "greet"),  # a hedge is no yes
        ("ru", "да перезвоните попозже", "callback_later", "callback_when"),  # the handler still decides
    ],
)
def test_a_plain_yes_or_no_in_the_words_answers_a_yes_no_question(
    catalogue: Catalogue, lang: str, said: str, intent: str | None, step: str
) -> None:
    call = Call(catalogue, "survey", lang)
    call.says(said, intent, 0.95)
    assert call.step == step


def test_a_negated_date_is_not_taken(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder", "en")
    call.says("no not by tomorrow", "deny")
    assert call.step == "ask_date"  # asked, not filled with tomorrow
    call.says("not on friday but on the nineteenth", None)
    assert call.outcome == ("rescheduled", {"date": "2025-03-19"})


def test_a_question_back_is_not_an_answer(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.says("да", "affirm")
    assert call.says("а что значит от нуля до десяти", None).event is TurnEvent.NO_MATCH
    assert call.says("ну восемь", None).event is TurnEvent.CAPTURED
    assert call.state.values["nps"] == 8


@pytest.mark.parametrize(
    ("said", "people"),
    [("да интересно нас в семье пятеро", 5), ("да на семью из четырёх", 4), ("да я и жена", 2)],
)
def test_collective_numbers_of_people(catalogue: Catalogue, said: str, people: int) -> None:
    call = Call(catalogue, "offer")
    call.says(said, "affirm")
    assert call.state.values["people"] == people
    assert call.outcome[0] == "transferred"


@pytest.mark.parametrize(
    ("lang", "said", "kept"),
    [
        ("ru", "не завтра а в пятницу", "а в пятницу"),
        ("ru", "нет давайте двадцатого", "нет давайте двадцатого"),
        ("ru", "не знаю может в среду", "может в среду"),
        ("ru", "нет не то второе", "нет второе"),
        ("ru", "не позже пятницы", "пятницы"),
        ("en", "not by tomorrow maybe monday", "maybe monday"),
    ],
)
def test_without_negated(lang: str, said: str, kept: str) -> None:
    assert without_negated(said, lang) == kept


@pytest.mark.parametrize(
    ("lang", "said", "question"),
    [
        ("ru", "а сколько там", True),
        ("ru", "ну а что значит от нуля до десяти", True),
        ("ru", "как насчет пятницы", False),
        ("ru", "как только получу числа двадцатого", False),
        ("ru", "ну где-то семь", False),
        ("ru", "восемь", False),
        ("en", "what do you mean", True),
        ("en", "how about friday", False),
    ],
)
def test_is_question(lang: str, said: str, question: bool) -> None:
    assert is_question(said, lang) is question


def test_inverted_period_and_half_past_choices() -> None:
    assert parse_date("да но только дней через десять", "ru", date(2025, 3, 10)) == date(2025, 3, 20)
    offered = [datetime(2025, 3, 17, 9), datetime(2025, 3, 19, 11, 30), datetime(2025, 3, 21, 16)]
    assert choose("в половине двенадцатого", "ru", offered, date(2025, 3, 10)) == 1


@pytest.mark.parametrize(
    ("lang", "said", "meaning"),
    [
        ("ru", "ну наверное да", True),
        ("ru", "нет разумеется", False),
        ("ru", "ну я", True),
        ("ru", "да нет наверное", None),
        ("ru", "ну не знаю наверное да", True),  # the hedge before the last word lets it decide
        ("ru", "не знаю скорее нет", False),
        ("en", "i don't know probably yes", True),
        ("ru", "спасибо но мне ничего не нужно", False),
        ("en", "i suppose so", True),
        ("en", "no problem", True),
        ("en", "maybe yeah", True),
        ("en", "i think not", None),
        ("en", "i dont know", None),
        ("ru", "ой а можно попозже я сейчас на работе", None),  # a later time granted, not a yes
        ("en", "okay but later", None),
        ("ru", "можно", True),
    ],
)
def test_yes_or_no_from_the_words(lang: str, said: str, meaning: bool | None) -> None:
    assert yes_or_no(said, lang) is meaning


def test_an_affirm_whose_words_say_no_is_a_no(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.says("да", "affirm")
    call.says("восемь", None)
    call.says("всё хорошо", None)
    call.says("нет разумеется", "affirm", 0.88)
    assert call.outcome == ("completed", {"nps": 8, "csat": False, "comment": "всё хорошо"})


def test_not_that_one_then_the_choice_at_the_confirmation(catalogue: Catalogue) -> None:
    call = at_offered_slots(catalogue)
    call.says("первое", None)
    call.says("подождите нет не то второе", "deny")
    assert call.step == "confirm_visit" and call.state.values["visit"] == "2025-03-13T15:00"


# -- a yes that answers the next question too, a count said alone, "don't call me" in any words -----------------


def test_a_yes_with_a_promise_at_the_identity_question_answers_the_payment_question_too(
    catalogue: Catalogue,
) -> None:
    call = Call(catalogue, "debt")
    result = call.says("ну да заплачу в четверг", "affirm", 0.84)
    assert any("Звоню по поводу платежа" in line for line in result.say)  # the debt is still stated
    assert call.step == "ask_promise_amount" and call.state.values["promise_date"] == "2025-03-13"
    call.says("полностью", None)
    assert call.outcome == ("promise_to_pay", {"date": "2025-03-13", "amount": 25000})


@pytest.mark.parametrize("said", ["да это я", "да это я но в четверг не смогу"])
def test_a_yes_without_a_value_for_the_next_question_only_answers_this_one(
    catalogue: Catalogue, said: str
) -> None:
    call = Call(catalogue, "debt")
    call.says(said, "affirm")
    assert call.step == "state_debt" and "promise_date" not in call.state.values


@pytest.mark.parametrize(
    ("lang", "said", "intent", "people"),
    [
        ("en", "three people", "out_of_scope", 3),
        ("ru", "нас пятеро", None, 5),
        ("en", "for four of us", "unsure", 4),
    ],
)
def test_a_count_said_alone_at_interested_is_the_yes_and_the_count(
    catalogue: Catalogue, lang: str, said: str, intent: str | None, people: int
) -> None:
    call = Call(catalogue, "offer", lang)
    call.says(said, intent, 0.74)
    assert call.state.values["interested"] is True and call.state.values["people"] == people
    assert call.outcome[0] == "transferred"


@pytest.mark.parametrize(
    ("lang", "said", "intent"),
    [
        ("ru", "два", None),  # the "no" key said aloud
        ("en", "one", None),
        ("en", "not for three people", "out_of_scope"),
        ("en", "how much for three people", "out_of_scope"),
        ("ru", "пятеро", "who_is_calling"),  # an intent that says something else
    ],
)
def test_a_key_negation_question_or_other_intent_with_a_count_is_no_yes(
    catalogue: Catalogue, lang: str, said: str, intent: str | None
) -> None:
    call = Call(catalogue, "offer", lang)
    call.says(said, intent, 0.74)
    assert "interested" not in call.state.values or call.state.values["interested"] is not True
    assert "people" not in call.state.values


@pytest.mark.parametrize(
    ("lang", "said", "heard"),
    [
        ("en", "don't call me with sales offers again", "who_is_calling"),
        ("en", "stop calling this number", "out_of_scope"),
        ("ru", "больше мне не звоните с такими предложениями", "unsure"),
        ("ru", "хватит сюда звонить", None),
    ],
)
def test_asking_outright_not_to_be_called_is_a_do_not_call_asked_back(
    catalogue: Catalogue, lang: str, said: str, heard: str | None
) -> None:
    call = Call(catalogue, "offer", lang)
    assert call.says(said, heard, 0.71).event is TurnEvent.CONFIRMING
    call.says("yes" if lang == "en" else "да", "affirm")
    assert call.outcome[0] == "do_not_call"


@pytest.mark.parametrize(
    ("lang", "said", "asks"),
    [
        ("en", "why dont you call me tomorrow", False),
        ("en", "dont call me now call me back after six", False),
        ("en", "the courier didn't call me", False),
        ("ru", "не звоните мне завтра лучше в пятницу", False),
        ("ru", "курьер мне не звонил", False),
        ("ru", "прошу больше не звонить", True),
        ("en", "please remove my number", True),
    ],
)
def test_asks_no_more_calls(lang: str, said: str, asks: bool) -> None:
    assert asks_no_more_calls(said, lang) is asks


def test_not_being_called_back_in_a_complaint_is_the_complaint(catalogue: Catalogue) -> None:
    call = Call(catalogue, "inbound", "en")
    call.says("i want to complain", "complaint")
    call.says("your courier said dont call me and never came", "out_of_scope")
    assert call.state.values["complaint_text"] == "your courier said dont call me and never came"


@pytest.mark.parametrize(
    ("lang", "said", "heard"),
    [
        ("ru", "всё спасибо", ["thanks", "goodbye"]),
        ("en", "nothing else bye", ["goodbye"]),
        ("en", "no that's all thank you", ["thanks", "goodbye"]),
        ("ru", "спасибо большое", ["thanks"]),
        ("ru", "всё", ["goodbye"]),
        ("ru", "нет", []),  # a plain no is the classifier's
        ("en", "you", []),
        ("ru", "всё понятно а доставка", []),
    ],
)
def test_words_that_only_close_the_call(lang: str, said: str, heard: list[str]) -> None:
    assert closing(said, lang) == heard


def test_closing_words_the_classifier_missed_end_the_call_where_the_step_takes_them(
    catalogue: Catalogue,
) -> None:
    call = Call(catalogue, "inbound")
    call.says("какой у вас адрес", "inbound__faq__address")
    assert call.step == "anything_else"
    call.says("всё спасибо", None)
    assert call.outcome[0] == "completed"


def test_thanks_and_goodbye_at_a_step_that_takes_only_goodbye_is_the_goodbye(catalogue: Catalogue) -> None:
    call = Call(catalogue, "inbound")
    call.says("спасибо большое до свидания", "thanks", 0.82)
    assert call.state.ended and call.step == "goodbye_caller"


def test_yes_its_me_heard_as_a_wrong_person_is_the_yes(catalogue: Catalogue) -> None:
    call = Call(catalogue, "debt")
    call.says("да это я иван петров", "wrong_person", 0.6)
    assert call.step == "state_debt"
    call = Call(catalogue, "debt")
    call.says("нет это его жена", "wrong_person", 0.9)
    assert call.outcome[0] == "wrong_person"


def test_closing_words_are_no_answer_where_the_step_takes_none(catalogue: Catalogue) -> None:
    call = at_debt_question(catalogue)
    call.says("да", "affirm")
    call.says("четырнадцатого", None)
    call.says("всё", None)  # the whole amount, not "that's all"
    assert call.outcome == ("promise_to_pay", {"date": "2025-03-14", "amount": 25000})


@pytest.mark.parametrize(
    ("said", "lang", "transferred"),
    [
        ("вежливые операторы", "ru", False),
        ("долго ждала ответа оператора", "ru", False),
        ("the agent on the phone was rude", "en", False),
        ("соедините с оператором", "ru", True),
        ("оператора", "ru", True),
        ("can i talk to a real person", "en", True),
    ],
)
def test_an_operator_mentioned_in_a_free_text_answer_is_the_answer(
    catalogue: Catalogue, said: str, lang: str, transferred: bool
) -> None:
    call = Call(catalogue, "survey", lang)
    call.says("да" if lang == "ru" else "yes", "affirm")
    call.says("девять" if lang == "ru" else "nine", None)
    assert call.step == "ask_promoter"
    result = call.says(said, "ask_human", 0.92)
    if transferred:
        assert result.event is TurnEvent.CONFIRMING
    else:
        assert call.state.values["comment"] == said


@pytest.mark.parametrize(
    ("lang", "said", "asks"),
    [
        ("en", "i can't talk now call me on friday morning", True),
        ("ru", "сейчас неудобно перезвоните завтра", True),
        ("ru", "позвоните мне через час", True),
        ("en", "who will call me", False),
        ("ru", "не перезванивайте мне больше", False),
        ("en", "stop calling me back", False),
    ],
)
def test_asks_to_call_later(lang: str, said: str, asks: bool) -> None:
    assert asks_to_call_later(said, lang) is asks


def test_a_callback_asked_outright_that_the_classifier_missed_takes_its_time(catalogue: Catalogue) -> None:
    call = Call(catalogue, "offer", "en")
    call.says("i can't talk now call me on friday morning", None)
    assert call.outcome[0] == "callback" and call.outcome[1]["when"].startswith("2025-03-14")
