"""Natural answers through the real Rasa server: values said with a yes, self-corrections, offered times named
by the caller, shares of the debt, and the robot asking back (the caller then says yes, as a caller would to a
right guess)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogState, TurnEvent, new_state
from bot.rasa.conversation import Conversation
from tests.rasa.helpers import VARIABLES, client_for

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


async def talk(
    env: dict[str, str], script_id: str, lines: list[str], lang: str = "ru"
) -> tuple[DialogState, int]:
    """The state at the end of a conversation, and how many times the robot asked back."""
    settings = load_settings(environ=env)
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get(script_id)
    client = client_for(env)
    conversation = Conversation(client, new_state(script, lang, VARIABLES[script_id]))
    asked_back = 0
    try:
        await conversation.start()
        for line in lines:
            assert not conversation.ended, f"the call ended before the caller said {line!r}"
            exchange = await conversation.say(line)
            if exchange.result.event is TurnEvent.CONFIRMING:
                asked_back += 1
                await conversation.say("да" if lang == "ru" else "yes")
        if not conversation.ended:
            await conversation.hangup()
    finally:
        await client.close()
    return conversation.state, asked_back


async def test_a_promise_with_its_date_in_the_yes(dialog_service):
    in_two_days = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=2)
    state, _ = await talk(dialog_service, "debt", ["да это я", "смогу оплатить послезавтра", "всю сумму"])
    assert state.outcome == "promise_to_pay"
    assert state.outcome_data == {"date": in_two_days.isoformat(), "amount": 25000}


async def test_a_promise_a_week_late_with_half_the_debt(dialog_service):
    week = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=7)
    state, _ = await talk(
        dialog_service, "debt", ["да это я", "в срок не смогу заплачу через неделю", "половину"]
    )
    assert state.outcome == "promise_to_pay"
    assert state.outcome_data == {"date": week.isoformat(), "amount": 12500}


async def test_a_self_corrected_yes(dialog_service):
    state, _ = await talk(dialog_service, "reminder", ["нет то есть да конечно заплачу"])
    assert state.outcome == "confirmed"


@pytest.mark.parametrize(
    ("lang", "said", "chosen"),
    [
        ("ru", "мне удобнее в четверг", "2026-12-03T15:30"),
        ("ru", "давайте который пораньше", "2026-12-02T10:00"),
        ("en", "friday morning works for me", "2026-12-04T09:00"),
    ],
)
async def test_an_offered_time_named_by_the_caller(dialog_service, lang, said, chosen):
    yes = "да хочу" if lang == "ru" else "yes i would"
    confirm = "да верно" if lang == "ru" else "yes thats right"
    state, _ = await talk(dialog_service, "appointment", [yes, said, confirm], lang)
    assert state.outcome == "booked"
    assert state.outcome_data == {"slot": chosen}


async def test_a_dispute_at_are_you_ivan_is_the_yes_and_the_dispute(dialog_service):
    state, asked_back = await talk(dialog_service, "debt", ["я у вас ничего не брал и ничего не должен"])
    assert (state.outcome, state.step, asked_back) == ("dispute", "dispute", 0)


async def test_another_scripts_faq_is_never_what_a_script_hears(dialog_service):
    said = "во сколько вы работаете"
    client = client_for(dialog_service)
    try:
        assert (await client.parse(said))["intent"]["name"].startswith("inbound__faq__")
        settings = load_settings(environ=dialog_service)
        script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("reminder")
        conversation = Conversation(client, new_state(script, "ru", VARIABLES["reminder"]))
        await conversation.start()
        exchange = await conversation.say(said)
        await conversation.hangup()
    finally:
        await client.close()
    assert not (exchange.heard.intent or "").startswith("inbound__")
    assert exchange.result.event is TurnEvent.NO_MATCH


async def test_a_yes_with_a_promise_at_are_you_ivan_answers_the_payment_question_too(dialog_service):
    in_two_days = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=2)
    state, _ = await talk(dialog_service, "debt", ["да это я заплачу послезавтра", "полностью"])
    assert state.outcome == "promise_to_pay"
    assert state.outcome_data == {"date": in_two_days.isoformat(), "amount": 25000}


async def test_a_count_said_alone_at_interested_qualifies_the_lead(dialog_service):
    state, _ = await talk(dialog_service, "offer", ["five people"], "en")
    assert state.outcome == "transferred"
    assert state.values["interested"] is True and state.values["people"] == 5


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "please never call me with your offers"), ("ru", "хватит мне названивать со своими тарифами")],
)
async def test_asking_outright_not_to_be_called_is_a_do_not_call(dialog_service, lang, said):
    state, _ = await talk(dialog_service, "offer", [said], lang)
    assert state.outcome == "do_not_call"


async def test_closing_words_end_the_inbound_call(dialog_service):
    state, _ = await talk(dialog_service, "inbound", ["подскажите ваш адрес", "больше ничего спасибо"])
    assert state.outcome == "completed"


async def test_an_operator_praised_in_a_free_text_answer_is_the_answer(dialog_service):
    state, _ = await talk(dialog_service, "survey", ["да", "десять", "очень вежливый оператор"])
    assert state.values["comment"] == "очень вежливый оператор"
    assert state.outcome != "transferred"
