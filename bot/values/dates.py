"""Spoken dates → `datetime.date`, relative to today: "завтра", "пятнадцатого", "в следующий понедельник", "через
неделю", "december 15".

A day of month without a month is its next occurrence (today or later); a day and month without a year is the next
such date. A weekday is its next occurrence after today; "next"/"следующий" weekday is that day of next calendar week.
Explicit calendar dates the rules below do not know ("2026-12-15", "15/12/2026") are left to `dateparser`.
"""

import calendar
import re
from datetime import date, datetime, timedelta

import dateparser

from bot.values.numbers import Ordinal, Token, normalise, tokens

_RELATIVE_DAYS = {
    "ru": [(("сегодня",), 0), (("послезавтра",), 2), (("завтра",), 1)],
    "en": [(("today",), 0), (("day", "after", "tomorrow"), 2), (("tomorrow",), 1)],
}
_WEEKDAYS = {
    "ru": [
        {"понедельник", "понедельника"}, {"вторник", "вторника"}, {"среда", "среду", "среды"},
        {"четверг", "четверга"}, {"пятница", "пятницу", "пятницы"}, {"суббота", "субботу", "субботы"},
        {"воскресенье", "воскресенья"},
    ],
    "en": [{"monday"}, {"tuesday"}, {"wednesday"}, {"thursday"}, {"friday"}, {"saturday"}, {"sunday"}],
}  # fmt: skip
_NEXT_WEEK = {"ru": {"следующий", "следующую", "следующее", "следующей"}, "en": {"next"}}
_NEXT_WEEK_PHRASE = {"ru": ("следующей", "неделе"), "en": ("next", "week")}
_MONTHS = {
    "ru": ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"],
    "en": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"],
}  # fmt: skip
_RU_MONTH_ENDINGS = ("", "ь", "я", "е", "а", "й")
_AFTER = {"ru": {"через"}, "en": {"in"}}
# "дней через десять", "числа через три": about that many days
_UNITS = {
    "ru": [("дн", 1), ("день", 1), ("сутк", 1), ("числ", 1), ("недел", 7), ("месяц", 30)],
    "en": [("day", 1), ("week", 7), ("fortnight", 14), ("month", 30)],
}
_A_FEW = {"ru": {"пару": 2, "пара": 2}, "en": {"a": 1, "an": 1, "couple": 2}}
_DAY_WORDS = {"ru": {"числа", "число"}, "en": set()}


def parse_date(text: str, lang: str, today: date) -> date | None:
    """The date said, relative to `today` ("пятнадцатого" → the next 15th, "next monday"), or None."""
    toks = tokens(text, lang)
    words = [str(t) for t in toks]
    for finder in (_numeric_date, _relative_day, _after_period, _day_of_month, _weekday, _period):
        found = finder(toks, words, lang, today, normalise(text))
        if found:
            return found
    return _dateparser_fallback(text, lang, today)


