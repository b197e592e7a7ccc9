"""Spoken ratings → int on a scale: "девять", "на восьмерку", "ставлю семь из десяти", "десятка", "a solid nine"."""

import re

from bot.values.numbers import Ordinal, tokens

_RU_NUMERAL_NOUNS = re.compile(
    r"^(?:(единиц|единичк)|(двойк|двоечк)|(тройк|троечк)|(четверк|четверочк)|(пятерк|пятерочк)|(шестерк)|"
    r"(семерк)|(восьмерк)|(девятк)|(десятк|десяточк))"
)
_TOP = {
    "ru": re.compile(r"^(максимум|максимальн|наивысш|высш)"),
    "en": re.compile(r"^(max|maximum|highest|top|full)$"),
}
_OUT_OF = {"ru": {"из"}, "en": {"of", "outta"}}
# A number with a unit counts something else: "у меня есть пять минут", "two minutes".
_UNIT = re.compile(
    r"^(минут|секунд|час|дн|день|недел|месяц|лет|год|раз|руб|minute|second|hour|day|week|month|year)"
)


def parse_rating(text: str, lang: str, low: int = 0, high: int = 10) -> int | None:
    """The rating given on a `low`–`high` scale ("на восьмерку" → 8, "семь из десяти" → 7); None if out of range."""
    said = tokens(text, lang)
    for i, tok in enumerate(said):
        value: int | float | None = None
        if isinstance(tok, int | float) and not isinstance(tok, Ordinal):
            value = tok
        elif isinstance(tok, str) and lang == "ru" and (match := _RU_NUMERAL_NOUNS.match(tok)):
            value = match.lastindex
        elif isinstance(tok, str) and _TOP[lang].match(tok):
            value = high
        if value is None or (i and said[i - 1] in _OUT_OF[lang]):
            continue
        if i + 1 < len(said) and _UNIT.match(str(said[i + 1])):
            continue
        return int(value) if value == int(value) and low <= value <= high else None
    return None
