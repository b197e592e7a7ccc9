"""Redaction of identifiers in a text: each kind in Russian and English, written in digits and said in words,
and what must stay (amounts, dates, times, order numbers, numbers that fail their check digits)."""

from __future__ import annotations

import pytest

from bot.devtools.bench_redact import caller_phrases
from bot.privacy.checksums import inn_valid, luhn_valid, snils_valid
from bot.privacy.redact import Kind, find, redact

CARD = "4276380012345679"  # Luhn-valid
SNILS = "11223344595"
INN_ORG, INN_PERSON = "7707083893", "500100732259"

FOUND = [
    # (kind, lang, text, redacted text)
    (Kind.CARD, "ru", "номер карты 4276 3800 1234 5679", "номер карты [карта •••• 5679]"),
    (Kind.CARD, "ru", "четыре два семь шесть три восемь ноль ноль один два три четыре пять шесть семь девять",
     "[карта •••• 5679]"),
    (Kind.CARD, "ru", "сорок два семьдесят шесть тридцать восемь ноль ноль двенадцать тридцать четыре пятьдесят шесть "
     "семьдесят девять", "[карта •••• 5679]"),
    (Kind.CARD, "en", "my card is 4276-3800-1234-5679", "my card is [card •••• 5679]"),
    (Kind.CARD, "en", "four two seven six three eight double oh one two three four five six seven nine",
     "[card •••• 5679]"),
    (Kind.PASSPORT, "ru", "паспорт серия 4501 номер 123456", "паспорт серия [паспорт]"),
    (Kind.PASSPORT, "ru", "серия сорок пять ноль один номер сто двадцать три четыреста пятьдесят шесть",
     "серия [паспорт]"),
    (Kind.PASSPORT, "en", "passport 4501 123456", "passport [passport]"),
    (Kind.PASSPORT, "en", "my passport is four five oh one one two three four five six", "my passport is [passport]"),
    (Kind.SNILS, "ru", "мой снилс 112-233-445 95", "мой снилс [СНИЛС]"),
    (Kind.SNILS, "ru", "снилс сто двенадцать двести тридцать три четыреста сорок пять девяносто пять", "снилс [СНИЛС]"),
    (Kind.SNILS, "en", "my snils is 11223344595", "my snils is [SNILS]"),
    (Kind.SNILS, "en", "one one two two three three four four five nine five", "[SNILS]"),
    (Kind.INN, "ru", "инн 7707083893", "инн [ИНН]"),
    (Kind.INN, "ru", "инн семьдесят семь ноль семь ноль восемь тридцать восемь девяносто три", "инн [ИНН]"),
    (Kind.INN, "en", "tax number 500100732259", "tax number [INN]"),
    (Kind.INN, "en", "my taxpayer number is five zero zero one zero zero seven three two two five nine",
     "my taxpayer number is [INN]"),
    (Kind.PHONE, "ru", "позвоните на +7 (912) 345-67-89", "позвоните на [телефон •••• 6789]"),
    (Kind.PHONE, "ru", "восемь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять",
     "[телефон •••• 6789]"),
    (Kind.PHONE, "ru", "плюс семь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять",
     "[телефон •••• 6789]"),
    (Kind.PHONE, "en", "call me on +1 415 555 2671", "call me on [phone •••• 2671]"),
    (Kind.PHONE, "en", "my number is plus one four one five five five five two six seven one",
     "my number is [phone •••• 2671]"),
    (Kind.EMAIL, "ru", "пишите на ivan.petrov@mail.ru", "пишите на [эл. почта]"),
    (Kind.EMAIL, "ru", "почта иван точка петров собака мейл точка ру", "почта [эл. почта]"),
    (Kind.EMAIL, "en", "write to john.smith@example.com please", "write to [e-mail] please"),
    (Kind.EMAIL, "en", "mail me at john dot smith at example dot com", "mail me at [e-mail]"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "lang", "text", "expected"), FOUND)
def test_an_identifier_is_masked(kind: Kind, lang: str, text: str, expected: str) -> None:
    redacted = redact(text, lang)
    assert redacted.text == expected
    assert [f.kind for f in redacted.findings] == [kind]


KEPT = [
    ("ru", "заплачу двадцать пять тысяч пятьсот рублей двадцатого декабря"),
    ("ru", "пятнадцать тысяч рублей"),
    ("ru", "двадцать пятого декабря две тысячи двадцать шестого года"),
    ("ru", "в 19:30 12.12.2026 сумма 25 000 рублей"),
    ("ru", "в четырнадцать тридцать"),
    ("ru", "номер заказа 123456"),
    ("ru", "номер заказа сорок пять шестьдесят семь восемьдесят девять"),
    ("ru", "ставлю девять из десяти, нас трое"),
    ("ru", "4276 3800 1234 5670"),  # 16 digits failing Luhn
    ("ru", "1234567890"),  # ten digits: no INN check digit, no phone, no passport mentioned
    ("en", "i will pay two thousand five hundred dollars on the twentieth"),
    ("en", "order number four five six seven eight"),
    ("en", "at half past three on december fifth 2026"),
    ("en", "4111 1111 1111 1112"),
    ("en", "call me at five"),
]


@pytest.mark.parametrize(("lang", "text"), KEPT)
def test_amounts_dates_times_and_short_numbers_stay(lang: str, text: str) -> None:
    assert redact(text, lang).text == text


def test_keyed_digits_are_identifiers_too() -> None:
    assert redact(CARD, "ru").text == "[карта •••• 5679]"
    assert redact(INN_PERSON, "en").text == "[INN]"


def test_a_passport_named_only_by_the_question_before_the_answer() -> None:
    answer = "сорок пять ноль один сто двадцать три четыреста пятьдесят шесть"
    assert redact(answer, "ru", context="Назовите серию и номер паспорта").text == "[паспорт]"
    assert (
        "четыре"
        not in redact("four five oh one one two three four five six", "en", context="Your passport?").text
    )


def test_a_sensitive_value_is_masked_as_text_and_as_digits_said_in_words() -> None:
    assert redact("кодовое слово Ромашка", "ru", secrets=["ромашка"]).text == "кодовое слово [скрыто]"
    assert redact("one two three four", "en", secrets=["1234"]).text == "[hidden]"
    assert redact("один два три четыре", "ru").text == "один два три четыре"


def test_a_log_line_in_either_language_keeps_its_timings() -> None:
    line = "12:03:04.123 INFO call 3f2a turn 4 (text): {'asr_final': 312, 'dialog': 14} heard 'карта 4276380012345679'"
    assert redact(line, None).text == line.replace(CARD, "[card •••• 5679]")
    assert find("звоните 89123456789 или +1 415 555 2671", None)[1].kind is Kind.PHONE


def test_masked_text_is_left_as_it_is() -> None:
    once = redact("карта 4276380012345679, телефон 89123456789", "ru").text
    assert redact(once, "ru").text == once


def test_check_digits() -> None:
    assert luhn_valid(CARD) and not luhn_valid(CARD[:-1] + "0")
    assert snils_valid(SNILS) and not snils_valid("11223344596")
    assert inn_valid(INN_ORG) and inn_valid(INN_PERSON) and not inn_valid("7707083894")


def test_no_caller_phrase_of_the_held_out_conversations_is_masked() -> None:
    """Over 1,200 answers as callers give them (amounts, dates, times, order numbers, counts) hold no identifier."""
    phrases = caller_phrases()
    assert len(phrases) > 1000 and {lang for lang, _ in phrases} == {"ru", "en"}
    assert [(lang, text) for lang, text in phrases if redact(text, lang).text != text] == []
