"""Speak values the way a person would, per language: a script's `{placeholders}` filled with words in the case
the sentence needs, then every digit left in the prompt written out (`voice.spoken`), so no TTS voice ever reads
"до 15 декабря" as "до пятнадцать декабря".

A placeholder's case comes from its marker (`{amount:gen}`, `{due_date:род}`), else from the preposition before it
("до {due_date}" → "до пятнадцатого декабря"); a number placeholder followed by a noun counts it
("{payments} платёж" → "три платежа").
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.dialog.model import PLACEHOLDER, ValueType
from voice.spoken import (
    Case,
    RenderError,
    normalise_text,
    parse_case,
    russian,
    say_date,
    say_datetime,
    say_digits,
    say_money,
    say_number,
    say_phone,
    say_time,
)
from voice.spoken.context import date_case, number_case
from voice.spoken.values import say_count

_PLACEHOLDER_AND_NOUN = re.compile(PLACEHOLDER.pattern + r"(?P<noun>\s+[а-яё]+)?", re.IGNORECASE)
COUNTABLE = {ValueType.NUMBER, ValueType.RATING}


def coerce(value: Any, kind: ValueType) -> Any:
    """Turn a variable given as text (CSV, `--var`) into its JSON-friendly typed form, or raise ValueError."""
    if value is None:
        raise ValueError("no value")
    text = str(value).strip()
    match kind:
        case ValueType.DATE:
            return date.fromisoformat(text).isoformat()
        case ValueType.TIME:
            return time.fromisoformat(text).strftime("%H:%M")
        case ValueType.DATETIME:
            return datetime.fromisoformat(text).isoformat(timespec="minutes")
        case ValueType.MONEY | ValueType.NUMBER:
            return to_number(text.replace(" ", "").replace(",", "."))
        case ValueType.RATING:
            return int(text)
        case ValueType.PHONE:
            say_phone(text, "en")  # raises RenderError (a ValueError) for what is no phone number
            return text
        case ValueType.YES_NO:
            if text.lower() in ("true", "yes", "да", "1"):
                return True
            if text.lower() in ("false", "no", "нет", "0"):
                return False
            raise ValueError(f"expected yes or no, got {text!r}")
        case _:
            return text


def to_number(value: Any) -> int | float:
    """A JSON-friendly number: int when whole."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"expected a number, got {value!r}") from exc
    return int(number) if number == number.to_integral_value() else float(number)


def case_marker(marker: str | None) -> Case | None:
    """The case a placeholder's marker names (`gen`, `род`, …); None without a marker; ValueError when unknown."""
    return None if marker is None else parse_case(marker)


def speak(value: Any, kind: ValueType, lang: str, currency: str = "RUB", case: Case | None = None) -> str:
    """One value as words a TTS voice reads correctly in `lang`; Russian in `case` (a date's default: nominative).
    Raises RenderError (a ValueError) for a value that cannot be said."""
    try:
        return _speak(value, kind, lang, currency, case or Case.NOM)
    except RenderError:
        raise
    except (ValueError, TypeError) as exc:
        raise RenderError(f"cannot say {value!r} as {kind}: {exc}") from None


def render(text: str, values: dict[str, Any], types: dict[str, ValueType], lang: str, currency: str) -> str:
    """Fill `{name}`/`{name:case}` placeholders and write out the digits left; a value not known yet renders as
    nothing (the checker flags undefined ones). Raises RenderError naming the placeholder it could not say."""
    out: list[str] = []
    position = 0
    for match in _PLACEHOLDER_AND_NOUN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        name, noun = match.group(1), (match["noun"] or "")
        value = values.get(name)
        if value is None:
            out.append(noun)
            continue
        kind = types.get(name, ValueType.TEXT)
        try:
            out.append(_fill(value, kind, match.group(2), "".join(out), noun, lang, currency))
        except ValueError as exc:
            raise RenderError(f"cannot say {{{name}}} = {value!r} ({kind}): {exc}") from None
    out.append(text[position:])
    return normalise_text("".join(out), lang)


def _fill(
    value: Any, kind: ValueType, marker: str | None, before: str, noun: str, lang: str, currency: str
) -> str:
    """One placeholder's words (and the noun after it: a number placeholder counts it)."""
    case = case_marker(marker)
    if case is None and lang == "ru":
        if kind in (ValueType.DATE, ValueType.DATETIME):
            case = date_case(before)
        elif kind in (ValueType.TIME, ValueType.MONEY, *COUNTABLE):
            number = int(value) if kind in COUNTABLE and float(value).is_integer() else 0
            case = number_case(number, before)
    if kind in COUNTABLE and lang == "ru" and russian.is_noun(noun.strip()) and float(value).is_integer():
        return say_count(int(value), noun.strip(), lang, case or Case.NOM)
    return speak(value, kind, lang, currency, case) + noun


def _speak(value: Any, kind: ValueType, lang: str, currency: str, case: Case) -> str:
    match kind:
        case ValueType.DATE:
            return say_date(date.fromisoformat(value), lang, case)
        case ValueType.TIME:
            return say_time(time.fromisoformat(value), lang, case)
        case ValueType.DATETIME:
            return say_datetime(datetime.fromisoformat(value), lang, case)
        case ValueType.MONEY:
            return say_money(value, currency, lang, case)
        case ValueType.NUMBER | ValueType.RATING:
            return say_number(value, lang, case)
        case ValueType.DIGITS:
            return say_digits(value, lang)  # an order number is read digit by digit
        case ValueType.PHONE:
            return say_phone(value, lang)
        case ValueType.YES_NO:
            return {("ru", True): "да", ("ru", False): "нет", ("en", True): "yes"}.get((lang, value), "no")
        case _:
            return str(value)
