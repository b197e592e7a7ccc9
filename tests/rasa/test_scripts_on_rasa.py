"""Every shipped script's main and fallback paths, through the real Rasa server (NLU, tracker, actions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dialog.action_log import CallbackScheduled, HangupAsked, TransferAsked
from tests.rasa.helpers import actions_of, caller_events, converse, robot_lines

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def next_day_of_month(day: int) -> date:
    """The next date (today or later, Moscow time) that falls on `day` of a month."""
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    candidate = today
    while candidate.day != day:
        candidate += timedelta(days=1)
    return candidate


# -- reminder ------------------------------------------------------------------------------------------------


async def test_reminder_confirmed_by_voice(dialog_service):
    record = await converse(dialog_service, "reminder", ["да конечно оплачу"])
    assert record.outcome == "confirmed"
    assert caller_events(record) == [("affirm", "answered")]
    first = robot_lines(record)[0]
    assert "Анна" in first and "десять тысяч пятьсот рублей" in first and "первого декабря" in first


async def test_reminder_confirmed_by_keypad(dialog_service):
    record = await converse(dialog_service, "reminder", ["dtmf:1"])
    assert record.outcome == "confirmed"


async def test_reminder_new_date_agreed(dialog_service):
    record = await converse(dialog_service, "reminder", ["нет не успею", "пятнадцатого"])
    assert record.outcome == "rescheduled"
    expected = next_day_of_month(15).isoformat()
    assert record.slots == {"promise_date": expected}
    assert record.outcome_data == {"date": expected}


async def test_reminder_in_english(dialog_service):
    record = await converse(dialog_service, "reminder", ["yes sure i will pay"], lang="en")
    assert record.outcome == "confirmed"
    assert "ten thousand five hundred rubles" in robot_lines(record)[0]


async def test_reminder_silent_caller_is_reprompted_then_let_go(dialog_service):
    record = await converse(dialog_service, "reminder", [None, None, None])
    assert [event for _, event in caller_events(record)] == ["silence", "silence", "silence"]
    assert record.outcome == "no_answer_from_robot"
    assert actions_of(record, HangupAsked)


async def test_reminder_garbage_is_a_no_match_not_consent(dialog_service):
    record = await converse(dialog_service, "reminder", ["ыва пролдж фыва", "да"])
    assert caller_events(record)[0][1] == "no_match"
    assert record.outcome == "confirmed"


async def test_reminder_hesitation_and_thanks_are_neither_yes_nor_no(dialog_service):
    record = await converse(dialog_service, "reminder", ["ээ ну не знаю", "спасибо", "да"])
    assert caller_events(record)[:2] == [("unsure", "handled"), ("thanks", "handled")]
    assert record.outcome == "confirmed"


async def test_reminder_who_is_calling_then_do_not_call(dialog_service):
    record = await converse(dialog_service, "reminder", ["а кто это звонит", "не звоните мне больше"])
    assert caller_events(record) == [("who_is_calling", "handled"), ("dont_call", "handled")]
    assert "Банк Восток" in robot_lines(record)[1]
    assert record.outcome == "do_not_call"


async def test_reminder_call_me_back_tomorrow_evening(dialog_service):
    record = await converse(dialog_service, "reminder", ["перезвоните мне завтра вечером"])
    assert record.outcome == "callback"
    tomorrow = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=1)
    assert record.outcome_data == {"when": f"{tomorrow.isoformat()}T18:00"}
    assert actions_of(record, CallbackScheduled) == [CallbackScheduled(when=f"{tomorrow}T18:00")]


async def test_reminder_operator_request_is_transferred(dialog_service):
    record = await converse(dialog_service, "reminder", ["соедините меня с оператором"])
    assert record.outcome == "transferred"
    assert actions_of(record, TransferAsked)[0].queue == "support"


async def test_reminder_caller_hangs_up(dialog_service):
    record = await converse(dialog_service, "reminder", [])
    assert record.outcome == "abandoned"


# -- survey --------------------------------------------------------------------------------------------------


async def test_survey_promoter_with_comment(dialog_service):
    record = await converse(dialog_service, "survey", ["да", "девять", "быстрая доставка", "да"])
    assert record.outcome == "completed"
    assert record.outcome_data == {"nps": 9, "csat": True, "comment": "быстрая доставка"}


async def test_survey_detractor_by_keypad(dialog_service):
    record = await converse(dialog_service, "survey", ["dtmf:1", "dtmf:3", "долго везли", "dtmf:2"])
    assert record.outcome_data == {"nps": 3, "csat": False, "comment": "долго везли"}


async def test_survey_declined(dialog_service):
    record = await converse(dialog_service, "survey", ["нет не хочу участвовать"])
    assert record.outcome == "refused"


# -- debt ----------------------------------------------------------------------------------------------------


async def test_debt_promise_to_pay(dialog_service):
    record = await converse(dialog_service, "debt", ["да это я", "да", "послезавтра", "десять тысяч рублей"])
    assert record.outcome == "promise_to_pay"
    promised = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=2)
    assert record.outcome_data == {"date": promised.isoformat(), "amount": 10000}


async def test_debt_date_too_far_is_refused_and_asked_again(dialog_service):
    record = await converse(dialog_service, "debt", ["да", "да", "через месяц"])
    assert caller_events(record)[2][1] == "invalid"
    assert any("две недели" in line for line in robot_lines(record)[-2:])
    assert record.outcome == "abandoned"


async def test_debt_wrong_person_hears_nothing_about_the_debt(dialog_service):
    record = await converse(dialog_service, "debt", ["нет вы ошиблись номером"])
    assert record.outcome == "wrong_person"
    assert not any("25000" in line for line in robot_lines(record))


async def test_debt_dispute_goes_to_collections(dialog_service):
    record = await converse(dialog_service, "debt", ["да", "я не брал никакой кредит это не мой долг"])
    assert record.outcome == "dispute"
    assert actions_of(record, TransferAsked)[0].queue == "collections"


# -- appointment ---------------------------------------------------------------------------------------------


async def test_appointment_second_slot_booked(dialog_service):
    record = await converse(dialog_service, "appointment", ["да хочу", "давайте второе", "да"])
    assert record.outcome == "booked"
    assert record.outcome_data == {"slot": "2026-12-03T15:30"}


async def test_appointment_none_fits_by_keypad(dialog_service):
    record = await converse(dialog_service, "appointment", ["да", "dtmf:0"])
    assert record.outcome in (None, "transferred", "callback", "abandoned")
    assert caller_events(record)[1][1] == "answered"


# -- inbound -------------------------------------------------------------------------------------------------


async def test_inbound_order_status_routed_with_order_number(dialog_service):
    record = await converse(dialog_service, "inbound", ["где мой заказ", "один два три четыре пять"])
    assert actions_of(record, TransferAsked) == [
        TransferAsked(queue="orders", data={"order_number": "12345"})
    ]


async def test_inbound_faq_then_goodbye(dialog_service):
    record = await converse(dialog_service, "inbound", ["какой у вас адрес", "нет спасибо это всё"])
    assert caller_events(record)[0] == ("inbound__faq__address", "faq")
    lines = [(line.speaker, line.text) for line in record.transcript]
    after_question = lines[lines.index(("caller", "какой у вас адрес")) + 1]
    assert after_question[0] == "robot" and "Ленина" in after_question[1], lines


async def test_inbound_stuck_caller_is_handed_off(dialog_service):
    record = await converse(dialog_service, "inbound", ["ыва ждло", "прст фывап"])
    assert record.outcome == "transferred"
