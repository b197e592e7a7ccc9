"""Spoken moments → `datetime`, relative to now: "завтра после обеда", "в пятницу в десять", "через час", "вечером".

A date alone is that date at 10:00; a time alone is today at that time, or tomorrow if it has already passed.
"""

from datetime import datetime, time, timedelta

from bot.values.dates import parse_date
from bot.values.numbers import Ordinal, Token, tokens
from bot.values.times import parse_time

_DEFAULT_TIME = time(10, 0)
_AFTER = {"ru": {"через"}, "en": {"in"}}
_A_FEW = {"ru": {"пару": 2}, "en": {"a": 1, "an": 1, "couple": 2, "half": 0.5}}
_MINUTES = {"ru": ("минут", "минуту", "минутк"), "en": ("minute",)}
_HOURS = {"ru": ("час",), "en": ("hour",)}


def parse_datetime(text: str, lang: str, now: datetime) -> datetime | None:
    """The moment said, relative to `now` ("завтра после обеда" → tomorrow 14:00, "через час" → now + 1 h), or None."""
    after = _after_delay(text, lang)
    if after is not None:
        return now + after
    day = parse_date(text, lang, now.date())
    at = parse_time(text, lang)
    if day and at:
        return datetime.combine(day, at, now.tzinfo)
    if day:
        return datetime.combine(day, _DEFAULT_TIME, now.tzinfo)
    if at:
        today = datetime.combine(now.date(), at, now.tzinfo)
        return today if today > now else today + timedelta(days=1)
    return None


def _after_delay(text: str, lang: str) -> timedelta | None:
    """ "через час", "через полчаса", "через двадцать минут", "in an hour", "in half an hour", "in two hours"."""
    toks = tokens(text, lang)
    for i, tok in enumerate(toks):
        if tok not in _AFTER[lang]:
            continue
        count: float | None = None
        for j, word in enumerate(toks[i + 1 : i + 5], start=i + 1):
            if word in ("полчаса", "полчасика"):
                return timedelta(minutes=30)
            if isinstance(word, int | float) and not isinstance(word, Ordinal):
                count = word
            elif word in _A_FEW[lang]:
                count = count if count is not None and word in ("a", "an") else _A_FEW[lang][word]
            elif word == "of":
                continue
            elif str(word).startswith(_HOURS[lang]):
                return timedelta(hours=(count or 1) + _and_a_half(toks[j + 1 :]))
            elif str(word).startswith(_MINUTES[lang]):
                return timedelta(minutes=(count or 1) + _and_a_half(toks[j + 1 :]))
            else:
                break
    return None


def _and_a_half(rest: list[Token]) -> float:
    """ "час с половиной", "an hour and a half": half a unit more."""
    return 0.5 if rest[:3] == ["and", "a", "half"] or rest[:2] == ["с", "половиной"] else 0
