"""Digits left in a text (written by a script author, a CRM field, a configured message) as spoken words.

Russian numbers take their case from the preposition before them and from the noun after them as written
("в течение 2 недель" → "в течение двух недель", "3 платежа" → "три платежа"), their gender from that noun
("1 неделя" → "одна неделя"); "15 декабря" and "15.12" are dates, "14:30" a time, "+7 912 345-67-89" a phone
number, "№ 0123" or a number with leading zeros a digit string. A key to press is a plain number: "нажмите 1"
→ "нажмите один".
"""

from __future__ import annotations

import re
from datetime import date, time

from babel.dates import get_month_names

from voice.spoken import russian
from voice.spoken.context import date_case, number_case
from voice.spoken.grammar import Case, Gender, preposition_case
from voice.spoken.values import english, say_date, say_digits, say_money, say_number, say_phone, say_time

_TOKEN = re.compile(
    r"(?P<phone>\+\d[\d\s()\-]{8,}\d|(?<!\d)8[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d))"
    r"|(?P<time>(?<![\d:])(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(?![\d:])"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?)"
    r"|(?P<ordinal>(?<![\d.,])(?P<ordinal_number>\d+)-(?P<ending>[а-я]{1,3})(?![а-яё]))"
    r"|(?P<date>(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{2})(?:\.(?P<year>\d{4}))?(?![\d.]))"
    r"|(?P<dollar>\$\s?)?(?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+)"
    r"(?:[.,](?P<fraction>\d+))?(?P<suffix>st|nd|rd|th)?(?P<sign>\s?(?:%|₽|\$|€))?",
    re.IGNORECASE,
)
_ENGLISH_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NEXT_WORD = re.compile(r"\s+([а-яёa-z]+)", re.IGNORECASE)
_DIGIT_STRING_CUES = re.compile(
    r"(?:№|#|\bномер\w*|\bкод\w*|\bзаказ\w*|\bдоговор\w*|\bсч[её]т\w*|\bnumber|\border|\bcode|\bno\.)\s*$",
    re.I,
)
_CURRENCY_NOUNS = {"рубл": "RUB", "руб": "RUB", "доллар": "USD", "евро": "EUR", "тенге": "KZT"}
_YEAR_CUES = re.compile(r"\b(?:in|since|until|from|of|by|year)\s+$", re.IGNORECASE)
_MONTHS = {
    lang: {name.lower(): number for number, name in get_month_names("wide", locale=lang).items()}
    for lang in ("ru", "en")
}
NOM, GEN, DAT, ACC, INS, LOC = Case
MASC, FEM, NEUT = Gender
# What a written ordinal ending says when no noun follows: "1-й", "2-го", "3-я", "5-х".
_ORDINAL_ENDINGS = {
    **dict.fromkeys(("й", "ый", "ий", "ой"), (NOM, MASC, False)),
    **dict.fromkeys(("я", "ая"), (NOM, FEM, False)),
    **dict.fromkeys(("е", "ое"), (NOM, NEUT, False)),
    **dict.fromkeys(("го", "ого", "его"), (GEN, MASC, False)),
    **dict.fromkeys(("му", "ому", "ему"), (DAT, MASC, False)),
    **dict.fromkeys(("м", "ом", "ем"), (LOC, MASC, False)),
    "ым": (INS, MASC, False),
    **dict.fromkeys(("ю", "ую"), (ACC, FEM, False)),
    **dict.fromkeys(("х", "ых", "их"), (GEN, MASC, True)),
    **dict.fromkeys(("ми", "ыми"), (INS, MASC, True)),
}
_SIGN_NOUNS = {"%": ("процент", "percent"), "₽": ("рубль", "rubles"), "€": ("евро", "euros")}
_SIGN_CURRENCIES = {"₽": "RUB", "$": "USD", "€": "EUR"}


def normalise_text(text: str, lang: str) -> str:
    """`text` with every number, date, time and phone number written out as words in `lang`."""
    if not re.search(r"\d", text):
        return text
    if lang != "ru":
        text = _ENGLISH_THOUSANDS.sub("", text)  # "$10,500" is ten thousand five hundred
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(text[position : match.start()])
        before = "".join(out)
        after = text[match.end() :]
        spoken, consumed = _speak(match, before, after, lang)
        out.append(spoken)
        position = match.end() + consumed
    out.append(text[position:])
    return "".join(out)


def _speak(match: re.Match, before: str, after: str, lang: str) -> tuple[str, int]:
    """The words for one token and how many characters of `after` they used (the currency noun that money
    written with a decimal comma takes along: "1500,50 рублей")."""
    ru = lang == "ru"
    if match["phone"]:
        return say_phone(match["phone"], lang), 0
    if match["time"]:
        hour = int(match["hour"])
        if (match["ampm"] or "").lower().startswith("p") and hour < 12:
            hour += 12
        elif (match["ampm"] or "").lower().startswith("a") and hour == 12:
            hour = 0
        return say_time(time(hour, int(match["minute"])), lang, _case(before, ru, default=Case.NOM)), 0
    if match["ordinal"]:
        return _russian_ordinal(int(match["ordinal_number"]), match["ending"], after), 0
    if match["date"] and ru:
        return _numeric_date(match, before, lang), 0
    if match["date"]:  # "2.50" in English is a decimal number
        return say_number(match["date"], lang), 0
    number_text = re.sub(r"\s", "", match["number"])
    sign = (match["sign"] or "").strip() or ("$" if match["dollar"] else "")
    if (sign in _SIGN_CURRENCIES and not match["fraction"]) or sign == "$":
        amount = number_text + (f".{match['fraction']}" if match["fraction"] else "")
        return say_money(amount, _SIGN_CURRENCIES[sign], lang, number_case(0, before) if ru else Case.NOM), 0
    if match["fraction"]:
        return _fraction(number_text, match["fraction"], sign, before, after, lang)
    if (len(number_text) > 1 and number_text.startswith("0")) or _DIGIT_STRING_CUES.search(before):
        return say_digits(number_text, lang), 0
    number = int(number_text)
    if not ru:
        return _english_number(number, match, after, sign), 0
    return _russian_number(number, before, after, sign)


