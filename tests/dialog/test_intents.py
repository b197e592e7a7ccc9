"""A script reads Rasa's ranking as its own: another script's own intent at the top gives way to the best-ranked
intent this script can use, with that intent's confidence. At a yes/no question the words may say yes, and the
answer to the question a yes leads to answers both. (Fixed clock; the engine is fed turns as Rasa classifies.)"""

from __future__ import annotations

from datetime import datetime

from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogEngine, DialogState, InputKind, TurnEvent, TurnInput, new_state
from bot.dialog.intents import RankedIntent, belongs_elsewhere, own_reading, script_intents, yes_no_override
from bot.rasa.actions import turn_input


def _ranking(*pairs: tuple[str, float]) -> list[RankedIntent]:
    return [RankedIntent(name, confidence) for name, confidence in pairs]


def test_a_script_can_use_its_answers_phrases_faq_and_handlers(catalogue: Catalogue) -> None:
    inbound = script_intents(catalogue.get("inbound"))
    assert "inbound__faq__opening_hours" in inbound
    assert {"ask_human", "dont_call", "who_is_calling", "unsure"} <= inbound  # from _common.yml
    reminder = script_intents(catalogue.get("reminder"))
    assert "affirm" in reminder
    assert not any(name.startswith("inbound__") for name in reminder)


