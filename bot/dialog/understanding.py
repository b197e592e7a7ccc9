"""What a caller's words mean beyond their intent: corrections said in one breath, and negation.

"нет, то есть да" is a yes; "пятнадцатого, ой, двадцатого" is the twentieth: a caller who corrects themselves
means what they said last, so only the words after the last correction are classified and parsed.
"""

from __future__ import annotations

import re

_CORRECTIONS = {
    "ru": ("то есть", "ой", "вернее", "точнее", "в смысле", "ой нет", "нет стоп", "стоп", "поправлюсь"),
    "en": ("i mean", "sorry i mean", "no wait", "wait no", "or rather", "correction", "scratch that"),
}
_CORRECTION = {
    lang: re.compile(r"\b(?:" + "|".join(re.escape(m) for m in sorted(marks, key=len, reverse=True)) + r")\b")
    for lang, marks in _CORRECTIONS.items()
}
_NEGATIONS = {
    "ru": {"не", "нет", "неа", "нету", "ни", "никак", "никогда", "нельзя", "невозможно", "отказываюсь"},
    "en": {
        "no", "not", "nope", "never", "cannot", "cant", "wont", "dont", "doesnt", "didnt", "isnt", "arent",
        "couldnt", "wouldnt", "havent", "nah", "refuse",
    },
}


def corrected(text: str, lang: str) -> str:
    """The words after the caller's last self-correction (the whole text when there is none, or nothing
    follows it)."""
    lowered = text.lower()
    marks = list(_CORRECTION.get(lang, _CORRECTION["ru"]).finditer(lowered))
    if not marks:
        return text
    rest = text[marks[-1].end() :].strip(" ,.;:-—!?")
    return rest if re.search(r"\w", rest) else text


def has_negation(text: str, lang: str) -> bool:
    """Whether the caller negated anything ("не смогу", "no", "can't")."""
    words = re.findall(r"[\w']+", text.lower().replace("ё", "е"))
    words = [w.replace("'", "") for w in words]
    return bool(_NEGATIONS.get(lang, _NEGATIONS["ru"]) & set(words))
