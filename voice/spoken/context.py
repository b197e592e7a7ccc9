"""The case a value takes from the words before it: a preposition ("до {due_date}"), a transitive verb ("внесите
{amount}" → accusative), the start of a clause ("Первое — {slot1}" → nominative)."""

from __future__ import annotations

import re

from voice.spoken import russian
from voice.spoken.grammar import Case, preposition_case, starts_clause

_LAST_WORD = re.compile(r"([а-яё]+)\s+$", re.IGNORECASE)


def date_case(before: str) -> Case:
    """A date after a preposition takes its case ("по" + date: accusative, "по пятнадцатое"); with none, a date
    that starts a clause is named ("Первое — пятнадцатое декабря"), one inside a sentence says when
    ("оплатить пятнадцатого декабря")."""
    found = preposition_case(before)
    if found:
        return Case.ACC if found[0] == "по" else found[1]
    return Case.NOM if starts_clause(before) else Case.GEN


def number_case(number: int, before: str) -> Case:
    """The case of a number after `before`: a preposition's (distributive "по" is dative only for one: "по одному
    рублю", "по пять рублей"); the object of a transitive verb is accusative ("внесите двадцать одну тысячу");
    else nominative."""
    preposition = preposition_case(before)
    if preposition is None:
        verb = _LAST_WORD.search(before)
        return Case.ACC if verb and russian.is_transitive_verb(verb.group(1)) else Case.NOM
    word, case = preposition
    if word == "по":
        return Case.DAT if number % 10 == 1 and number % 100 != 11 else Case.ACC
    return case
