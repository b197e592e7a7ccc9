"""The turn engine on the shipped scripts: what the robot says and records for each caller turn.

Turns are fed directly as the voice layer and Rasa would give them (intent names, text, DTMF keys, silence,
hang-up), with a fixed clock: Monday 10 March 2025, noon. No Rasa here; the same paths run through the real
Rasa server in the integration tests.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from bot.dialog.action_log import (
    CallbackScheduled,
    CrmEventNamed,
    EngineAction,
    HangupAsked,
    OutcomeSet,
    TransferAsked,
)
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import (
    DialogEngine,
    DialogError,
    DialogState,
    InputKind,
    TurnEvent,
    TurnInput,
    TurnResult,
    new_state,
)
from bot.dialog.model import ValueType
from bot.dialog.render import speak

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 10, 12, 0)  # a Monday

Done = TypeVar("Done", bound=BaseModel)

VARIABLES: dict[str, dict[str, str]] = {
    "reminder": {"name": "Анна", "company": "Ромашка", "amount": "10500", "due_date": "2025-03-15"},
    "survey": {"name": "Анна", "company": "Ромашка"},
    "debt": {"name": "Иван Петров", "company": "Ромашка", "amount": "25000", "due_date": "2025-03-01"},
    "appointment": {
        "name": "Анна",
        "clinic": "Здоровье",
        "slot1": "2025-03-12T10:30",
        "slot2": "2025-03-13T15:00",
        "slot3": "2025-03-14T09:00",
    },
    "inbound": {"company": "Ромашка"},
}


class Call:
    """One simulated call: feeds turns to the engine and keeps the state between them."""

    def __init__(self, catalogue: Catalogue, script: str, lang: str = "ru", **overrides: str):
        self.script = catalogue.get(script)
        self.engine = DialogEngine(self.script)
        self.state: DialogState = new_state(self.script, lang, {**VARIABLES[script], **overrides})
        self.actions: list[EngineAction] = []
        self.last: TurnResult | None = None

    def _turn(self, turn: TurnInput) -> TurnResult:
        self.last = self.engine.handle(self.state, turn, NOW)
        self.state = self.last.state
        self.actions += self.last.actions
        return self.last

    def start(self) -> TurnResult:
        return self._turn(TurnInput(kind=InputKind.START))

    def says(self, text: str = "", intent: str | None = None) -> TurnResult:
        """The caller speaks; `intent` is what Rasa classified (None: nothing above the threshold)."""
        return self._turn(
            TurnInput(kind=InputKind.TEXT, text=text, intent=intent, confidence=0.95 if intent else 0)
        )

    def presses(self, digits: str) -> TurnResult:
        return self._turn(TurnInput(kind=InputKind.DTMF, digits=digits))

    def is_silent(self) -> TurnResult:
        return self._turn(TurnInput(kind=InputKind.SILENCE))

    def hangs_up(self) -> TurnResult:
        return self._turn(TurnInput(kind=InputKind.HANGUP))

    @property
    def step(self) -> str | None:
        return self.state.step

    @property
    def spoken(self) -> str:
        return " ".join(self.last.say)

    @property
    def outcome(self) -> tuple[str | None, dict[str, Any]]:
        return self.state.outcome, self.state.outcome_data

    def did(self, kind: type[Done]) -> list[Done]:
        """The actions of one kind the engine took so far."""
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def ended(self) -> bool:
        return self.state.ended


def ended_with(call: Call, outcome: str, data: dict[str, Any] | None = None) -> bool:
    assert call.ended, f"the call is still at step {call.step}"
    assert call.outcome == (outcome, data or {}), call.actions
    assert len(call.did(OutcomeSet)) == 1, "an outcome is recorded exactly once"
    return True


# -- reminder ---------------------------------------------------------------------------------------------


def test_reminder_opens_with_name_amount_and_date(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    result = call.start()
    assert result.event is TurnEvent.STARTED
    assert call.step == "greet"
    assert call.spoken.startswith("Здравствуйте, Анна! Это автоматический помощник компании Ромашка.")
    assert "пятнадцатого марта нужно внести платёж на сумму десять тысяч пятьсот рублей" in call.spoken
    assert result.listening is not None and result.listening.step == "greet"


def test_reminder_confirmed_by_affirm(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("да конечно", "affirm")
    assert call.spoken == "Спасибо! Ждём платёж до пятнадцатого марта. Всего доброго!"
    assert ended_with(call, "confirmed")
    assert call.did(HangupAsked) and call.last.listening is None


def test_reminder_confirmed_by_dtmf_1(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    assert call.presses("1").event is TurnEvent.ANSWERED
    assert ended_with(call, "confirmed")


def test_reminder_deny_then_a_date_reschedules(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("нет не смогу", "deny")
    assert call.step == "ask_date"
    assert call.says("двадцатого", "out_of_scope").event is TurnEvent.CAPTURED
    assert call.spoken == "Записала, вы оплатите двадцатого марта. Спасибо, всего доброго!"
    assert ended_with(call, "rescheduled", {"date": "2025-03-20"})


def test_reminder_a_date_too_far_is_asked_again(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.presses("2")
    assert call.says("двадцатого мая", None).event is TurnEvent.INVALID
    assert call.step == "ask_date" and not call.ended


def test_reminder_silence_is_reprompted_twice_then_no_answer(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    for _ in range(2):
        assert call.is_silent().event is TurnEvent.SILENCE
        assert call.spoken.startswith(
            "Вы меня слышите? Вы сможете внести десять тысяч пятьсот рублей до пятнадцатого марта?"
        )
        assert call.step == "greet"
    call.is_silent()
    assert call.step == "no_answer"
    assert ended_with(call, "no_answer_from_robot")


def test_reminder_no_match_is_reprompted_twice_then_no_answer(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    assert call.says("какая сегодня погода", "out_of_scope").event is TurnEvent.NO_MATCH
    assert call.spoken.startswith("Извините, я не совсем поняла. Вы сможете внести десять тысяч")
    call.says("ммм", None)
    assert not call.ended
    call.presses("7")
    assert ended_with(call, "no_answer_from_robot")


def test_a_good_answer_resets_the_retry_count(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.is_silent()
    call.is_silent()
    call.says("нет", "deny")
    call.is_silent()
    call.is_silent()
    assert call.step == "ask_date" and not call.ended


def test_who_is_calling_answers_and_resumes_the_step(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    result = call.says("а кто это звонит", "who_is_calling")
    assert result.event is TurnEvent.HANDLED
    assert result.say[0] == "Это автоматический помощник компании Ромашка."
    assert result.say[1].startswith("Вы сможете внести десять тысяч")
    assert call.step == "greet" and call.state.no_match == 0
    call.says("да", "affirm")
    assert ended_with(call, "confirmed")


def test_unsure_counts_as_no_match(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    for _ in range(2):
        call.says("ээ ну не знаю", "unsure")
        assert call.spoken.startswith("Ничего страшного, не торопитесь.")
    call.says("не знаю", "unsure")
    assert ended_with(call, "no_answer_from_robot")


def test_dont_call_records_do_not_call_and_hangs_up(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("больше не звоните мне", "dont_call")
    assert call.spoken == "Хорошо, мы больше не будем вам звонить. Всего доброго!"
    assert ended_with(call, "do_not_call")
    assert call.did(HangupAsked)


def test_callback_later_with_the_time_in_the_same_phrase(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("перезвоните завтра в пять", "callback_later")
    assert call.step == "callback_set"
    assert ended_with(call, "callback", {"when": "2025-03-11T17:00"})
    assert call.did(CallbackScheduled) == [CallbackScheduled(when="2025-03-11T17:00")]
    assert "перезвоним одиннадцатого марта в семнадцать часов" in call.spoken


def test_busy_then_the_time_asked_separately(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("я сейчас занят", "busy")
    assert call.step == "callback_when"
    assert call.spoken == "Когда вам будет удобно, чтобы мы перезвонили?"
    call.says("в среду в десять утра", None)
    assert ended_with(call, "callback", {"when": "2025-03-12T10:00"})


def test_callback_time_not_understood_still_records_a_callback(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("занят", "busy")
    call.says("ну как-нибудь потом", None)
    call.says("не знаю", None)
    assert call.step == "callback_unknown"
    assert ended_with(call, "callback")


def test_ask_human_transfers_to_the_operator_queue(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    call.says("соедините с оператором", "ask_human")
    assert call.did(TransferAsked) == [TransferAsked(queue="support", data={})]
    assert ended_with(call, "transferred")


def test_caller_hang_up_is_abandoned(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder")
    call.start()
    assert call.hangs_up().event is TurnEvent.HANGUP
    assert ended_with(call, "abandoned")
    assert call.says("алло", "greet").event is TurnEvent.IGNORED


def test_reminder_in_english(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder", lang="en")
    call.start()
    assert "a payment of ten thousand five hundred rubles is due on March fifteenth" in call.spoken
    call.says("yes sure", "affirm")
    assert call.spoken == "Thank you! We expect the payment by March fifteenth. Goodbye!"
    assert ended_with(call, "confirmed")


# -- survey -----------------------------------------------------------------------------------------------


def survey_at_nps(catalogue: Catalogue, lang: str = "ru") -> Call:
    call = Call(catalogue, "survey", lang=lang)
    call.start()
    call.says("да давайте", "affirm")
    assert call.step == "ask_nps"
    return call


@pytest.mark.parametrize(
    ("said", "score", "follow_up"),
    [
        ("десять", 10, "ask_promoter"),
        ("девять", 9, "ask_promoter"),
        ("ну наверное восемь", 8, "ask_passive"),
        ("семь", 7, "ask_passive"),
        ("шесть", 6, "ask_detractor"),
        ("ноль", 0, "ask_detractor"),
    ],
)
def test_survey_branches_on_the_nps_score(
    catalogue: Catalogue, said: str, score: int, follow_up: str
) -> None:
    call = survey_at_nps(catalogue)
    assert call.says(said, "out_of_scope").event is TurnEvent.CAPTURED
    assert call.state.values["nps"] == score
    assert call.step == follow_up


@pytest.mark.parametrize(
    ("keys", "follow_up"),
    [("10#", "ask_promoter"), ("9", "ask_promoter"), ("7#", "ask_passive"), ("3", "ask_detractor")],
)
def test_survey_nps_by_dtmf(catalogue: Catalogue, keys: str, follow_up: str) -> None:
    call = survey_at_nps(catalogue)
    assert call.presses(keys).event is TurnEvent.CAPTURED
    assert call.step == follow_up


def test_survey_score_typed_on_the_keypad_is_recorded_as_a_number(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.presses("10#")
    call.says("всё отлично", None)
    call.presses("1")
    assert ended_with(call, "completed", {"nps": 10, "csat": True, "comment": "всё отлично"})


def test_survey_a_star_instead_of_a_score_is_a_no_match(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    assert call.presses("*").event is TurnEvent.NO_MATCH
    assert call.step == "ask_nps"


def test_survey_a_number_in_the_yes_is_not_taken_as_the_score(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.start()
    call.says("да давайте у меня есть пять минут", "affirm")
    assert call.step == "ask_nps"
    assert "nps" not in call.state.values


def test_survey_promoter_path_records_every_answer(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.says("девять", None)
    assert call.spoken == "Спасибо, очень приятно! Что вам понравилось больше всего?"
    call.says("быстрая доставка и вежливый курьер", "out_of_scope")
    assert call.step == "ask_csat"
    call.says("да доволен", "affirm")
    assert ended_with(
        call, "completed", {"nps": 9, "csat": True, "comment": "быстрая доставка и вежливый курьер"}
    )


def test_survey_detractor_path_with_dtmf_csat(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.says("три", None)
    assert call.spoken == "Жаль это слышать. Расскажите, пожалуйста, что пошло не так?"
    call.says("заказ привезли на неделю позже", "complaint")  # free text: a handler does not take it
    call.presses("2")
    assert ended_with(
        call, "completed", {"nps": 3, "csat": False, "comment": "заказ привезли на неделю позже"}
    )


def test_survey_comment_can_be_skipped(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.says("семь", None)
    assert call.spoken == "Спасибо! Что нам сделать, чтобы вы поставили нам десятку?"
    call.says("нет ничего", "deny")
    assert call.step == "ask_csat"
    call.says("да", "affirm")
    assert ended_with(call, "completed", {"nps": 7, "csat": True, "comment": None})


def test_survey_silence_on_the_comment_moves_on(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.says("восемь", None)
    call.is_silent()
    assert call.step == "ask_csat"


def test_survey_out_of_range_score_is_asked_again(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    assert call.says("двенадцать", None).event is TurnEvent.INVALID
    assert call.spoken.startswith("Нужна оценка от нуля до десяти. Оцените, пожалуйста")
    assert call.step == "ask_nps"


def test_survey_dont_call_during_the_free_comment(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue)
    call.says("пять", None)
    # at a free-text question the words may be the comment itself: a do-not-call is asked back first
    assert call.says("не звоните мне больше", "dont_call").event is TurnEvent.CONFIRMING
    call.says("да", "affirm")
    assert ended_with(call, "do_not_call")


def test_survey_declined(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.start()
    call.says("нет некогда", "deny")
    assert ended_with(call, "refused")


def test_survey_in_english(catalogue: Catalogue) -> None:
    call = survey_at_nps(catalogue, lang="en")
    call.says("ten", None)
    assert call.spoken == "Thank you, that's great to hear! What did you like most?"
    call.says("the staff", None)
    call.says("yes", "affirm")
    assert ended_with(call, "completed", {"nps": 10, "csat": True, "comment": "the staff"})


# -- debt -------------------------------------------------------------------------------------------------


def debt_confirmed(catalogue: Catalogue, lang: str = "ru") -> Call:
    call = Call(catalogue, "debt", lang=lang)
    call.start()
    call.says("да это я", "affirm")
    assert call.step == "state_debt"
    return call


def test_debt_is_not_mentioned_before_the_identity_is_confirmed(catalogue: Catalogue) -> None:
    call = Call(catalogue, "debt")
    call.start()
    assert call.spoken == (
        "Здравствуйте! Это автоматический помощник компании Ромашка. Скажите, пожалуйста, это Иван Петров? "
        "Если да, нажмите один, если нет — два."
    )
    call.says("а кто это", "who_is_calling")
    assert "двадцать пять" not in call.spoken and "рубл" not in call.spoken
    call.says("да", "affirm")
    assert (
        "Звоню по поводу платежа двадцати пяти тысяч рублей, срок оплаты которого был первого марта."
        in call.spoken
    )


@pytest.mark.parametrize("turn", [("нет", "deny"), ("вы ошиблись номером", "wrong_person")])
def test_debt_wrong_person(catalogue: Catalogue, turn: tuple[str, str]) -> None:
    call = Call(catalogue, "debt")
    call.start()
    call.says(*turn)
    assert call.spoken == "Извините за беспокойство. Всего доброго!"
    assert ended_with(call, "wrong_person")


def test_debt_promise_to_pay_with_date_and_amount(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.says("да смогу", "affirm")
    assert call.step == "ask_promise_date"
    call.says("двадцатого", None)
    assert call.step == "ask_promise_amount"
    assert call.spoken.startswith(
        "Записала, двадцатое марта. Какую сумму вы внесёте? Полная сумма долга — двадцать пять тысяч рублей."
    )
    call.says("десять тысяч пятьсот", None)
    assert (
        call.spoken == "Спасибо! Записала — десять тысяч пятьсот рублей до двадцатого марта. Всего доброго!"
    )
    assert ended_with(call, "promise_to_pay", {"date": "2025-03-20", "amount": 10500})


def test_debt_promise_date_said_with_the_yes(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.says("да заплачу в пятницу", "affirm")
    assert call.step == "ask_promise_amount"
    assert call.state.values["promise_date"] == "2025-03-14"


def test_debt_promise_date_beyond_two_weeks_is_refused(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("1")
    assert call.says("тридцатого", None).event is TurnEvent.INVALID
    assert call.spoken.startswith("Эта дата не подходит, нужна дата в ближайшие две недели.")
    assert call.step == "ask_promise_date"


def test_debt_promise_amount_below_the_minimum_is_refused(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("1")
    call.says("пятнадцатого", None)
    assert call.says("сто рублей", None).event is TurnEvent.INVALID
    assert call.spoken.startswith("Минимальный платёж — пятьсот рублей.")
    call.says("пять тысяч", None)
    assert ended_with(call, "promise_to_pay", {"date": "2025-03-15", "amount": 5000})


def test_debt_amount_typed_on_the_keypad(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("1")
    call.says("двадцатого", None)
    call.presses("5000#")
    assert ended_with(call, "promise_to_pay", {"date": "2025-03-20", "amount": 5000})


def test_debt_date_and_amount_in_one_answer(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("1")
    call.says("двадцатого заплачу тысячу", None)
    assert ended_with(call, "promise_to_pay", {"date": "2025-03-20", "amount": 1000})


def test_debt_keys_pressed_for_a_date_are_a_no_match(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("1")
    assert call.presses("20").event in (TurnEvent.NO_MATCH, TurnEvent.INVALID)
    assert call.step == "ask_promise_date"


def test_debt_dispute_goes_to_collections(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.says("я ничего не должен это ошибка", "dispute")
    assert call.did(CrmEventNamed) == [
        CrmEventNamed(event="debt.disputed", data={"amount": 25000, "due_date": "2025-03-01"})
    ]
    assert call.did(TransferAsked) == [TransferAsked(queue="collections", data={})]
    assert ended_with(call, "dispute")


def test_debt_already_paid(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.says("я уже оплатил", "already_paid")
    assert ended_with(call, "already_paid")


def test_debt_cant_pay_then_transfer(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.says("мне нечем платить", "cant_pay")
    assert call.step == "cant_pay"
    call.presses("1")
    assert call.did(TransferAsked) == [TransferAsked(queue="collections", data={})]
    assert ended_with(call, "transferred")


def test_debt_cant_pay_then_callback(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue)
    call.presses("2")
    assert call.step == "cant_pay"
    call.says("нет перезвоните в четверг в два часа дня", "deny")
    assert ended_with(call, "callback", {"when": "2025-03-13T14:00"})


def test_debt_in_english(catalogue: Catalogue) -> None:
    call = debt_confirmed(catalogue, lang="en")
    assert "the payment of twenty-five thousand rubles that was due on March first" in call.spoken
    call.says("yes", "affirm")
    call.says("on the twentieth", None)
    call.says("five thousand rubles", None)
    assert ended_with(call, "promise_to_pay", {"date": "2025-03-20", "amount": 5000})


# -- appointment ------------------------------------------------------------------------------------------


def appointment_at_slots(catalogue: Catalogue, lang: str = "ru") -> Call:
    call = Call(catalogue, "appointment", lang=lang)
    call.start()
    call.says("да хочу", "affirm")
    assert call.step == "offer_slots"
    return call


def test_appointment_offers_three_slots(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    assert call.spoken == (
        "Есть три свободных времени. Первое — двенадцатое марта в десять тридцать. "
        "Второе — тринадцатое марта в пятнадцать часов. Третье — четырнадцатое марта в девять часов. "
        "Какое вам удобно? Можно нажать один, два или три."
    )
    assert "второе" in call.last.listening.hints


def test_appointment_choice_by_its_number(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    call.says("давайте второе", None)
    assert call.step == "confirm_visit"
    confirm = call.spoken
    call.says("да", "affirm")
    assert call.spoken.startswith("Готово, ждём вас")
    assert ended_with(call, "booked", {"slot": "2025-03-13T15:00"})
    assert confirm.startswith("Записываю вас на ") and confirm.endswith("Всё верно?")


def test_appointment_choice_by_dtmf(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    call.presses("3")
    assert call.step == "confirm_visit"
    call.presses("1")
    assert ended_with(call, "booked", {"slot": "2025-03-14T09:00"})


def test_appointment_a_wrong_choice_is_corrected(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    call.says("первое", None)
    call.says("нет", "deny")
    assert call.step == "offer_slots"
    call.presses("2")
    call.says("да", "affirm")
    assert ended_with(call, "booked", {"slot": "2025-03-13T15:00"})


def test_appointment_none_fits_then_operator(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    call.says("ни одно не подходит", "appointment__offer_slots__0")
    assert call.step == "none_fits"
    call.says("да соедините", "affirm")
    assert call.did(TransferAsked) == [TransferAsked(queue="reception", data={})]
    assert ended_with(call, "transferred")


def test_appointment_none_fits_then_callback(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue)
    call.presses("0")
    call.presses("2")
    assert ended_with(call, "callback")


def test_appointment_declined(catalogue: Catalogue) -> None:
    call = Call(catalogue, "appointment")
    call.start()
    call.presses("2")
    assert ended_with(call, "refused")


def test_appointment_in_english(catalogue: Catalogue) -> None:
    call = appointment_at_slots(catalogue, lang="en")
    assert (
        "First, March twelfth at ten thirty AM. Second, March thirteenth at three PM. Third, March fourteenth at nine AM."
        in call.spoken
    )
    call.says("the first one", None)
    call.says("yes", "affirm")
    assert ended_with(call, "booked", {"slot": "2025-03-12T10:30"})


# -- inbound ----------------------------------------------------------------------------------------------


def inbound(catalogue: Catalogue, lang: str = "ru") -> Call:
    call = Call(catalogue, "inbound", lang=lang)
    call.start()
    assert call.spoken.startswith(
        "Здравствуйте! Вы позвонили в компанию Ромашка." if lang == "ru" else "Hello!"
    )
    return call


def test_inbound_greets_a_caller_the_crm_knows_by_name(catalogue: Catalogue) -> None:
    call = Call(catalogue, "inbound", name="Анна")
    call.start()
    assert call.spoken.startswith("Здравствуйте, Анна! Вы позвонили в компанию Ромашка.")
    assert call.step == "greet"


def test_an_optional_variable_may_be_missing_or_empty_but_a_required_one_may_not(
    catalogue: Catalogue,
) -> None:
    script = catalogue.get("inbound")
    assert "name" not in new_state(script, "ru", {"company": "Ромашка", "name": ""}).values
    with pytest.raises(DialogError, match=r"needs variable\(s\): company"):
        new_state(script, "ru", {"name": "Анна"})


def test_inbound_order_status_by_voice(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.says("где мой заказ", "order_status")
    assert call.step == "ask_order_number"
    call.says("один два три четыре пять", None)
    assert call.did(TransferAsked) == [TransferAsked(queue="orders", data={"order_number": "12345"})]
    assert ended_with(call, "transferred")


def test_inbound_order_status_by_keypad(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.presses("1")
    call.presses("98765#")
    assert call.did(TransferAsked) == [TransferAsked(queue="orders", data={"order_number": "98765"})]


def test_inbound_faq_is_answered_then_anything_else_is_asked(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    result = call.says("а где вы находитесь", "inbound__faq__address")
    assert result.event is TurnEvent.FAQ
    assert result.say == ["Наш офис находится по адресу улица Ленина, дом десять.", "Чем ещё могу помочь?"]
    assert call.step == "anything_else" and not call.ended


def test_inbound_delivery_then_faq_then_done(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.presses("2")
    assert call.step == "delivery"
    call.says("нет не надо", "deny")
    assert call.spoken == "Чем ещё могу помочь?"
    call.says("как можно оплатить", "inbound__faq__how_to_pay")
    assert call.last.say[0].startswith("Оплатить можно картой")
    assert call.last.say[1].startswith("Чем ещё могу помочь?")
    call.says("нет спасибо", "thanks")
    assert call.spoken == "Спасибо за звонок! Всего доброго!"
    assert ended_with(call, "completed")


def test_inbound_complaint_goes_to_the_crm_and_the_complaints_queue(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.says("хочу пожаловаться", "complaint")
    call.says("курьер нагрубил и опоздал на три часа", "complaint")
    assert call.did(CrmEventNamed) == [
        CrmEventNamed(event="complaint.received", data={"text": "курьер нагрубил и опоздал на три часа"})
    ]
    assert call.did(TransferAsked) == [TransferAsked(queue="complaints", data={})]
    assert ended_with(call, "transferred")


def test_inbound_tech_support(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.says("не работает приложение", "tech_support")
    assert call.did(TransferAsked)[0].queue == "support"


@pytest.mark.parametrize("turn", [("позовите оператора", "ask_human"), None])
def test_inbound_operator(catalogue: Catalogue, turn: tuple[str, str] | None) -> None:
    call = inbound(catalogue)
    call.says(*turn) if turn else call.presses("0")
    assert call.did(TransferAsked) == [TransferAsked(queue="operators", data={})]
    assert ended_with(call, "transferred")


def test_inbound_stuck_caller_goes_to_a_person_after_two_misses(catalogue: Catalogue) -> None:
    call = inbound(catalogue)
    call.says("ээ ну это самое", None)
    assert call.spoken.startswith("Извините, я не совсем поняла.")
    assert not call.ended
    call.says("ну как его", "out_of_scope")
    assert call.did(TransferAsked)[0].queue == "operators"
    assert ended_with(call, "transferred")


def test_inbound_in_english(catalogue: Catalogue) -> None:
    call = inbound(catalogue, lang="en")
    call.says("what are your opening hours", "inbound__faq__opening_hours")
    assert call.last.say[0] == "We are open every day from nine in the morning to nine in the evening."
    call.says("bye", "goodbye")
    assert ended_with(call, "completed")


# -- rendering variables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "lang", "spoken"),
    [
        (1, ValueType.MONEY, "ru", "один рубль"),
        (3, ValueType.MONEY, "ru", "три рубля"),
        (25000, ValueType.MONEY, "ru", "двадцать пять тысяч рублей"),
        (21, ValueType.MONEY, "ru", "двадцать один рубль"),
        (1500.5, ValueType.MONEY, "ru", "тысяча пятьсот рублей пятьдесят копеек"),
        (1, ValueType.MONEY, "en", "one ruble"),
        (25000, ValueType.MONEY, "en", "twenty-five thousand rubles"),
        ("2025-03-01", ValueType.DATE, "ru", "первое марта"),
        ("2025-12-31", ValueType.DATE, "en", "December thirty-first"),
        ("2025-03-12T10:30", ValueType.DATETIME, "ru", "двенадцатое марта в десять тридцать"),
        ("2025-03-13T15:00", ValueType.DATETIME, "en", "March thirteenth at three PM"),
        ("09:05", ValueType.TIME, "ru", "девять ноль пять"),
        (True, ValueType.YES_NO, "ru", "да"),
        (False, ValueType.YES_NO, "en", "no"),
    ],
)
def test_values_are_spoken_per_language(value: Any, kind: ValueType, lang: str, spoken: str) -> None:
    assert speak(value, kind, lang) == spoken


def test_money_in_another_currency() -> None:
    assert speak(5, ValueType.MONEY, "ru", "USD") == "пять долларов"
    assert speak(2, ValueType.MONEY, "en", "EUR") == "two euros"


def test_variables_given_as_text_are_typed(catalogue: Catalogue) -> None:
    call = Call(catalogue, "reminder", amount="10 500,00", due_date=" 2025-03-15 ")
    assert call.state.values["amount"] == 10500
    assert call.state.values["due_date"] == "2025-03-15"


# -- bad variables ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "много"}, "variable 'amount' must be a money"),
        ({"due_date": "15.03.2025"}, "variable 'due_date' must be a date"),
        ({"due_date": ""}, "variable 'due_date' must be a date"),
    ],
)
def test_bad_variables_are_a_dialog_error(
    catalogue: Catalogue, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(DialogError, match=message):
        Call(catalogue, "reminder", **overrides)


def test_a_missing_variable_is_a_dialog_error(catalogue: Catalogue) -> None:
    script = catalogue.get("appointment")
    variables = dict(VARIABLES["appointment"])
    del variables["slot3"]
    with pytest.raises(DialogError, match=r"script 'appointment' needs variable\(s\): slot3"):
        new_state(script, "ru", variables)


def test_a_bad_datetime_slot_is_a_dialog_error(catalogue: Catalogue) -> None:
    with pytest.raises(DialogError, match="variable 'slot2' must be a datetime"):
        Call(catalogue, "appointment", slot2="завтра утром")


def test_an_unknown_language_is_a_dialog_error(catalogue: Catalogue) -> None:
    with pytest.raises(DialogError, match="script 'survey' has no 'de' variant"):
        new_state(catalogue.get("survey"), "de", VARIABLES["survey"])


# -- the voice layer's listening settings -----------------------------------------------------------------


def test_listening_follows_the_step_and_the_defaults(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.start()
    assert call.last.listening.barge_in is True
    assert call.last.listening.silence_timeout == 5
    call.says("да", "affirm")
    assert call.last.listening.step == "ask_nps"
    assert "десять" in call.last.listening.hints


def test_a_steps_end_of_turn_reaches_the_voice_layer(catalogue: Catalogue) -> None:
    call = Call(catalogue, "survey")
    call.start()
    assert call.last.listening.end_of_turn is None  # the call's default (voice.end_of_turn_silence)
    step = call.state.step
    steps = dict(call.script.steps)
    steps[step] = steps[step].model_copy(update={"end_of_turn": 1.5})
    call.engine = DialogEngine(call.script.model_copy(update={"steps": steps}))
    call.state = new_state(call.engine.script, "ru", VARIABLES["survey"])
    call.start()
    assert call.last.listening.step == step and call.last.listening.end_of_turn == 1.5
