"""Spoken times of day → `datetime.time`: "в три часа дня", "в десять тридцать", "после обеда", "half past two".

A bare hour is taken as daytime, 08:00–20:59 ("в три" → 15:00, "в девять" → 09:00); a part of the day alone gives its
usual hour (morning 10:00, day 13:00, after lunch 14:00, evening 18:00).
"""

import re
from datetime import time

from bot.values.numbers import Ordinal, Token, normalise, tokens

_PART_OF_DAY = {
    "ru": [
        (("после", "обеда"), 14), (("до", "обеда"), 10), (("в", "обед"), 13), (("в", "полдень"), 12),
        (("в", "полночь"), 0), (("утром",), 10), (("с", "утра"), 10), (("утро",), 10), (("днем",), 13),
        (("вечером",), 18), (("вечер",), 18), (("к", "вечеру"), 18), (("полдень",), 12),
    ],
    "en": [
        (("after", "lunch"), 14), (("before", "lunch"), 10), (("in", "the", "afternoon"), 14), (("afternoon",), 14),
        (("in", "the", "morning"), 10), (("morning",), 10), (("at", "lunch"), 13), (("lunchtime",), 13),
        (("lunch", "time"), 13), (("during", "the", "day"), 13), (("noon",), 12), (("midday",), 12),
        (("midnight",), 0), (("in", "the", "evening"), 18), (("evening",), 18), (("tonight",), 18),
    ],
}  # fmt: skip
_HOUR_WORDS = {"ru": {"час", "часа", "часов", "ровно"}, "en": {"oclock", "sharp"}}
_BEFORE_HOUR = {
    "ru": {"в", "во", "к", "около", "до", "после", "с", "на"},
    "en": {"at", "around", "about", "by", "till", "until", "from", "before", "after"},
}
_GREETINGS = {
    ("доброе", "утро"),
    ("добрый", "вечер"),
    ("good", "morning"),
    ("good", "afternoon"),
    ("good", "evening"),
}
_NOT_A_TIME = {"ru": {"через", "за"}, "en": {"in", "for"}}
_MORNING = {"ru": {"утра", "утром"}, "en": {"am", "morning"}}
_AFTERNOON = {"ru": {"вечера", "вечером", "днем"}, "en": {"pm", "afternoon", "evening", "tonight"}}
_NIGHT = {"ru": {"ночи", "ночью"}, "en": {"night"}}
_MINUTE_WORDS = {"минут", "минуты", "минута", "minutes", "minute"}
_FILLERS = {"ну", "ээ", "эээ", "так", "давайте", "можно", "um", "uh", "well", "so", "say", "lets", "oh"}
_NOT_AN_HOUR_AFTER = re.compile(
    r"^(дн|день|дня|недел|месяц|минут|числ|год|лет|раз|январ|феврал|март|апрел|ма[йяе]$|июн|июл|август|сентябр|"
    r"октябр|ноябр|декабр|day|week|month|minute|hour|year|time|jan|feb|mar|apr|may$|jun|jul|aug|sep|oct|nov|dec)"
)


def parse_time(text: str, lang: str) -> time | None:
    """The time of day said ("в три часа дня" → 15:00, "half past two" → 14:30, "вечером" → 18:00), or None."""
    norm = normalise(text)
    toks = _without_greetings(_joined_ampm(tokens(text, lang)))
    found = _clock(norm) or _half_and_quarter(toks, lang) or _hour_and_minutes(toks, lang)
    if found:
        return _daytime(*found, toks, lang)
    return _part_of_day(toks, lang)


def _joined_ampm(toks: list[Token]) -> list[Token]:
    """Join "a m" / "p m" (as a recogniser spells them) into "am" / "pm"; "o clock" into "oclock"."""
    out: list[Token] = []
    for tok in toks:
        if tok == "m" and out and out[-1] in ("a", "p"):
            out[-1] = f"{out[-1]}m"
        elif tok == "clock" and out and out[-1] in ("o", "of"):
            out[-1] = "oclock"
        else:
            out.append(tok)
    return out


def _without_greetings(toks: list[Token]) -> list[Token]:
    """Drop "доброе утро", "good evening": greetings, not times."""
    out: list[Token] = []
    for tok in toks:
        if out and (out[-1], tok) in _GREETINGS:
            out.pop()
        else:
            out.append(tok)
    return out


