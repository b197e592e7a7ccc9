"""Speech rendering as a specification: every value kind said as words, Russian in the case and gender the sentence
needs, English in its natural form; and the digits an author wrote in a prompt written out with the same rules."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from voice.spoken import (
    Case,
    Gender,
    RenderError,
    normalise_text,
    parse_case,
    say_date,
    say_datetime,
    say_digits,
    say_money,
    say_number,
    say_phone,
    say_time,
)
from voice.spoken.values import say_count

NOM, GEN, DAT, ACC, INS, LOC = Case

NUMBERS = [
    # number, case, gender, Russian
    (0, NOM, "m", "ноль"),
    (1, NOM, "m", "один"),
    (1, NOM, "f", "одна"),
    (1, NOM, "n", "одно"),
    (1, ACC, "f", "одну"),
    (1, GEN, "m", "одного"),
    (2, NOM, "m", "два"),
    (2, NOM, "f", "две"),
    (2, ACC, "m", "два"),
    (2, GEN, "m", "двух"),
    (2, INS, "m", "двумя"),
    (5, NOM, "m", "пять"),
    (5, GEN, "m", "пяти"),
    (5, INS, "m", "пятью"),
    (11, NOM, "m", "одиннадцать"),
    (11, DAT, "m", "одиннадцати"),
    (12, NOM, "m", "двенадцать"),
    (12, GEN, "m", "двенадцати"),
    (21, NOM, "m", "двадцать один"),
    (21, NOM, "f", "двадцать одна"),
    (21, ACC, "f", "двадцать одну"),
    (21, GEN, "m", "двадцати одного"),
    (21, LOC, "m", "двадцати одном"),
    (22, NOM, "f", "двадцать две"),
    (22, DAT, "m", "двадцати двум"),
    (100, NOM, "m", "сто"),
    (100, GEN, "m", "ста"),
    (101, NOM, "m", "сто один"),
    (101, GEN, "m", "ста одного"),
    (1000, NOM, "m", "тысяча"),
    (1000, ACC, "m", "тысячу"),
    (1000, GEN, "m", "тысячи"),
    (1001, NOM, "m", "тысяча один"),
    (1001, NOM, "f", "тысяча одна"),
    (2000, NOM, "m", "две тысячи"),
    (2000, GEN, "m", "двух тысяч"),
    (2000, INS, "m", "двумя тысячами"),
    (5000, NOM, "m", "пять тысяч"),
    (5000, DAT, "m", "пяти тысячам"),
    (21000, NOM, "m", "двадцать одна тысяча"),
    (21000, ACC, "m", "двадцать одну тысячу"),
    (21000, GEN, "m", "двадцати одной тысячи"),
    (1000000, NOM, "m", "миллион"),
    (1000000, GEN, "m", "миллиона"),
    (1000000, NOM, "f", "миллион"),
    (1000001, NOM, "f", "миллион одна"),
    ("2.5", NOM, "m", "две целых пять десятых"),
    ("2.5", GEN, "m", "двух целых пяти десятых"),
    ("1.1", NOM, "m", "одна целая одна десятая"),
]


@pytest.mark.parametrize(("number", "case", "gender", "spoken"), NUMBERS)
def test_russian_numbers(number, case, gender, spoken):
    assert say_number(number, "ru", case, Gender(gender)) == spoken


@pytest.mark.parametrize(
    ("number", "spoken"),
    [(0, "zero"), (1, "one"), (21, "twenty-one"), (101, "one hundred and one"), (10500, "ten thousand five hundred"),
     (21000, "twenty-one thousand"), (1000000, "one million"), ("2.5", "two point five")],
)  # fmt: skip
def test_english_numbers(number, spoken):
    assert say_number(number, "en") == spoken


@pytest.mark.parametrize(
    ("number", "noun", "case", "spoken"),
    [
        (1, "платёж", NOM, "один платёж"),
        (3, "платёж", NOM, "три платежа"),
        (5, "платёж", NOM, "пять платежей"),
        (11, "платёж", NOM, "одиннадцать платежей"),
        (21, "платёж", NOM, "двадцать один платёж"),
        (22, "платежа", GEN, "двадцати двух платежей"),
        (1, "неделя", ACC, "одну неделю"),
        (2, "неделя", GEN, "двух недель"),
        (5, "неделя", DAT, "пяти неделям"),
        (21, "неделя", NOM, "двадцать одна неделя"),
        (2, "место", NOM, "два места"),
        (1, "место", LOC, "одном месте"),
        (12, "день", INS, "двенадцатью днями"),
        (101, "день", NOM, "сто один день"),
        (1000, "рубль", NOM, "тысяча рублей"),
        (21000, "рубль", NOM, "двадцать одна тысяча рублей"),
    ],
)
def test_counts_agree_with_their_noun(number, noun, case, spoken):
    assert say_count(number, noun, "ru", case) == spoken


@pytest.mark.parametrize(
    ("amount", "currency", "case", "ru", "en"),
    [
        (0, "RUB", NOM, "ноль рублей", "zero rubles"),
        (1, "RUB", NOM, "один рубль", "one ruble"),
        (1, "RUB", GEN, "одного рубля", "one ruble"),
        (2, "RUB", NOM, "два рубля", "two rubles"),
        (5, "RUB", NOM, "пять рублей", "five rubles"),
        (11, "RUB", NOM, "одиннадцать рублей", "eleven rubles"),
        (21, "RUB", NOM, "двадцать один рубль", "twenty-one rubles"),
        (22, "RUB", DAT, "двадцати двум рублям", "twenty-two rubles"),
        (100, "RUB", GEN, "ста рублей", "one hundred rubles"),
        (101, "RUB", NOM, "сто один рубль", "one hundred and one rubles"),
        (1000, "RUB", NOM, "тысяча рублей", "one thousand rubles"),
        (1001, "RUB", NOM, "тысяча один рубль", "one thousand and one rubles"),
        (2000, "RUB", NOM, "две тысячи рублей", "two thousand rubles"),
        (5000, "RUB", GEN, "пяти тысяч рублей", "five thousand rubles"),
        (21000, "RUB", NOM, "двадцать одна тысяча рублей", "twenty-one thousand rubles"),
        (21000, "RUB", GEN, "двадцати одной тысячи рублей", "twenty-one thousand rubles"),
        (1000000, "RUB", NOM, "миллион рублей", "one million rubles"),
        ("10500.01", "RUB", NOM, "десять тысяч пятьсот рублей одна копейка",
         "ten thousand five hundred rubles and one kopeck"),
        ("10500.50", "RUB", NOM, "десять тысяч пятьсот рублей пятьдесят копеек",
         "ten thousand five hundred rubles and fifty kopecks"),
        ("10500.99", "RUB", GEN, "десяти тысяч пятисот рублей девяноста девяти копеек",
         "ten thousand five hundred rubles and ninety-nine kopecks"),
        ("0.50", "RUB", NOM, "пятьдесят копеек", "fifty kopecks"),
        (1.5, "RUB", NOM, "один рубль пятьдесят копеек", "one ruble and fifty kopecks"),
        (1, "USD", NOM, "один доллар", "one dollar"),
        (5, "USD", DAT, "пяти долларам", "five dollars"),
        ("21.01", "USD", NOM, "двадцать один доллар один цент", "twenty-one dollars and one cent"),
        (1, "EUR", NOM, "один евро", "one euro"),
        (2, "EUR", GEN, "двух евро", "two euros"),
        (5, "KZT", NOM, "пять тенге", "five tenge"),
        ("21.03", "KZT", DAT, "двадцати одному тенге трём тиынам", "twenty-one tenge and three tiyn"),
    ],
)  # fmt: skip
def test_money(amount, currency, case, ru, en):
    assert say_money(amount, currency, "ru", case) == ru
    assert say_money(amount, currency, "en") == en


DATES = [
    # day, case, Russian
    (date(2026, 12, 1), NOM, "первое декабря"),
    (date(2026, 12, 1), GEN, "первого декабря"),
    (date(2026, 12, 1), DAT, "первому декабря"),
    (date(2026, 12, 1), ACC, "первое декабря"),
    (date(2026, 12, 1), INS, "первым декабря"),
    (date(2026, 12, 1), LOC, "первом декабря"),
    (date(2026, 12, 2), GEN, "второго декабря"),
    (date(2026, 12, 2), LOC, "втором декабря"),
    (date(2026, 12, 3), NOM, "третье декабря"),
    (date(2026, 12, 3), GEN, "третьего декабря"),
    (date(2026, 12, 3), DAT, "третьему декабря"),
    (date(2026, 12, 15), NOM, "пятнадцатое декабря"),
    (date(2026, 12, 15), GEN, "пятнадцатого декабря"),
    (date(2026, 12, 15), ACC, "пятнадцатое декабря"),
    (date(2026, 12, 22), NOM, "двадцать второе декабря"),
    (date(2026, 12, 22), DAT, "двадцать второму декабря"),
    (date(2026, 12, 22), INS, "двадцать вторым декабря"),
    (date(2026, 12, 23), GEN, "двадцать третьего декабря"),
    (date(2026, 12, 23), LOC, "двадцать третьем декабря"),
    (date(2027, 1, 31), NOM, "тридцать первое января"),
    (date(2027, 1, 31), GEN, "тридцать первого января"),
    (date(2027, 1, 31), DAT, "тридцать первому января"),
    (date(2027, 3, 8), GEN, "восьмого марта"),
]


@pytest.mark.parametrize(("day", "case", "spoken"), DATES)
def test_russian_dates_are_ordinals_in_the_case(day, case, spoken):
    assert say_date(day, "ru", case) == spoken


@pytest.mark.parametrize(
    ("day", "spoken"),
    [(date(2026, 12, 1), "December first"), (date(2026, 12, 2), "December second"),
     (date(2026, 12, 3), "December third"), (date(2026, 12, 15), "December fifteenth"),
     (date(2026, 12, 22), "December twenty-second"), (date(2027, 1, 31), "January thirty-first")],
)  # fmt: skip
def test_english_dates(day, spoken):
    assert say_date(day, "en") == spoken


@pytest.mark.parametrize(
    ("moment", "case", "ru", "en"),
    [
        (time(0, 0), NOM, "ноль часов", "twelve AM"),
        (time(1, 0), NOM, "один час", "one AM"),
        (time(2, 0), DAT, "двум часам", "two AM"),
        (time(9, 0), ACC, "девять часов", "nine AM"),
        (time(9, 0), GEN, "девяти часов", "nine AM"),
        (time(9, 5), NOM, "девять ноль пять", "nine oh five AM"),
        (time(12, 0), NOM, "двенадцать часов", "twelve PM"),
        (time(14, 30), ACC, "четырнадцать тридцать", "two thirty PM"),
        (time(14, 30), GEN, "четырнадцати тридцати", "two thirty PM"),
        (time(21, 0), NOM, "двадцать один час", "nine PM"),
        (time(21, 0), GEN, "двадцати одного часа", "nine PM"),
        (time(22, 15), DAT, "двадцати двум пятнадцати", "ten fifteen PM"),
        (time(23, 59), NOM, "двадцать три пятьдесят девять", "eleven fifty-nine PM"),
    ],
)
def test_times(moment, case, ru, en):
    assert say_time(moment, "ru", case) == ru
    assert say_time(moment, "en") == en


def test_datetimes_say_the_date_in_its_case_and_the_time_after_v():
    assert (
        say_datetime(datetime(2026, 12, 22, 14, 30), "ru", DAT)
        == "двадцать второму декабря в четырнадцать тридцать"
    )
    assert say_datetime(datetime(2026, 12, 1, 9, 0), "ru", GEN) == "первого декабря в девять часов"
    assert say_datetime(datetime(2026, 12, 1, 9, 0), "en") == "December first at nine AM"


@pytest.mark.parametrize(
    ("phone", "ru", "en"),
    [
        ("+7 912 345-67-89", "плюс семь, девятьсот двенадцать, триста сорок пять, шестьдесят семь, восемьдесят девять",
         "plus seven, nine one two, three four five, six seven, eight nine"),
        ("8 800 555-35-35", "восемь, восемьсот, пятьсот пятьдесят пять, тридцать пять, тридцать пять",
         "eight, eight zero zero, five five five, three five, three five"),
        ("+7 (495) 100-05-07", "плюс семь, четыреста девяносто пять, сто, ноль пять, ноль семь",
         "plus seven, four nine five, one zero zero, zero five, zero seven"),
        ("123-45-67", "сто двадцать три, сорок пять, шестьдесят семь", "one two three, four five, six seven"),
        ("+1 212 555 0100", "плюс один, двести двенадцать, пятьсот пятьдесят пять, ноль один, ноль ноль",
         "plus one, two one two, five five five, zero one, zero zero"),
    ],
)  # fmt: skip
def test_phone_numbers_are_grouped(phone, ru, en):
    assert say_phone(phone, "ru") == ru
    assert say_phone(phone, "en") == en


def test_digit_strings_are_read_one_by_one():
    assert say_digits("0123", "ru") == "ноль один два три"
    assert say_digits("A-905", "en") == "nine zero five"


RUSSIAN_TEXTS = [
    ("Нажмите 1.", "Нажмите один."),
    ("Если нет — нажмите 2.", "Если нет — нажмите два."),
    ("Нажмите 0, чтобы вернуться.", "Нажмите ноль, чтобы вернуться."),
    ("в течение 2 недель", "в течение двух недель"),
    ("в течение 21 дня", "в течение двадцати одного дня"),
    ("через 2 недели", "через две недели"),
    ("через 1 минуту", "через одну минуту"),
    ("за 5 минут до приезда", "за пять минут до приезда"),
    ("около 3 дней", "около трёх дней"),
    ("у вас 3 платежа", "у вас три платежа"),
    ("у вас 1 платёж", "у вас один платёж"),
    ("осталось 5 платежей", "осталось пять платежей"),
    ("1 неделя", "одна неделя"),
    ("22 недели", "двадцать две недели"),
    ("всего 500 рублей", "всего пятьсот рублей"),
    ("Внесите 21000 рублей.", "Внесите двадцать одну тысячу рублей."),
    ("Осталось внести 1,01 рубля", "Осталось внести один рубль одну копейку"),
    ("о 2000 рублей", "о двух тысячах рублей"),
    ("до 1000 рублей", "до тысячи рублей"),
    ("к 5 часам", "к пяти часам"),
    ("с 9:00 до 18:00", "с девяти часов до восемнадцати часов"),
    ("в 14:30", "в четырнадцать тридцать"),
    ("к 14:30", "к четырнадцати тридцати"),
    ("после 21:00", "после двадцати одного часа"),
    ("до 15 декабря", "до пятнадцатого декабря"),
    ("с 1 декабря", "с первого декабря"),
    ("к 22 декабря", "к двадцать второму декабря"),
    ("о 3 марта", "о третьем марта"),
    ("на 31 января", "на тридцать первое января"),
    ("по 15 декабря", "по пятнадцатое декабря"),
    ("Первое — 15 декабря.", "Первое — пятнадцатое декабря."),
    ("оплатить 1 декабря", "оплатить первого декабря"),
    ("до 15.12", "до пятнадцатого декабря"),
    ("15.12.2026", "пятнадцатое декабря две тысячи двадцать шестого года"),
    ("в 2026 году", "в две тысячи двадцать шестом году"),
    ("скидка 5%", "скидка пять процентов"),
    ("скидка 21%", "скидка двадцать один процент"),
    ("до 2,5%", "до двух целых пяти десятых процента"),
    ("стоимость 1000 ₽", "стоимость тысяча рублей"),
    ("в размере 1500,50 рублей.", "в размере тысячи пятисот рублей пятидесяти копеек."),
    ("1500,5 руб. в месяц", "тысяча пятьсот рублей пятьдесят копеек в месяц"),
    ("Заказ № 01234", "Заказ № ноль один два три четыре"),
    ("номер заказа 123456", "номер заказа один два три четыре пять шесть"),
    ("код 0042", "код ноль ноль четыре два"),
    (
        "Звоните 8 800 555-35-35.",
        "Звоните восемь, восемьсот, пятьсот пятьдесят пять, тридцать пять, тридцать пять.",
    ),
    ("без 2 документов", "без двух документов"),
    ("для 2 человек", "для двух человек"),
    ("о 5 заказах", "о пяти заказах"),
    ("при 1 условии", "при одном условии"),
    ("по 1 рублю", "по одному рублю"),
    ("по 5 рублей", "по пять рублей"),
    ("перед 2 праздниками", "перед двумя праздниками"),
    ("свыше 1000000 рублей", "свыше миллиона рублей"),
    ("в размере 21000 рублей", "в размере двадцати одной тысячи рублей"),
    ("не позднее 3 дней", "не позднее трёх дней"),
    ("1 место", "одно место"),
    ("10 500 рублей", "десять тысяч пятьсот рублей"),
    ("1001 ночь", "тысяча одна ночь"),
    ("11 дней", "одиннадцать дней"),
    ("3 из 5", "три из пяти"),
    ("2-й этаж", "второй этаж"),
    ("с 1-го числа", "с первого числа"),
    ("на 3-м этаже", "на третьем этаже"),
    ("1-я линия", "первая линия"),
    ("к 5-му числу", "к пятому числу"),
    ("на 1-ю линию", "на первую линию"),
    ("в 90-х годах", "в девяностых годах"),
    ("5-й", "пятый"),
    ("2 новых платежа", "два новых платежа"),
    ("0 рублей", "ноль рублей"),
]


ENGLISH_TEXTS = [
    ("Press 1.", "Press one."),
    ("within 2 weeks", "within two weeks"),
    ("by December 15", "by December fifteenth"),
    ("on the 1st", "on the first"),
    ("the 22nd and 23rd", "the twenty-second and twenty-third"),
    ("15 December", "the fifteenth of December"),
    ("at 2:30 PM", "at two thirty PM"),
    ("at 14:30", "at two thirty PM"),
    ("at 9:05 am", "at nine oh five AM"),
    ("$21.50", "twenty-one dollars and fifty cents"),
    ("$10,500 or 1,000,000 rubles", "ten thousand five hundred dollars or one million rubles"),
    ("5% off", "five percent off"),
    ("order number 00123", "order number zero zero one two three"),
    ("in 2026", "in twenty twenty-six"),
    ("2.5 liters", "two point five liters"),
]


@pytest.mark.parametrize(
    ("lang", "text", "spoken"),
    [("ru", *texts) for texts in RUSSIAN_TEXTS] + [("en", *texts) for texts in ENGLISH_TEXTS],
)
def test_digits_in_text(lang, text, spoken):
    assert normalise_text(text, lang) == spoken


def test_case_names_are_english_or_russian_and_unknown_ones_are_named():
    assert parse_case("gen") is parse_case("род") is parse_case("Родительный") is GEN
    assert parse_case("prep") is parse_case("пр") is LOC
    with pytest.raises(ValueError, match="unknown case 'genn': expected one of nom, gen"):
        parse_case("genn")


@pytest.mark.parametrize(
    ("say", "match"),
    [
        (lambda: say_money("lots", "RUB", "ru"), "expected a number, got 'lots'"),
        (lambda: say_money(5, "XYZ", "ru"), "no words for currency 'XYZ'"),
        (lambda: say_phone("call me", "ru"), "expected a phone number"),
        (lambda: say_digits("abc", "ru"), "expected digits"),
        (lambda: say_number("NaN", "ru"), "expected a number"),
    ],
)
def test_values_that_cannot_be_said_raise_a_clear_error(say, match):
    with pytest.raises(RenderError, match=match):
        say()
