"""One value as spoken words, per language: numbers, counts, money, dates, times, phone numbers, digit strings.

Russian values take the case the sentence gives them (see `grammar`); the default is the nominative.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from babel.dates import format_date
from num2words import num2words

from voice.spoken import russian
from voice.spoken.grammar import Case, Gender

Number = int | float | Decimal | str


class RenderError(ValueError):
    """A value that cannot be said (not a number, an unknown currency); the message says what was expected."""


# Main unit and hundredth, as a Russian noun (pymorphy3 inflects it) and as English (singular, plural).
CURRENCIES: dict[str, dict[str, tuple]] = {
    "RUB": {"ru": ("рубль", "копейка"), "en": (("ruble", "rubles"), ("kopeck", "kopecks"))},
    "USD": {"ru": ("доллар", "цент"), "en": (("dollar", "dollars"), ("cent", "cents"))},
    "EUR": {"ru": ("евро", "цент"), "en": (("euro", "euros"), ("cent", "cents"))},
    "KZT": {"ru": ("тенге", "тиын"), "en": (("tenge", "tenge"), ("tiyn", "tiyn"))},
}
DIGIT_WORDS = {
    "ru": ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}


def say_number(value: Number, lang: str, case: Case = Case.NOM, gender: Gender = Gender.MASC) -> str:
    """'двадцать одна' (f), 'до пяти', 'двух целых пяти десятых'; English 'twenty-one', 'two point five'."""
    number = _decimal(value)
    if number != number.to_integral_value():
        text = format(number.normalize(), "f")
        return russian.decimal(text, case) if lang == "ru" else english(text)
    if lang == "ru":
        return russian.cardinal(int(number), case, gender)
    return english(int(number))


def say_count(number: int, noun: str, lang: str, case: Case = Case.NOM) -> str:
    """A number with the noun it counts, both agreeing: (3, 'платёж') → 'три платежа', (1, 'неделя', acc) →
    'одну неделю'. English nouns are left as written."""
    if lang != "ru":
        return f"{say_number(number, lang)} {noun}"
    return f"{russian.cardinal(number, case, russian.noun_gender(noun))} {russian.agree(noun, number, case)}"


def say_money(amount: Number, currency: str, lang: str, case: Case = Case.NOM) -> str:
    """'десять тысяч пятьсот рублей пятьдесят копеек', 'до двадцати одной тысячи рублей';
    English 'ten thousand five hundred rubles and fifty kopecks'."""
    names = CURRENCIES.get(currency.upper(), {}).get(lang)
    if names is None:
        raise RenderError(f"no words for currency '{currency}' (known: {', '.join(CURRENCIES)})")
    cents = int((_decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    whole, hundredths = divmod(abs(cents), 100)
    sign = ("минус " if lang == "ru" else "minus ") if cents < 0 else ""
    if lang == "ru":
        parts = [say_count(whole, names[0], lang, case)] if whole or not hundredths else []
        if hundredths:
            parts.append(say_count(hundredths, names[1], lang, case))
        return sign + " ".join(parts)
    parts = [f"{english(whole)} {names[0][whole != 1]}"] if whole or not hundredths else []
    if hundredths:
        parts.append(f"{english(hundredths)} {names[1][hundredths != 1]}")
    return sign + " and ".join(parts)


def say_date(day: date, lang: str, case: Case = Case.NOM) -> str:
    """'пятнадцатое декабря', 'до первого января', 'к двадцать второму декабря'; English 'December fifteenth'."""
    if lang == "ru":
        return f"{russian.ordinal(day.day, case, Gender.NEUT)} {format_date(day, 'MMMM', locale='ru')}"
    return f"{format_date(day, 'MMMM', locale='en')} {english(day.day, to='ordinal')}"


def say_time(moment: time, lang: str, case: Case = Case.NOM) -> str:
    """'четырнадцать тридцать', 'в девять часов', 'до девяти ноль пяти', 'к двум часам';
    English 'two thirty PM', 'nine PM', 'nine oh five AM'."""
    hour, minute = moment.hour, moment.minute
    if lang != "ru":
        words = english(hour % 12 or 12)
        if minute:
            words += (" oh " if minute < 10 else " ") + english(minute)
        return f"{words} {'AM' if hour < 12 else 'PM'}"
    case = Case.NOM if case is Case.ACC else case  # "в девять тридцать", "в двадцать один час"
    if not minute:
        return say_count(hour, "час", lang, case)
    minutes = russian.cardinal(minute, case, Gender.FEM)
    return f"{russian.cardinal(hour, case)} {'ноль ' if minute < 10 else ''}{minutes}"


def say_datetime(moment: datetime, lang: str, case: Case = Case.NOM) -> str:
    """'пятнадцатого декабря в четырнадцать тридцать' (date in `case`); English '… at two thirty PM'."""
    joiner = " в " if lang == "ru" else " at "
    return say_date(moment.date(), lang, case) + joiner + say_time(moment.time(), lang, Case.ACC)


def say_digits(text: str, lang: str) -> str:
    """An order number, a code: digit by digit ('один два ноль пять'); other characters are dropped."""
    digits = re.sub(r"\D", "", str(text))
    if not digits:
        raise RenderError(f"expected digits, got {text!r}")
    return " ".join(DIGIT_WORDS[_lang(lang)][int(d)] for d in digits)


def say_phone(text: str, lang: str) -> str:
    """A phone number grouped as people say it: '+7 912 345-67-89' → 'плюс семь, девятьсот двенадцать, триста
    сорок пять, шестьдесят семь, восемьдесят девять' (English: the groups digit by digit)."""
    raw = str(text).strip()
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 3 or re.search(r"[^\d\s()+\-.]", raw):
        raise RenderError(f"expected a phone number, got {text!r}")
    groups = _international_groups(raw) if raw.startswith("+") else None
    if groups is None:
        groups = []
        if len(digits) == 11 and digits[0] in "78":
            groups.append(digits[0])
            digits = digits[1:]
        groups += [digits[:3], digits[3:6], digits[6:8], digits[8:]] if len(digits) == 10 else _pairs(digits)
    spoken = [_phone_group(group, lang) for group in groups]
    if raw.startswith("+"):
        spoken[0] = ("плюс " if lang == "ru" else "plus ") + spoken[0]
    return ", ".join(spoken)


