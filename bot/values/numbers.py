"""Spoken numbers: words or digits in a recogniser's transcript → numbers, digit strings and money amounts.

`number_parser` turns cardinal words into digits; this module adds what it lacks: Russian and English ordinals
("двадцать первого", "fifteenth"), halves ("полторы тысячи", "пять с половиной тысяч", "two and a half thousand"),
decimals ("десять целых пять десятых", "two point five", "10,5") and digit groups ("10 500", "5,000").
"""

import re
from decimal import Decimal
from functools import lru_cache

from number_parser import parse as _digits_for_words
from number_parser import parse_number as _number_for_word

Token = str | int | float

_MULTIPLIERS = (1000, 1_000_000, 1_000_000_000)
_SHORT_MULTIPLIERS = {
    "ru": {"тыс": 1000, "тысяч": 1000, "млн": 1_000_000, "млрд": 1_000_000_000},
    "en": {"k": 1000, "grand": 1000},
}


class Ordinal(int):
    """An ordinal number in the token stream ("пятнадцатого" → Ordinal(15)): a day of month or an hour's ordinal."""


def _ru_ordinals() -> dict[str, int]:
    stems = {
        "перв": 1, "втор": 2, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7, "восьм": 8, "девят": 9, "десят": 10,
        "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14, "пятнадцат": 15, "шестнадцат": 16,
        "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19, "двадцат": 20, "тридцат": 30,
    }  # fmt: skip
    forms = {
        stem + end: n
        for stem, n in stems.items()
        for end in ("ого", "ое", "ой", "ый", "ая", "ом", "ому", "ую")
    }
    forms.update({"трет" + end: 3 for end in ("ьего", "ье", "ий", "ья", "ьем", "ьему", "ью")})
    return forms


def _en_ordinals() -> dict[str, int]:
    words = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
        "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    ]  # fmt: skip
    forms = {word: n for n, word in enumerate(words, start=1)}
    forms.update({"twentieth": 20, "thirtieth": 30})
    return forms


_ORDINALS = {"ru": _ru_ordinals(), "en": _en_ordinals()}
_TENS = {"ru": {"двадцать": 20, "тридцать": 30}, "en": {"twenty": 20, "thirty": 30}}
_ORDINAL_SUFFIXES = {"st", "nd", "rd", "th", "го", "е", "ое", "ого", "й", "ый"}


_KEPT = {".": "\x01", ",": "\x02", ":": "\x03"}
_RESTORED = str.maketrans({v: k for k, v in _KEPT.items()})


def normalise(text: str) -> str:
    """Lowercase, `ё` → `е`, punctuation → spaces (keeping `10:30`, `10,5`, `15.12`), letters split from digits."""
    text = text.lower().replace("ё", "е").replace("\u00a0", " ")
    text = re.sub(r"(?<![\d.,:])(\d{1,3})((?: \d{3})+)(?![\d.,:])", lambda m: m[0].replace(" ", ""), text)
    text = re.sub(r"(?<=\d)[.,:](?=\d)", lambda m: _KEPT[m[0]], text)
    text = re.sub(r"[^\w\s\x01-\x03]", " ", text).translate(_RESTORED)
    text = re.sub(r"(?<=\d)(?=[^\W\d])|(?<=[^\W\d])(?=\d)", " ", text)
    return " ".join(text.split())


def _mark_ordinals(words: list[str], lang: str) -> list[str]:
    """Replace ordinal words ("двадцать первого", "fifteenth", "полтретьего") with `#N` markers."""
    ordinals, tens = _ORDINALS[lang], _TENS[lang]
    out: list[str] = []
    for word in words:
        if word in ordinals:
            if out and out[-1] in tens and ordinals[word] < 10:
                out[-1] = f"#{tens[out[-1]] + ordinals[word]}"
            else:
                out.append(f"#{ordinals[word]}")
        elif lang == "ru" and word.startswith("пол") and word[3:] in ordinals:
            out += ["пол", f"#{ordinals[word[3:]]}"]
        else:
            out.append(word)
    return out


