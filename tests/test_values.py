"""Value parsers: what a caller says (as a recogniser writes it) → the typed value a dialog slot stores."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from bot.values import (
    parse_date,
    parse_datetime,
    parse_digits,
    parse_money,
    parse_number,
    parse_rating,
    parse_time,
)

TODAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 18, 12, 0)

GARBAGE = ["", "   ", "ну", "ээ", "мама мыла раму", "абырвалг", "hello", "um", "asdf qwerty", "?!", "не знаю"]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("три", "ru", 3),
        ("ноль", "ru", 0),
        ("двадцать один", "ru", 21),
        ("десять тысяч пятьсот", "ru", 10500),
        ("ну где то три тысячи", "ru", 3000),
        ("миллион двести тысяч", "ru", 1_200_000),
        ("сто двадцать три", "ru", 123),
        ("полторы тысячи", "ru", 1500),
        ("пять с половиной", "ru", 5.5),
        ("две целых пять десятых", "ru", 2.5),
        ("пятый", "ru", 5),
        ("10,5", "ru", 10.5),
        ("10 500", "ru", 10500),
        ("42", "ru", 42),
        ("twenty one", "en", 21),
        ("ten thousand five hundred", "en", 10500),
        ("a hundred", "en", 100),
        ("one hundred and five", "en", 105),
        ("two point five", "en", 2.5),
        ("one and a half thousand", "en", 1500),
        ("10.5", "en", 10.5),
        ("5,000", "en", 5000),
    ],
)
def test_parse_number(text, lang, expected):
    assert parse_number(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("восемь девять", "ru", "89"),
        ("один пять", "ru", "15"),
        ("ноль семь", "ru", "07"),
        ("восемь девятьсот двадцать пять", "ru", "8925"),
        ("ээ восемь ну девять", "ru", "89"),
        ("8 9 1", "ru", "891"),
        ("one two three", "en", "123"),
        ("eight oh five", "en", "805"),
        ("double five", "en", "55"),
        ("triple seven", "en", "777"),
    ],
)
def test_parse_digits(text, lang, expected):
    assert parse_digits(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("десять тысяч пятьсот рублей", "ru", "10500"),
        ("полторы тысячи", "ru", "1500"),
        ("полутора тысяч", "ru", "1500"),
        ("пять с половиной тысяч", "ru", "5500"),
        ("две с половиной тысячи рублей", "ru", "2500"),
        ("тысяча рублей пятьдесят копеек", "ru", "1000.50"),
        ("ну могу заплатить тысяч пять", "ru", "5000"),
        ("пятьсот тысяч", "ru", "500000"),
        ("5000", "ru", "5000"),
        ("10 500 ₽", "ru", "10500"),
        ("50 тысяч", "ru", "50000"),
        ("5 тыс руб", "ru", "5000"),
        ("10 тысяч 500", "ru", "10500"),
        ("2 млн", "ru", "2000000"),
        ("1,5 тысячи", "ru", "1500"),
        ("полторы тысячи двести", "ru", "1700"),
        ("пять тысяч или шесть", "ru", "5000"),
        ("ten thousand five hundred", "en", "10500"),
        ("one and a half thousand", "en", "1500"),
        ("two and a half thousand dollars", "en", "2500"),
        ("fifteen hundred", "en", "1500"),
        ("half a million", "en", "500000"),
        ("five dollars fifty cents", "en", "5.50"),
        ("$5,000", "en", "5000"),
        ("50 thousand", "en", "50000"),
        ("two grand", "en", "2000"),
        ("5k", "en", "5000"),
    ],
)
def test_parse_money(text, lang, expected):
    assert parse_money(text, lang) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("девять", "ru", 9),
        ("на восьмерку", "ru", 8),
        ("ставлю семь из десяти", "ru", 7),
        ("десятка", "ru", 10),
        ("ну на твердую четверку", "ru", 4),
        ("на все десять", "ru", 10),
        ("ноль", "ru", 0),
        ("максимальная оценка", "ru", 10),
        ("7", "ru", 7),
        ("eight", "en", 8),
        ("a solid nine", "en", 9),
        ("eight out of ten", "en", 8),
        ("ten", "en", 10),
        ("full marks", "en", 10),
    ],
)
def test_parse_rating(text, lang, expected):
    assert parse_rating(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "low", "high", "expected"),
    [
        ("одиннадцать", "ru", 0, 10, None),
        ("восемь с половиной", "ru", 0, 10, None),
        ("пятерка", "ru", 1, 5, 5),
        ("на единицу", "ru", 1, 5, 1),
        ("ноль", "ru", 1, 5, None),
        ("шесть", "ru", 1, 5, None),
        ("eleven", "en", 0, 10, None),
        ("four", "en", 1, 5, 4),
    ],
)
def test_parse_rating_checks_the_scale(text, lang, low, high, expected):
    assert parse_rating(text, lang, low, high) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("завтра", "ru", date(2026, 11, 19)),
        ("послезавтра", "ru", date(2026, 11, 20)),
        ("сегодня", "ru", date(2026, 11, 18)),
        ("ну давайте завтра", "ru", date(2026, 11, 19)),
        ("пятнадцатого", "ru", date(2026, 12, 15)),
        ("двадцать первого числа", "ru", date(2026, 11, 21)),
        ("восемнадцатого", "ru", date(2026, 11, 18)),
        ("первого числа", "ru", date(2026, 12, 1)),
        ("тридцать первого", "ru", date(2026, 12, 31)),
        ("15 числа", "ru", date(2026, 12, 15)),
        ("15-го", "ru", date(2026, 12, 15)),
        ("15 декабря", "ru", date(2026, 12, 15)),
        ("пятнадцатого декабря", "ru", date(2026, 12, 15)),
        ("десятого января", "ru", date(2027, 1, 10)),
        ("третьего мая", "ru", date(2027, 5, 3)),
        ("пятнадцатого декабря две тысячи двадцать седьмого года", "ru", date(2027, 12, 15)),
        ("15 декабря 2028 года", "ru", date(2028, 12, 15)),
        ("15.12", "ru", date(2026, 12, 15)),
        ("в пятницу", "ru", date(2026, 11, 20)),
        ("в среду", "ru", date(2026, 11, 25)),
        ("во вторник", "ru", date(2026, 11, 24)),
        ("в субботу в первой половине дня", "ru", date(2026, 11, 21)),
        ("в эту пятницу", "ru", date(2026, 11, 20)),
        ("в следующий понедельник", "ru", date(2026, 11, 23)),
        ("в следующую пятницу", "ru", date(2026, 11, 27)),
        ("через неделю", "ru", date(2026, 11, 25)),
        ("через три дня", "ru", date(2026, 11, 21)),
        ("через пару дней", "ru", date(2026, 11, 20)),
        ("через две недели", "ru", date(2026, 12, 2)),
        ("через месяц", "ru", date(2026, 12, 18)),
        ("tomorrow", "en", date(2026, 11, 19)),
        ("today", "en", date(2026, 11, 18)),
        ("the day after tomorrow", "en", date(2026, 11, 20)),
        ("next monday", "en", date(2026, 11, 23)),
        ("next friday", "en", date(2026, 11, 27)),
        ("on friday", "en", date(2026, 11, 20)),
        ("on the fifteenth", "en", date(2026, 12, 15)),
        ("the 21st", "en", date(2026, 11, 21)),
        ("december 15", "en", date(2026, 12, 15)),
        ("december fifteenth", "en", date(2026, 12, 15)),
        ("the first of december", "en", date(2026, 12, 1)),
        ("15th of january 2028", "en", date(2028, 1, 15)),
        ("december 15 2028", "en", date(2028, 12, 15)),
        ("in three days", "en", date(2026, 11, 21)),
        ("in a week", "en", date(2026, 11, 25)),
        ("in a couple of days", "en", date(2026, 11, 20)),
        ("2026-12-30", "en", date(2026, 12, 30)),
        ("пять", "ru", date(2026, 12, 5)),  # a number alone answers "what date?"
        ("двадцать", "ru", date(2026, 11, 20)),
        ("seven", "en", date(2026, 12, 7)),
    ],
)
def test_parse_date(text, lang, expected):
    assert parse_date(text, lang, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("в среду", "ru", date(2026, 11, 18)),
        ("в пятницу", "ru", date(2026, 11, 20)),
        ("на следующей неделе во вторник", "ru", date(2026, 11, 24)),
        ("в следующую пятницу", "ru", date(2026, 11, 27)),
        ("next week on tuesday", "en", date(2026, 11, 24)),
        ("monday", "en", date(2026, 11, 23)),
    ],
)
def test_parse_date_weekday_said_on_a_monday(text, lang, expected):
    assert parse_date(text, lang, date(2026, 11, 16)) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("в десять", "ru"),
        ("сорок", "ru"),
        ("пять тысяч", "ru"),
        ("в половине третьего", "ru"),
        ("в мае", "ru"),
        ("через", "ru"),
        ("one second", "en"),
    ],
)
def test_parse_date_needs_a_day(text, lang):
    assert parse_date(text, lang, TODAY) is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("в три часа дня", "ru", time(15, 0)),
        ("в десять утра", "ru", time(10, 0)),
        ("в 10:30", "ru", time(10, 30)),
        ("в десять тридцать", "ru", time(10, 30)),
        ("в десять часов тридцать минут", "ru", time(10, 30)),
        ("в пятнадцать ноль ноль", "ru", time(15, 0)),
        ("в десять ноль пять", "ru", time(10, 5)),
        ("в три", "ru", time(15, 0)),
        ("в девять", "ru", time(9, 0)),
        ("в восемь", "ru", time(8, 0)),
        ("в час", "ru", time(13, 0)),
        ("в час ночи", "ru", time(1, 0)),
        ("в семь вечера", "ru", time(19, 0)),
        ("вечером в семь", "ru", time(19, 0)),
        ("в двенадцать ночи", "ru", time(0, 0)),
        ("часов в пять", "ru", time(17, 0)),
        ("к десяти", "ru", time(10, 0)),
        ("в три с половиной", "ru", time(15, 30)),
        ("половина третьего", "ru", time(14, 30)),
        ("полтретьего", "ru", time(14, 30)),
        ("без пятнадцати три", "ru", time(14, 45)),
        ("без четверти пять", "ru", time(16, 45)),
        ("после обеда", "ru", time(14, 0)),
        ("утром", "ru", time(10, 0)),
        ("днем", "ru", time(13, 0)),
        ("вечером", "ru", time(18, 0)),
        ("в полдень", "ru", time(12, 0)),
        ("десять", "ru", time(10, 0)),
        ("at three pm", "en", time(15, 0)),
        ("at 3 p m", "en", time(15, 0)),
        ("at ten am", "en", time(10, 0)),
        ("half past two", "en", time(14, 30)),
        ("quarter to three", "en", time(14, 45)),
        ("quarter past four", "en", time(16, 15)),
        ("twenty past six", "en", time(18, 20)),
        ("three thirty", "en", time(15, 30)),
        ("ten oh five", "en", time(10, 5)),
        ("at five o'clock", "en", time(17, 0)),
        ("at one", "en", time(13, 0)),
        ("at 9 tonight", "en", time(21, 0)),
        ("in the evening", "en", time(18, 0)),
        ("in the morning", "en", time(10, 0)),
        ("after lunch", "en", time(14, 0)),
        ("noon", "en", time(12, 0)),
    ],
)
def test_parse_time(text, lang, expected):
    assert parse_time(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [("через три дня", "ru"), ("на три дня", "ru"), ("через час", "ru"), ("15 декабря", "ru"), ("в 25 часов", "ru"),
     ("доброе утро", "ru"), ("in three days", "en"), ("for two weeks", "en"), ("good morning", "en")],
)  # fmt: skip
def test_parse_time_ignores_numbers_that_are_not_a_time(text, lang):
    assert parse_time(text, lang) is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("завтра после обеда", "ru", datetime(2026, 11, 19, 14, 0)),
        ("в пятницу в десять", "ru", datetime(2026, 11, 20, 10, 0)),
        ("пятнадцатого в три часа дня", "ru", datetime(2026, 12, 15, 15, 0)),
        ("15 декабря в 10:30", "ru", datetime(2026, 12, 15, 10, 30)),
        ("через три дня в десять", "ru", datetime(2026, 11, 21, 10, 0)),
        ("через час", "ru", datetime(2026, 11, 18, 13, 0)),
        ("через полчаса", "ru", datetime(2026, 11, 18, 12, 30)),
        ("через полтора часа", "ru", datetime(2026, 11, 18, 13, 30)),
        ("через час с половиной", "ru", datetime(2026, 11, 18, 13, 30)),
        ("через двадцать минут", "ru", datetime(2026, 11, 18, 12, 20)),
        ("через пару часов", "ru", datetime(2026, 11, 18, 14, 0)),
        ("вечером", "ru", datetime(2026, 11, 18, 18, 0)),
        ("утром", "ru", datetime(2026, 11, 19, 10, 0)),
        ("в три", "ru", datetime(2026, 11, 18, 15, 0)),
        ("в девять", "ru", datetime(2026, 11, 19, 9, 0)),
        ("завтра", "ru", datetime(2026, 11, 19, 10, 0)),
        ("tomorrow afternoon", "en", datetime(2026, 11, 19, 14, 0)),
        ("next monday at ten am", "en", datetime(2026, 11, 23, 10, 0)),
        ("in an hour", "en", datetime(2026, 11, 18, 13, 0)),
        ("in half an hour", "en", datetime(2026, 11, 18, 12, 30)),
        ("in an hour and a half", "en", datetime(2026, 11, 18, 13, 30)),
        ("in twenty minutes", "en", datetime(2026, 11, 18, 12, 20)),
        ("tonight", "en", datetime(2026, 11, 18, 18, 0)),
        ("at nine", "en", datetime(2026, 11, 19, 9, 0)),
        ("on friday", "en", datetime(2026, 11, 20, 10, 0)),
    ],
)
def test_parse_datetime(text, lang, expected):
    assert parse_datetime(text, lang, NOW) == expected


def test_parse_datetime_moves_a_passed_time_of_day_to_tomorrow():
    evening = datetime(2026, 11, 18, 19, 0)
    assert parse_datetime("вечером", "ru", evening) == datetime(2026, 11, 19, 18, 0)
    assert parse_datetime("in the evening", "en", evening) == datetime(2026, 11, 19, 18, 0)


@pytest.mark.parametrize("text", GARBAGE)
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_garbage_gives_none(text, lang):
    assert parse_number(text, lang) is None
    assert parse_digits(text, lang) is None
    assert parse_money(text, lang) is None
    assert parse_rating(text, lang) is None
    assert parse_date(text, lang, TODAY) is None
    assert parse_time(text, lang) is None
    assert parse_datetime(text, lang, NOW) is None
