"""Russian number words in a case and gender (num2words) and nouns that agree with a number (pymorphy3).

Only glue lives here: num2words 0.5.14 applies the gender of the last word to every group ("одну миллион") and
reads inanimate accusatives as animate unless told; a round thousand or million is said without "одна/один".
"""

from __future__ import annotations

from functools import cache, lru_cache

import pymorphy3
from num2words import num2words

from voice.spoken.grammar import Case, Gender

INDECLINABLE = {"евро", "тенге"}
FRACTION_NAMES = ("", "десятая", "сотая", "тысячная", "десятитысячная")
# Nouns pymorphy3's dictionary reads wrongly (as a surname): their forms by case, singular and plural.
OWN_FORMS = {
    "тиын": {
        "nomn": ("тиын", "тиыны"),
        "gent": ("тиына", "тиынов"),
        "datv": ("тиыну", "тиынам"),
        "accs": ("тиын", "тиыны"),
        "ablt": ("тиыном", "тиынами"),
        "loct": ("тиыне", "тиынах"),
    }
}


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def cardinal(number: int, case: Case = Case.NOM, gender: Gender = Gender.MASC) -> str:
    """'двадцать одна тысяча', 'до двух тысяч': `gender` is that of the counted noun."""
    if number < 0:
        return "минус " + cardinal(-number, case, gender)
    low = number % 1000
    high = number - low
    parts = []
    if high:
        parts.append(_n2w(high, case, Gender.MASC))
    if low or not high:
        parts.append(_n2w(low, case, gender))
    words = " ".join(parts)
    if 1000 <= number < 2000 or 1_000_000 <= number < 2_000_000:
        words = words.split(" ", 1)[1]  # "тысяча двести", "миллион": nobody says "одна тысяча" aloud
    return words


def ordinal(number: int, case: Case = Case.NOM, gender: Gender = Gender.MASC, plural: bool = False) -> str:
    """'пятнадцатое' (neuter: a day of the month), 'двадцать второму', 'две тысячи двадцать шестом'."""
    return num2words(
        number,
        lang="ru",
        to="ordinal",
        case=case.num2words,
        gender=gender.value,
        plural=plural,
        animate=False,
    )


def decimal(text: str, case: Case = Case.NOM) -> str:
    """'2,5' → 'две целых пять десятых', in the genitive 'двух целых пяти десятых'."""
    whole, _, fraction = text.replace(",", ".").partition(".")
    if len(fraction) >= len(FRACTION_NAMES):
        return num2words(text.replace(",", "."), lang="ru")  # past ten-thousandths: nominative only
    left, right = int(whole or 0), int(fraction)
    return (
        f"{cardinal(left, case, Gender.FEM)} {_substantive('целая', left, case)} "
        f"{cardinal(right, case, Gender.FEM)} {_substantive(FRACTION_NAMES[len(fraction)], right, case)}"
    )


def _substantive(adjective: str, number: int, case: Case) -> str:
    """A feminine adjective used as a noun ('целая', 'десятая') agreeing with `number` in `case`."""
    if _number_form(number) == 0:
        grammemes = {"femn", "sing", case.grammeme}
    else:
        grammemes = {"plur", "gent" if case in (Case.NOM, Case.ACC) else case.grammeme}
    parse = next(p for p in _parses(adjective) if p.tag.POS == "ADJF")
    return parse.inflect(grammemes).word


def _n2w(number: int, case: Case, gender: Gender) -> str:
    return num2words(number, lang="ru", case=case.num2words, gender=gender.value, animate=False)


@lru_cache(maxsize=8192)
def _parses(word: str) -> tuple[pymorphy3.analyzer.Parse, ...]:
    """pymorphy3's readings of a word, likeliest first (cached: a script says the same words on every call)."""
    return tuple(_morph().parse(word))


def _noun(word: str) -> pymorphy3.analyzer.Parse | None:
    return next((p for p in _parses(word) if p.tag.POS == "NOUN"), None)


