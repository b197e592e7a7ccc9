"""Which of the offered moments the caller chose: "второе", "в четверг", "в три часа", "который пораньше".

The robot offers a few dates, times or moments (a clinic's free slots); callers rarely answer "the second one":
they name the day, the hour, a part of the day or an order ("пораньше", "the later one"). Each cue said narrows
the offered values; the choice is the one value left, or the earliest/latest of those left when an order was said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from bot.values.dates import parse_date
from bot.values.numbers import normalise, tokens
from bot.values.times import parse_time

Offered = date | time | datetime

_INDEX_WORDS = {
    "ru": {
        1: {"первое", "первый", "первая", "первую", "первым", "первом"},
        2: {"второе", "второй", "вторая", "вторую", "вторым", "втором"},
        3: {"третье", "третий", "третья", "третью", "третьим", "третьем"},
        4: {"четвертое", "четвертый", "четвертая", "четвертую", "четвертом"},
        5: {"пятое", "пятый", "пятая", "пятую", "пятом"},
    },
    "en": {1: {"first"}, 2: {"second"}, 3: {"third"}, 4: {"fourth"}, 5: {"fifth"}},
}
_LAST = {"ru": {"последнее", "последний", "последняя", "последнюю", "последним"}, "en": {"last"}}
_NUMBERED = {"ru": {"вариант", "номер", "под"}, "en": {"option", "number"}}
_EARLIER = {
    "ru": ("пораньше", "раньше", "ранн", "ближайш", "скорее", "поскорее"),
    "en": ("earlier", "earliest", "sooner", "soonest", "closest", "nearest"),
}
_LATER = {"ru": ("попозже", "позже", "поздн", "подальше"), "en": ("later", "latest")}
_PARTS_OF_DAY = {
    "ru": [
        (("до", "обеда"), 0, 12), (("с", "утра"), 0, 12), (("утром",), 0, 12), (("утра",), 0, 12),
        (("после", "обеда"), 13, 24), (("днем",), 12, 17), (("вечером",), 17, 24), (("вечера",), 17, 24),
    ],
    "en": [
        (("in", "the", "morning"), 0, 12), (("morning",), 0, 12), (("before", "lunch"), 0, 12),
        (("after", "lunch"), 13, 24), (("afternoon",), 12, 17), (("evening",), 17, 24),
    ],
}  # fmt: skip


@dataclass(frozen=True)
class _Cues:
    day: date | None
    weekday_only: bool
    hour: time | None
    hours: tuple[int, int] | None
    earliest: bool
    latest: bool


def choose(text: str, lang: str, offered: list[Offered], today: date) -> int | None:
    """The index of the offered value the caller chose, or None when nothing said picks exactly one."""
    words = normalise(text).split()
    index = _said_index(words, lang, len(offered))
    if index is not None:
        return index
    cues = _cues(text, words, lang, today)
    left = [i for i, value in enumerate(offered) if _fits(value, cues)]
    if not left or (len(left) == len(offered) and not (cues.earliest or cues.latest)):
        return None
    if len(left) == 1:
        return left[0]
    if cues.earliest != cues.latest:
        ordered = sorted(left, key=lambda i: _sort_key(offered[i]))
        return ordered[0] if cues.earliest else ordered[-1]
    return None


def _said_index(words: list[str], lang: str, count: int) -> int | None:
    """ "второе", "the third one", "последнее", "вариант два" → a 0-based index."""
    found = {n for n, forms in _INDEX_WORDS[lang].items() if forms & set(words)}
    if set(words) & _LAST[lang]:
        found.add(count)
    if not found and set(words) & _NUMBERED[lang]:
        found = {t for t in tokens(" ".join(words), lang) if type(t) is int}
    if len(found) == 1 and 1 <= (n := found.pop()) <= count:
        return n - 1
    return None


def _cues(text: str, words: list[str], lang: str, today: date) -> _Cues:
    day = parse_date(text, lang, today)
    weekday_only = day is not None and not any(type(t) is not str for t in tokens(text, lang))
    hours = next(((low, high) for phrase, low, high in _PARTS_OF_DAY[lang] if _contains(words, phrase)), None)
    has_number = any(isinstance(t, int) for t in tokens(text, lang))  # "в половине двенадцатого" too
    hour = parse_time(text, lang) if has_number else None
    joined = " ".join(words)
    return _Cues(
        day=day,
        weekday_only=weekday_only,
        hour=hour,
        hours=hours,
        earliest=any(cue in joined for cue in _EARLIER[lang]),
        latest=any(cue in joined for cue in _LATER[lang]),
    )


def _fits(value: Offered, cues: _Cues) -> bool:
    day = value.date() if isinstance(value, datetime) else value if isinstance(value, date) else None
    moment = value.time() if isinstance(value, datetime) else value if isinstance(value, time) else None
    if cues.day is not None and day is not None:
        same = day.weekday() == cues.day.weekday() if cues.weekday_only else day == cues.day
        if not same:
            return False
    if moment is not None and cues.hour is not None:
        said = cues.hour
        if (moment.hour % 12, moment.minute) != (said.hour % 12, said.minute):
            return False
    return moment is None or cues.hours is None or cues.hours[0] <= moment.hour < cues.hours[1]


def _sort_key(value: Offered) -> tuple:
    if isinstance(value, datetime):
        return (value.date(), value.time())
    return (value,) if isinstance(value, date) else (date.min, value)


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1))