def _clock(norm: str) -> tuple[int, int] | None:
    match = re.search(r"(?<![\d.:])(\d{1,2})[:.](\d{2})(?![\d.:])", norm)
    return (int(match[1]), int(match[2])) if match else None


def _is_int(tok: Token) -> bool:
    return isinstance(tok, int) and not isinstance(tok, Ordinal)


def _half_and_quarter(toks: list[Token], lang: str) -> tuple[int, int] | None:
    """ "половина третьего" → 2:30, "без пятнадцати три" → 2:45, "quarter to three" → 2:45, "ten past two" → 2:10."""
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        after = toks[i + 2] if i + 2 < len(toks) else None
        if lang == "ru":
            if tok in ("половина", "половине", "пол") and isinstance(nxt, Ordinal):
                return (nxt - 1) % 12, 30
            if tok in ("четверть",) and isinstance(nxt, Ordinal):
                return (nxt - 1) % 12, 15
            if tok == "без" and (nxt == "четверти" or _is_int(nxt)) and _is_int(after):
                minutes = 15 if nxt == "четверти" else nxt
                if 0 < minutes < 60:
                    return (after - 1) % 24, 60 - minutes
        elif nxt in ("past", "to") and _is_int(after):
            minutes = {"half": 30, "quarter": 15}.get(tok, tok)
            if _is_int(minutes) and 0 < minutes < 60 and after <= 24:
                return (after, minutes) if nxt == "past" else ((after - 1) % 24, 60 - minutes)
    return None


def _hour_and_minutes(toks: list[Token], lang: str) -> tuple[int, int] | None:
    words = {t for t in toks if not _is_int(t)}
    bare = not words - _HOUR_WORDS[lang] - _MINUTE_WORDS - _FILLERS
    for i, tok in enumerate(toks):
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok == "час" and prev in _BEFORE_HOUR[lang]:
            return 1, 0
        half_past = isinstance(tok, float) and tok % 1 == 0.5
        if not (_is_int(tok) or half_past) or tok > 24 or prev in _NOT_A_TIME[lang]:
            continue
        pm_by_day = nxt == "дня" and prev in ("в", "к")
        if isinstance(nxt, str) and _NOT_AN_HOUR_AFTER.match(nxt) and not pm_by_day:
            continue
        said_hour = nxt in _HOUR_WORDS[lang] or nxt in _MORNING[lang] | _AFTERNOON[lang] | _NIGHT[lang]
        if not (bare or said_hour or pm_by_day or prev in _BEFORE_HOUR[lang]):
            continue
        return (int(tok), 30) if half_past else (tok, _minutes(toks[i + 1 :]))
    return None


def _minutes(rest: list[Token]) -> int:
    """Minutes after the hour: "тридцать", "ноль пять", "oh five", "часов тридцать минут", "с половиной"."""
    if rest and rest[0] in ("час", "часа", "часов", "oclock"):
        rest = rest[1:]
    if rest[:2] == ["с", "половиной"]:
        return 30
    if len(rest) >= 2 and (rest[0] == 0 or rest[0] == "oh") and _is_int(rest[1]) and rest[1] < 10:
        return rest[1]
    if rest and _is_int(rest[0]) and rest[0] < 60:
        return rest[0]
    return 0


def _daytime(hour: int, minute: int, toks: list[Token], lang: str) -> time | None:
    """Apply am/pm words, or the daytime rule (08:00–20:59) to a bare 12-hour clock reading."""
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        return None
    said = set(toks)
    pm_by_day = any(
        tok == "дня" and not {"через", "на", "за"} & set(toks[max(0, i - 3) : i])
        for i, tok in enumerate(toks)
    )
    if said & _MORNING[lang]:
        hour = 0 if hour == 12 else hour
    elif said & _AFTERNOON[lang] or pm_by_day:
        hour = hour + 12 if hour < 12 else hour
    elif said & _NIGHT[lang]:
        hour = 0 if hour == 12 else hour + 12 if 6 <= hour < 12 else hour
    elif hour < 8:
        hour += 12
    return time(hour % 24, minute)


def _part_of_day(toks: list[Token], lang: str) -> time | None:
    words = [str(t) for t in toks]
    for phrase, hour in _PART_OF_DAY[lang]:
        n = len(phrase)
        if any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1)):
            return time(hour, 0)
    return None
