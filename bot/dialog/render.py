"""Speak values the way a person would, per language: dates, times, money, numbers in prompt texts."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time

from bot.dialog.model import PLACEHOLDER, ValueType

CURRENCY_WORDS: dict[str, dict[str, dict[str, str]]] = {
    "ru": {
        "RUB": {"one": "рубль", "few": "рубля", "many": "рублей", "other": "рубля"},
        "USD": {"one": "доллар", "few": "доллара", "many": "долларов", "other": "доллара"},
        "EUR": {"one": "евро", "few": "евро", "many": "евро", "other": "евро"},
        "KZT": {"one": "тенге", "few": "тенге", "many": "тенге", "other": "тенге"},
    },
    "en": {
        "RUB": {"one": "ruble", "other": "rubles"},
        "USD": {"one": "dollar", "other": "dollars"},
        "EUR": {"one": "euro", "other": "euros"},
        "KZT": {"one": "tenge", "other": "tenge"},
    },
}


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


def speak(value: Any, kind: ValueType, lang: str, currency: str = "RUB") -> str:
    """One value as words a TTS voice reads correctly in `lang`."""
    match kind:
        case ValueType.DATE:
            return _date(date.fromisoformat(value), lang)
        case ValueType.TIME:
            return _time(time.fromisoformat(value), lang)
        case ValueType.DATETIME:
            moment = datetime.fromisoformat(value)
            joiner = " в " if lang == "ru" else " at "
            return _date(moment.date(), lang) + joiner + _time(moment.time(), lang)
        case ValueType.MONEY:
            return _money(to_number(value), currency, lang)
        case ValueType.NUMBER:
            return str(value).replace(".", ",") if lang == "ru" else str(value)
        case ValueType.DIGITS:
            return " ".join(str(value))  # an order number is read digit by digit
        case ValueType.YES_NO:
            return {("ru", True): "да", ("ru", False): "нет", ("en", True): "yes"}.get((lang, value), "no")
        case _:
            return str(value)


def render(text: str, values: dict[str, Any], types: dict[str, ValueType], lang: str, currency: str) -> str:
    """Fill `{name}` placeholders; a value not known yet renders as nothing (the checker flags undefined ones)."""

    def fill(match) -> str:
        name = match.group(1)
        if values.get(name) is None:
            return ""
        return speak(values[name], types.get(name, ValueType.TEXT), lang, currency)

    return PLACEHOLDER.sub(fill, text)


def _date(day: date, lang: str) -> str:
    return format_date(day, "d MMMM" if lang == "ru" else "MMMM d", locale=lang)


def _time(moment: time, lang: str) -> str:
    return format_time(moment, "H:mm" if lang == "ru" else "h:mm a", locale=lang)


def _money(amount: int | float, currency: str, lang: str) -> str:
    words = CURRENCY_WORDS.get(lang, {}).get(currency)
    number = (
        f"{amount:.2f}".replace(".", "," if lang == "ru" else ".")
        if isinstance(amount, float)
        else str(amount)
    )
    if words is None:
        return f"{number} {currency}"
    form = Locale.parse(lang).plural_form(amount) if isinstance(amount, int) else "other"
    return f"{number} {words.get(form, words['other'])}"