def _fraction(whole: str, fraction: str, sign: str, before: str, after: str, lang: str) -> tuple[str, int]:
    """'2,5 литра' → 'две целых пять десятых литра'; '1500,50 рублей' is money ('… рублей пятьдесят копеек');
    '2,5%' → '… процента'."""
    ru = lang == "ru"
    case = number_case(0, before) if ru else Case.NOM
    next_word = _NEXT_WORD.match(after)
    currency = next(
        (
            code
            for stem, code in _CURRENCY_NOUNS.items()
            if next_word and next_word.group(1).lower().startswith(stem)
        ),
        None,
    )
    if ru and currency and len(fraction) <= 2:
        abbreviated = (
            next_word.group(1).lower() == "руб" and after[next_word.end() : next_word.end() + 1] == "."
        )
        used = next_word.end() + abbreviated  # "руб." loses its dot, "рублей." keeps the sentence's
        return say_money(f"{whole}.{fraction}", currency, lang, case), used
    words = say_number(f"{whole}.{fraction}", lang, case)
    if sign == "%":
        words += " " + (russian.agree("процент", None, case) if ru else "percent")
    return words, 0


def _russian_ordinal(number: int, ending: str, after: str) -> str:
    """'2-й этаж' → 'второй этаж', 'с 1-го числа' → 'с первого числа', 'на 3-м этаже' → 'на третьем этаже': the
    noun after it gives case, gender and number; without one the written ending does."""
    case, gender, plural = _ORDINAL_ENDINGS.get(ending.lower(), (Case.NOM, Gender.MASC, False))
    next_word = _NEXT_WORD.match(after)
    if next_word and (form := russian.noun_form(next_word.group(1), case)):
        case, gender, plural = form
    return russian.ordinal(number, case, gender, plural)


def _russian_number(number: int, before: str, after: str, sign: str) -> tuple[str, int]:
    context = number_case(number, before)
    next_word = _NEXT_WORD.match(after)
    word = next_word.group(1) if next_word and not sign else ""
    if word.lower() in _MONTHS["ru"] and 1 <= number <= 31:
        return russian.ordinal(number, date_case(before), Gender.NEUT), 0
    if sign in _SIGN_NOUNS:
        return (
            f"{say_number(number, 'ru', context)} {russian.agree(_SIGN_NOUNS[sign][0], number, context)}",
            0,
        )
    if word and russian.is_noun(word):
        if 1000 <= number <= 2100 and russian.agree(word, 1, Case.NOM).lower() == "год":
            year_case = russian.noun_form(word, Case.NOM)[0]  # "в 2026 году": the noun's case
            return russian.ordinal(number, year_case, Gender.MASC), 0
        case = russian.written_case(word, number, None if context is Case.NOM else context) or context
        return russian.cardinal(number, case, russian.noun_gender(word)), 0
    return russian.cardinal(number, context), 0


def _english_number(number: int, match: re.Match, after: str, sign: str) -> str:
    if match["suffix"]:
        return english(number, to="ordinal")
    words = english(number)
    previous_month = re.search(r"([a-z]+)\s+$", match.string[: match.start()], re.IGNORECASE)
    if previous_month and previous_month.group(1).lower() in _MONTHS["en"] and 1 <= number <= 31:
        return english(number, to="ordinal")
    next_word = _NEXT_WORD.match(after)
    if next_word and next_word.group(1).lower() in _MONTHS["en"] and 1 <= number <= 31:
        return "the " + english(number, to="ordinal") + " of"
    if sign in _SIGN_NOUNS:
        words += " " + _SIGN_NOUNS[sign][1]
    elif 1100 <= number <= 2099 and _YEAR_CUES.search(match.string[: match.start()]):
        return english(number, to="year")
    return words


def _numeric_date(match: re.Match, before: str, lang: str) -> str:
    try:
        year = int(match["year"] or 2000)  # a leap year, so that 29.02 is a date
        day = date(year, int(match["month"]), int(match["day"]))
    except ValueError:
        return say_number(match["date"], lang)  # "31.02" is no date: a decimal number
    words = say_date(day, lang, date_case(before) if lang == "ru" else Case.NOM)
    if match["year"]:
        if lang == "ru":
            words += f" {russian.ordinal(year, Case.GEN)} года"
        else:
            words += ", " + english(year, to="year")
    return words


def _case(before: str, ru: bool, default: Case) -> Case:
    found = preposition_case(before) if ru else None
    return found[1] if found else default