def warm_up() -> None:
    """Load the dictionaries now (~0.6 s) rather than on the first prompt of the first call."""
    _parses("платёж")


def is_noun(word: str) -> bool:
    """Whether `word` most likely is a noun (the noun counted by a number before it; not "из", "новых")."""
    parses = _parses(word)
    return bool(parses) and parses[0].tag.POS == "NOUN"


def is_transitive_verb(word: str) -> bool:
    """Whether `word` is most likely a transitive verb form ('внесите', 'оплатить'): its object is accusative."""
    parse = _parses(word)[0]
    return parse.tag.POS in ("VERB", "INFN") and "tran" in parse.tag


def noun_gender(word: str) -> Gender:
    """The gender a number before `word` takes ('одна неделя', 'одно место'); masculine when unknown."""
    if word.lower() in INDECLINABLE | OWN_FORMS.keys():
        return Gender.MASC  # "один евро", "один тенге", "один тиын"
    parse = _noun(word)
    gender = parse.tag.gender if parse else None
    return {"femn": Gender.FEM, "neut": Gender.NEUT}.get(gender, Gender.MASC)


@lru_cache(maxsize=8192)
def agree(word: str, number: int | None, case: Case) -> str:
    """`word` (a noun in any form) as it goes with `number` in `case`: ('платёж', 3, nom) → 'платежа',
    ('рубль', 21000, gen) → 'рублей'. None as the number: a fraction ('двух целых пяти десятых процента')."""
    if word.lower() in INDECLINABLE:
        return word
    if number is None:
        grammemes = {"sing", "gent"}
    elif number >= 1000 and number % 1000 == 0:
        grammemes = {"plur", "gent"}  # "тысяча", "миллион" are nouns: "о двух тысячах рублей"
    elif _number_form(number) == 0:
        grammemes = {"sing", case.grammeme}
    elif case in (Case.NOM, Case.ACC):
        grammemes = {"sing", "gent"} if _number_form(number) == 1 else {"plur", "gent"}
    else:
        grammemes = {"plur", case.grammeme}
    if own := OWN_FORMS.get(word.lower()):
        (grammeme,) = grammemes - {"sing", "plur"}
        return own[grammeme]["plur" in grammemes]
    parse = _noun(word)
    form = parse.inflect(grammemes) if parse else None
    return form.word if form else word


def written_case(word: str, number: int, preferred: Case | None) -> Case | None:
    """The case a number before `word` must be in for `word`, as written, to agree with it: '2 недель' → gen,
    '2 недели' → nom. `preferred` (from a preposition) wins when it fits too; None when no case fits."""
    order = [preferred] if preferred else []
    order += [c for c in (Case.NOM, Case.GEN, Case.DAT, Case.INS, Case.LOC, Case.ACC) if c not in order]
    lowered = word.lower().replace("ё", "е")
    for case in order:
        if agree(word, number, case).lower().replace("ё", "е") == lowered:
            return case
    return None


def noun_form(word: str, likely: Case) -> tuple[Case, Gender, bool] | None:
    """Case, gender and plurality of `word` as written, if it is a noun ('этаже' → loc, masc, singular);
    among its readings the one in the `likely` case wins."""
    parses = [p for p in _parses(word) if p.tag.POS == "NOUN"]
    if not parses or _parses(word)[0].tag.POS != "NOUN":
        return None
    parse = next((p for p in parses if p.tag.case == likely.grammeme), parses[0])
    case = next((c for c in Case if (parse.tag.case or "").startswith(c.grammeme[:3])), Case.NOM)
    gender = {"femn": Gender.FEM, "neut": Gender.NEUT}.get(parse.tag.gender, Gender.MASC)
    return case, gender, parse.tag.number == "plur"


def _number_form(number: int) -> int:
    """0 for numbers ending in 1 ('один рубль'), 1 for 2–4 ('два рубля'), 2 for the rest ('пять рублей')."""
    if number % 10 == 1 and number % 100 != 11:
        return 0
    return 1 if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14 else 2