def _approximate_order(words: list[str], lang: str) -> list[str]:
    """Russian "тысяч пять" (about five thousand) → "пять тысяч"."""
    if lang != "ru":
        return words
    words = list(words)
    for i in range(len(words) - 1):
        is_number = [_parse_number_word(w) is not None for w in (words[i - 1] if i else "", words[i + 1])]
        if words[i] in ("тысяч", "тысячи") and is_number == [False, True]:
            words[i], words[i + 1] = words[i + 1], words[i]
    return words


def _parse_number_word(word: str) -> int | float | None:
    if word in ("полтора", "полторы", "полутора", "половиной"):
        return 1.5
    return _number_for_word(word, language="ru") if word else None


def _number(word: str, lang: str) -> Token:
    if word.startswith("#") and word[1:].isdigit():
        return Ordinal(int(word[1:]))
    if word.isdigit():
        return int(word)
    if re.fullmatch(r"\d+[.,]\d+", word):
        whole, sep, frac = re.split(r"([.,])", word)
        if sep == "," and lang == "en" and len(frac) == 3:
            return int(whole + frac)
        return float(f"{whole}.{frac}")
    return word


def _merge_fractions(tokens: list[Token], lang: str) -> list[Token]:
    """Fold halves, decimals and multipliers: [5, "с", "половиной", 1000] → [5500]."""
    out: list[Token] = []
    i, multiplied = 0, 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1 : i + 4]
        if tok in ("полтора", "полторы", "полутора"):
            tok = 1.5
        elif lang == "en" and tok == "half" and nxt[:1] == ["a"]:
            tok, i = 0.5, i + 1
        elif lang == "en" and tok == "a" and nxt and _is_cardinal(nxt[0]) and nxt[0] >= 100:
            i += 1
            continue
        elif _is_cardinal(tok):
            if lang == "ru" and nxt[:2] == ["с", "половиной"]:
                tok, i = tok + 0.5, i + 2
            elif lang == "en" and nxt == ["and", "a", "half"]:
                tok, i = tok + 0.5, i + 3
            elif lang == "en" and len(nxt) >= 2 and nxt[0] == "point" and _is_cardinal(nxt[1]):
                tok, i = tok + nxt[1] / 10 ** len(str(nxt[1])), i + 2
            elif lang == "ru" and len(nxt) == 3 and nxt[0] in ("целых", "целая") and _is_cardinal(nxt[1]):
                scale = {"десятых": 10, "десятая": 10, "сотых": 100, "сотая": 100}.get(str(nxt[2]))
                if scale:
                    tok, i = tok + nxt[1] / scale, i + 3
        tok = _SHORT_MULTIPLIERS[lang].get(tok, tok) if isinstance(tok, str) else tok
        joined = (
            _joined(out[-1], tok, multiplied) if out and _is_cardinal(out[-1]) and _is_cardinal(tok) else None
        )
        if joined is None:
            out.append(tok)
        else:
            out[-1] = joined
        multiplied = tok if joined is not None and tok in _MULTIPLIERS else 0
        i += 1
    return [int(t) if isinstance(t, float) and t.is_integer() else t for t in out]


def _joined(before: int | float, number: int | float, multiplied: int) -> int | float | None:
    """Two adjacent numbers that make one amount ("50 тысяч", "1,5 тысячи", "10 тысяч 500"), or None."""
    if number in _MULTIPLIERS and before < number:
        return before * number
    scale = next((m for m in _MULTIPLIERS if m <= number < 2 * m), 0)
    if scale and isinstance(before, float) and before < scale:
        return before * scale + number - scale  # "полторы тысячи двести": [1.5, 1200] → 1700
    if multiplied and number < multiplied:
        return before + number
    return None


def _is_cardinal(token: object) -> bool:
    return isinstance(token, int | float) and not isinstance(token, Ordinal)


def tokens(text: str, lang: str) -> list[Token]:
    """Split a transcript into words and numbers: cardinals as int/float, ordinals as `Ordinal`."""
    return list(_tokens(text, lang))


# Russian collective numerals count people: "нас трое", "на двоих", "для пятерых".
_COLLECTIVES = {
    stem + ending: str(n)
    for n, stem in enumerate(
        ("дво", "тро", "четвер", "пятер", "шестер", "семер", "восьмер", "девятер"), start=2
    )
    for ending in (("е", "их", "им") if n < 4 else ("о", "ых", "ым"))
}


