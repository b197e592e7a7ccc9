"""Russian grammatical case and gender for spoken values: names authors write, and the case a preposition
before a value asks for."""

from __future__ import annotations

import re
from enum import StrEnum


class Case(StrEnum):
    NOM = "nom"  # именительный: «пятнадцатое декабря»
    GEN = "gen"  # родительный: «до пятнадцатого декабря»
    DAT = "dat"  # дательный: «к пятнадцатому декабря»
    ACC = "acc"  # винительный: «на пятнадцатое декабря»
    INS = "ins"  # творительный: «перед пятнадцатым декабря»
    LOC = "loc"  # предложный: «о пятнадцатом декабря»

    @property
    def num2words(self) -> str:
        return {"loc": "p", "ins": "i"}.get(self.value, self.value[0])

    @property
    def grammeme(self) -> str:
        """The OpenCorpora grammeme pymorphy3 uses for this case."""
        return {"nom": "nomn", "gen": "gent", "dat": "datv", "acc": "accs", "ins": "ablt", "loc": "loct"}[
            self
        ]


class Gender(StrEnum):
    MASC = "m"
    FEM = "f"
    NEUT = "n"


CASE_NAMES: dict[str, Case] = {
    **{case.value: case for case in Case},
    "prep": Case.LOC,
    "nominative": Case.NOM,
    "genitive": Case.GEN,
    "dative": Case.DAT,
    "accusative": Case.ACC,
    "instrumental": Case.INS,
    "prepositional": Case.LOC,
    "locative": Case.LOC,
    "им": Case.NOM,
    "род": Case.GEN,
    "дат": Case.DAT,
    "вин": Case.ACC,
    "тв": Case.INS,
    "твор": Case.INS,
    "пр": Case.LOC,
    "пред": Case.LOC,
    "именительный": Case.NOM,
    "родительный": Case.GEN,
    "дательный": Case.DAT,
    "винительный": Case.ACC,
    "творительный": Case.INS,
    "предложный": Case.LOC,
}
CASE_CHOICES = "nom, gen, dat, acc, ins, loc (or им, род, дат, вин, тв, пр)"

# The case a preposition (or a preposition-like phrase) gives the number or date right after it.
PREPOSITIONS: dict[str, Case] = {
    **dict.fromkeys(
        [
            "до",
            "с",
            "со",
            "от",
            "после",
            "около",
            "для",
            "без",
            "из",
            "у",
            "кроме",
            "вместо",
            "возле",
            "более",
            "менее",
            "больше",
            "меньше",
            "свыше",
            "выше",
            "ниже",
            "позднее",
            "позже",
            "раньше",
            "ранее",
            "накануне",
        ],
        Case.GEN,
    ),
    **dict.fromkeys(
        [
            "в течение",
            "в течении",
            "в размере",
            "в районе",
            "в пределах",
            "в счёт",
            "в счет",
            "по истечении",
            "в количестве",
            "не позднее",
            "не позже",
        ],
        Case.GEN,
    ),
    **dict.fromkeys(["к", "ко", "по", "благодаря", "согласно", "вопреки"], Case.DAT),
    **dict.fromkeys(["на", "в", "во", "про", "через", "за", "спустя"], Case.ACC),
    **dict.fromkeys(["перед", "между", "над", "под"], Case.INS),
    **dict.fromkeys(["о", "об", "обо", "при"], Case.LOC),
}
_LAST_WORD = re.compile(r"(?<![а-яё])([а-яё]+)\s+$", re.IGNORECASE)
_LAST_TWO_WORDS = re.compile(r"(?<![а-яё])([а-яё]+)\s+([а-яё]+)\s+$", re.IGNORECASE)
_CLAUSE_START = re.compile(r"(^|[.!?;:,—–(«\"-])\s*$")


def parse_case(name: str) -> Case:
    """A case by any accepted name (`gen`, `genitive`, `род`, `родительный`); ValueError names the choices."""
    case = CASE_NAMES.get(name.strip().lower())
    if case is None:
        raise ValueError(f"unknown case '{name}': expected one of {CASE_CHOICES}")
    return case


def preposition_case(before: str) -> tuple[str, Case] | None:
    """The preposition ending `before` (the text right before a value) and the case it gives, if any."""
    if _CLAUSE_START.search(before):
        return None
    tail = before[-40:]
    if two := _LAST_TWO_WORDS.search(tail):
        phrase = f"{two.group(1)} {two.group(2)}".lower()
        if phrase in PREPOSITIONS:
            return phrase, PREPOSITIONS[phrase]
    if one := _LAST_WORD.search(tail):
        word = one.group(1).lower()
        if word in PREPOSITIONS:
            return word, PREPOSITIONS[word]
    return None


def starts_clause(before: str) -> bool:
    """Whether a value right after `before` begins a sentence or clause (nothing, or punctuation, before it)."""
    return bool(_CLAUSE_START.search(before))