def test_only_another_scripts_own_intents_belong_elsewhere(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    assert belongs_elsewhere("inbound__faq__opening_hours", reminder)
    assert belongs_elsewhere("debt__greet__1", reminder)
    assert not belongs_elsewhere("reminder__greet__2", reminder)
    assert not belongs_elsewhere(
        "order_status", reminder
    )  # a shared intent, even if reminder does not use it


def test_another_scripts_faq_gives_way_to_the_best_ranked_usable_intent(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    ranking = _ranking(
        ("inbound__faq__opening_hours", 0.48),
        ("debt__greet__1", 0.23),
        ("who_is_calling", 0.22),
        ("affirm", 0.05),
    )
    reading = own_reading(reminder, script_intents(reminder), ranking[0], ranking)
    assert reading == RankedIntent("who_is_calling", 0.22)  # its own confidence, not the top's


def test_a_top_intent_the_script_owns_or_shares_is_kept(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    usable = script_intents(reminder)
    ranking = _ranking(("order_status", 0.8), ("affirm", 0.1))
    assert own_reading(reminder, usable, ranking[0], ranking) == ranking[0]
    fallback = RankedIntent("nlu_fallback", 0.6)
    ranking = _ranking(("nlu_fallback", 0.6), ("inbound__faq__opening_hours", 0.5), ("affirm", 0.3))
    assert own_reading(reminder, usable, fallback, ranking) == fallback


def test_a_ranking_without_a_usable_intent_is_a_fallback(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    usable = script_intents(reminder)
    ranking = _ranking(("inbound__faq__opening_hours", 0.9), ("debt__greet__1", 0.1))
    assert own_reading(reminder, usable, ranking[0], ranking) == RankedIntent("nlu_fallback", 0.0)
    ranking = _ranking(("inbound__faq__how_to_pay", 0.85), ("busy", 0.11), ("affirm", 0.01))  # noise
    assert own_reading(reminder, usable, ranking[0], ranking) == RankedIntent("nlu_fallback", 0.0)


def test_the_action_server_hears_the_scripts_own_reading(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    latest = {
        "text": "а кто это говорит",
        "intent": {"name": "inbound__faq__opening_hours", "confidence": 0.66},
        "intent_ranking": [
            {"name": "inbound__faq__opening_hours", "confidence": 0.66},
            {"name": "who_is_calling", "confidence": 0.3},
        ],
        "entities": [],
    }
    heard = turn_input(latest, reminder, script_intents(reminder))
    assert (heard.kind, heard.intent, heard.confidence) == (InputKind.TEXT, "who_is_calling", 0.3)
    inbound = catalogue.get("inbound")
    heard = turn_input(latest, inbound, script_intents(inbound))
    assert (heard.intent, heard.confidence) == ("inbound__faq__opening_hours", 0.66)


NOW = datetime(2025, 3, 10, 12, 0)
DEBT = {"name": "Иван", "company": "Ромашка", "amount": "25000", "due_date": "2025-03-01"}
APPOINTMENT = {
    "name": "Анна",
    "clinic": "Здоровье",
    "slot1": "2025-03-12T10:30",
    "slot2": "2025-03-13T15:00",
    "slot3": "2025-03-14T09:00",
}


def _call(catalogue: Catalogue, script: str, variables: dict[str, str]) -> tuple[DialogEngine, DialogState]:
    engine = DialogEngine(catalogue.get(script))
    state = new_state(engine.script, "ru", variables)
    return engine, engine.handle(state, TurnInput(kind=InputKind.START), NOW).state


def _says(engine: DialogEngine, state: DialogState, text: str, intent: str, confidence: float = 0.95):
    return engine.handle(
        state, TurnInput(kind=InputKind.TEXT, text=text, intent=intent, confidence=confidence), NOW
    )


def test_a_dispute_at_are_you_ivan_is_a_yes_and_the_dispute(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "debt", DEBT)
    result = _says(engine, state, "какой долг я ничего у вас не оформлял", "dispute", 0.97)
    assert result.event is TurnEvent.ANSWERED
    assert (result.state.outcome, result.state.step) == ("dispute", "dispute")
    assert any("Звоню по поводу платежа" in said for said in result.say)  # the debt is named once confirmed


def test_cant_pay_at_are_you_ivan_goes_on_to_the_instalment_offer(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "debt", DEBT)
    result = _says(engine, state, "у меня сейчас совсем нет денег", "cant_pay")
    assert result.state.step == "cant_pay"


def test_a_promise_with_its_day_at_are_you_ivan_fills_the_day(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "debt", DEBT)
    result = _says(
        engine, state, "я сейчас без денег но во вторник получу зарплату и заплачу", "reschedule", 0.9
    )
    assert result.state.step == "ask_promise_amount"
    assert str(result.state.values["promise_date"]) == "2025-03-11"


def test_an_intent_no_following_step_takes_is_still_not_understood(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "debt", DEBT)
    assert _says(engine, state, "где мой заказ", "order_status").event is TurnEvent.NO_MATCH
    assert _says(engine, state, "ну", "unsure").state.step == "identify"


def test_a_yes_heard_as_do_not_call_without_refusing_calls_is_a_yes(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "appointment", APPOINTMENT)
    result = _says(engine, state, "да я как раз собиралась вам звонить", "dont_call")
    assert result.state.step == "offer_slots"
    assert result.state.outcome is None


def test_a_do_not_call_that_refuses_calls_is_kept(catalogue: Catalogue) -> None:
    engine, state = _call(catalogue, "appointment", APPOINTMENT)
    result = _says(engine, state, "да хватит мне звонить", "dont_call")
    assert result.state.outcome == "do_not_call"


def test_words_that_negate_without_a_yes_are_no_yes(catalogue: Catalogue) -> None:
    debt = catalogue.get("debt")
    assert yes_no_override(debt, "affirm", "i really can't right now", "en", True) == "nlu_fallback"
    assert yes_no_override(debt, "affirm", "я не против", "ru", True) is None  # a yes said with a "не"
    assert yes_no_override(debt, "affirm", "yep it'll be paid don't worry", "en", True) is None


def test_there_is_no_such_person_here_is_a_wrong_person(catalogue: Catalogue) -> None:
    reminder = catalogue.get("reminder")
    for said, lang in [
        ("there's no ann here", "en"),
        ("нет тут никакой анны", "ru"),
        ("здесь такой не живёт", "ru"),
    ]:
        assert yes_no_override(reminder, "affirm", said, lang, True) == "wrong_person", said
    assert yes_no_override(reminder, "affirm", "yes there is no problem here", "en", True) is None