def _international_groups(raw: str) -> list[str] | None:
    """Country code and the groups of the international format ('+44 20 7946 0958'); a group of four is said
    as two pairs."""
    try:
        number = phonenumbers.parse(raw)
    except phonenumbers.NumberParseException:
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    groups = re.findall(r"\d+", formatted)
    return [part for group in groups for part in (_pairs(group) if len(group) > 3 else [group])]


def _pairs(digits: str) -> list[str]:
    """'1234567' → ['123', '45', '67']: pairs from the end, a leading three when the count is odd."""
    head = 3 if len(digits) % 2 and len(digits) > 1 else len(digits) % 2
    return ([digits[:head]] if head else []) + re.findall(r"\d\d", digits[head:])


def _phone_group(group: str, lang: str) -> str:
    if lang != "ru" or group.startswith("0"):
        zeros = len(group) - len(group.lstrip("0"))
        rest = group[zeros:]
        if lang == "ru" and rest:
            return " ".join([DIGIT_WORDS["ru"][0]] * zeros + [russian.cardinal(int(rest))])
        return say_digits(group, lang)
    return russian.cardinal(int(group))


def english(value: Number | int, **kwargs) -> str:
    """num2words' English without its thousands comma ("ten thousand five hundred"), which a voice pauses at."""
    return num2words(value, lang="en", **kwargs).replace(",", "")


def _decimal(value: Number) -> Decimal:
    try:
        number = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise RenderError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise RenderError(f"expected a number, got {value!r}")
    return number


def _lang(lang: str) -> str:
    return "ru" if lang == "ru" else "en"