def _numeric_date(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    """ "15.12", "15.12.2026" (day first, both languages)."""
    match = re.search(r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?(?![\d.])", norm)
    if not match:
        return None
    day, month = int(match[1]), int(match[2])
    return _resolve(day, month, int(match[3]) if match[3] else None, today)


def _has(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def _relative_day(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    for phrase, days in _RELATIVE_DAYS[lang]:
        if _has(words, phrase):
            return today + timedelta(days=days)
    return None


def _after_period(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    """ "через три дня", "через неделю", "in two weeks", "in a couple of days"."""
    for i, word in enumerate(words):
        if word not in _AFTER[lang]:
            continue
        count = 1
        for tok in toks[i + 1 : i + 5]:
            if isinstance(tok, int | float) and not isinstance(tok, Ordinal):
                count = tok
            elif tok in _A_FEW[lang]:
                count = _A_FEW[lang][tok]
            elif tok != "of":
                unit = next((days for stem, days in _UNITS[lang] if str(tok).startswith(stem)), None)
                if unit is None and i and count != 1:  # "дней через десять": about ten days
                    unit = next((days for stem, days in _UNITS[lang] if words[i - 1].startswith(stem)), None)
                if unit == 30:
                    return _add_months(today, int(count))
                return today + timedelta(days=count * unit) if unit else None
        if lang == "ru" and i and count != 1:
            unit = next((days for stem, days in _UNITS[lang] if words[i - 1].startswith(stem)), None)
            if unit:
                return today + timedelta(days=count * unit)
    return None


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month(word: Token, lang: str) -> int | None:
    if not isinstance(word, str):
        return None
    for number, stem in enumerate(_MONTHS[lang], start=1):
        if lang == "en" and word == stem:
            return number
        if lang == "ru" and word.startswith(stem) and word[len(stem) :] in _RU_MONTH_ENDINGS and word != "ма":
            return number
    return None


def _day_of_month(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    """ "пятнадцатого", "15 декабря", "двадцать первого числа", "december fifteenth", "the 15th of december", and
    a number said alone ("пять", "15")."""
    for i, tok in enumerate(toks):
        if not isinstance(tok, int) or not 1 <= tok <= 31:
            continue
        before = toks[i - 1] if i else None
        after = [t for t in toks[i + 1 :] if t not in ("of", "the")]
        month = _month(after[0], lang) if after else None
        year = _year(after[1:]) if month else None
        if month is None and lang == "en" and (month := _month(before, lang)):
            year = _year(after)
        if month is None:
            said_day = after and after[0] in _DAY_WORDS[lang]
            ordinal_day = isinstance(tok, Ordinal) and _ordinal_is_a_day(before, after[:1], len(toks), lang)
            # the whole answer to "what date?" is "пять": recognisers drop the ordinal ending
            lone_number = len(toks) == 1
            if not (said_day or ordinal_day or lone_number):
                continue
        return _resolve(tok, month, year, today)
    return None


def _year(rest: list[Token]) -> int | None:
    """A year said after the month: "2027", "две тысячи двадцать седьмого года"."""
    if not rest or not isinstance(rest[0], int):
        return None
    year = rest[0] + (rest[1] if rest[0] == 2000 and len(rest) > 1 and isinstance(rest[1], Ordinal) else 0)
    return year if 2000 <= year <= 2100 else None


def _ordinal_is_a_day(before: Token | None, after: list[Token], count: int, lang: str) -> bool:
    """An ordinal alone is a day of month, unless it tells the hour ("половина третьего", "во второй половине дня")
    or is a bare English word ("one second")."""
    if after and str(after[0]).startswith(("половин", "half")):
        return False
    if lang == "ru":
        return before not in ("половина", "половине", "пол", "четверть", "четверти")
    return before in ("the", "on") or count == 1


def _resolve(day: int, month: int | None, year: int | None, today: date) -> date | None:
    """The next date (today or later) with this day (and month), unless the year is said."""
    if year and month:
        return _safe_date(year, month, day)
    if month:
        this_year = _safe_date(today.year, month, day)
        return this_year if this_year and this_year >= today else _safe_date(today.year + 1, month, day)
    for months_ahead in range(12):
        first = _add_months(today.replace(day=1), months_ahead)
        candidate = _safe_date(first.year, first.month, day)
        if candidate and candidate >= today:
            return candidate
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _weekday(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    """ "в пятницу" → the next Friday after today; "в следующий понедельник", "next week on monday" → Monday of
    next calendar week."""
    for i, word in enumerate(words):
        for weekday, names in enumerate(_WEEKDAYS[lang]):
            if word not in names:
                continue
            if (i and words[i - 1] in _NEXT_WEEK[lang]) or _has(words, _NEXT_WEEK_PHRASE[lang]):
                next_monday = today + timedelta(days=7 - today.weekday())
                return next_monday + timedelta(days=weekday)
            return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return None


_PERIODS = {
    "ru": [
        (("следующей", "неделе"), "next_week"), (("той", "неделе"), "next_week"),
        (("конце", "недели"), "week_end"), (("концу", "недели"), "week_end"),
        (("конце", "месяца"), "month_end"), (("концу", "месяца"), "month_end"),
        (("начале", "месяца"), "month_start"), (("начале", "следующего", "месяца"), "month_start"),
        (("следующем", "месяце"), "month_start"),
    ],
    "en": [
        (("next", "week"), "next_week"), (("end", "of", "the", "week"), "week_end"),
        (("end", "of", "the", "month"), "month_end"), (("next", "month"), "month_start"),
        (("beginning", "of", "the", "month"), "month_start"), (("start", "of", "next", "month"), "month_start"),
    ],
}  # fmt: skip


def _period(toks: list[Token], words: list[str], lang: str, today: date, norm: str) -> date | None:
    """ "на следующей неделе" → next Monday, "в конце недели" → Friday, "в конце месяца" → its last day, "в
    начале месяца" / "next month" → the 1st of next month (the day a callback or a promise counts from)."""
    for phrase, period in _PERIODS[lang]:
        if not _has(words, phrase):
            continue
        match period:
            case "next_week":
                return today + timedelta(days=7 - today.weekday())
            case "week_end":
                return today + timedelta(days=(4 - today.weekday()) % 7)
            case "month_end":
                return today.replace(day=calendar.monthrange(today.year, today.month)[1])
            case "month_start":
                return _add_months(today.replace(day=1), 1)
    return None


def _dateparser_fallback(text: str, lang: str, today: date) -> date | None:
    """Explicit calendar dates only (a year or a numeric date is said), through `dateparser`."""
    if not re.search(r"\d{4}|\d{1,2}[/-]\d{1,2}", text):
        return None
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": datetime.combine(today, datetime.min.time())}
    found = dateparser.parse(text, languages=[lang], settings=settings)
    return found.date() if found else None