# A count of people said without any number word: "только я", "я и жена", "just me", "me and my wife".
_PEOPLE = {
    "ru": [(r"\bя и (жена|муж|супруг\w*)\b|\bмы с (женой|мужем|супруг\w*)\b", "2"), (r"\b(только|лишь) я\b", "1")],
    "en": [(r"\b(me and my|my \w+ and me) ?(wife|husband|partner)?\b", "2"), (r"\b(just|only) (me|myself)\b", "1")],
}  # fmt: skip
# Words a number parser reads as numbers that are nouns here: "на семью из четырёх" is a family, not seven.
_NOT_NUMBERS = {"ru": {"семью": "семья"}, "en": {}}


@lru_cache(maxsize=512)
def _tokens(text: str, lang: str) -> tuple[Token, ...]:
    words = [_NOT_NUMBERS.get(lang, {}).get(word, word) for word in normalise(text).split()]
    if lang == "ru":
        words = [_COLLECTIVES.get(word, word) for word in words]
    words = _approximate_order(_mark_ordinals(words, lang), lang)
    words = _digits_for_words(" ".join(words), language=lang).split() if words else []
    out: list[Token] = []
    for word in words:
        tok = _number(word, lang)
        if word in _ORDINAL_SUFFIXES and out and _is_cardinal(out[-1]) and isinstance(out[-1], int):
            out[-1] = Ordinal(out[-1])
        else:
            out.append(tok)
    return tuple(_merge_fractions(out, lang))


def parse_number(text: str, lang: str) -> int | float | None:
    """The first number said ("десять тысяч пятьсот" → 10500, "10,5" → 10.5, "пятый" → 5), or None."""
    found = [t for t in tokens(text, lang) if isinstance(t, int | float)]
    if not found:
        return _people_count(text, lang)
    return int(found[0]) if isinstance(found[0], Ordinal) else found[0]


def _people_count(text: str, lang: str) -> int | None:
    counted = normalise(text)
    for pattern, count in _PEOPLE.get(lang, []):
        counted = re.sub(pattern, count, counted)
    return next((int(word) for word in counted.split() if word.isdigit()), None)


_ZERO_WORDS = {"ru": {"нуль"}, "en": {"oh", "o", "nought", "nil"}}
_REPEATS = {"double": 2, "triple": 3}


def parse_digits(text: str, lang: str) -> str | None:
    """A spoken digit sequence ("восемь девять" → "89", "double five oh" → "550"), or None."""
    digits: list[str] = []
    repeat = 1
    for tok in tokens(text, lang):
        if isinstance(tok, int) and not isinstance(tok, Ordinal):
            digits.append(str(tok) * repeat)
            repeat = 1
        elif tok in _ZERO_WORDS[lang] and (digits or repeat > 1):
            digits.append("0" * repeat)
            repeat = 1
        elif tok in _REPEATS:
            repeat = _REPEATS[tok]
    return "".join(digits) or None


_CURRENCY = re.compile(r"^(руб|рубл|доллар|бакс|евро|dollar|buck|euro|pound|rouble|ruble)")
_CENTS = re.compile(r"^(копе|коп$|цент|cent|penny|pence|kopek|kopeck)")


def parse_money(text: str, lang: str) -> Decimal | None:
    """A money amount ("полторы тысячи" → 1500, "тысяча рублей пятьдесят копеек" → 1000.50), or None."""
    toks = [t for t in tokens(text, lang) if not isinstance(t, Ordinal)]
    for i, tok in enumerate(toks):
        if not _is_cardinal(tok):
            continue
        rest = [str(t) for t in toks[i + 1 : i + 4]]
        if rest and _CENTS.match(rest[0]):
            return Decimal(str(tok)) / 100
        amount = Decimal(str(tok))
        if len(rest) >= 3 and _CURRENCY.match(rest[0]) and rest[1].isdigit() and _CENTS.match(rest[2]):
            amount += Decimal(rest[1]) / 100
        return amount
    return None
