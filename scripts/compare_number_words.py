"""Compare the candidate libraries for speech rendering on one small table of expected words.

Run: .venv/bin/python scripts/compare_number_words.py  (inflect is optional: `pip install inflect==7.6.0`)
Prints a Markdown table: each row a phrase, each column what one library gives (✓ when it is the expected
text, ✗ and its text otherwise, — when the library cannot do it). The results are kept in docs/speech-rendering.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date
from num2words import num2words
from pymorphy3 import MorphAnalyzer

try:
    import inflect

    english = inflect.engine()
except ImportError:  # not a dependency of the platform
    english = None

morph = MorphAnalyzer()


def agree(noun: str, number: int, case: str = "nomn") -> str:
    """pymorphy3 alone: the noun in `case`, then make_agree_with_number."""
    return morph.parse(noun)[0].inflect({case}).make_agree_with_number(number).word


# phrase, expected, {library: how it says it}
Row = tuple[str, str, dict[str, Callable[[], str]]]
ROWS: list[Row] = [
    ("ru 21000 (nominative)", "двадцать одна тысяча", {"num2words": lambda: num2words(21000, lang="ru")}),
    ("ru до 2 (genitive)", "двух", {"num2words": lambda: num2words(2, lang="ru", case="g")}),
    ("ru внесите 2 (accusative, inanimate)", "два", {"num2words": lambda: num2words(2, lang="ru", case="a")}),
    ("ru 1000000 before a feminine noun", "один миллион",
     {"num2words": lambda: num2words(1000000, lang="ru", gender="f")}),
    ("ru 1000 (said aloud)", "тысяча", {"num2words": lambda: num2words(1000, lang="ru")}),
    ("ru до 15-го (ordinal, neuter, genitive)", "пятнадцатого",
     {"num2words": lambda: num2words(15, lang="ru", to="ordinal", case="g", gender="n")}),
    ("ru к 22-му (ordinal, neuter, dative)", "двадцать второму",
     {"num2words": lambda: num2words(22, lang="ru", to="ordinal", case="d", gender="n")}),
    ("ru 3-е (ordinal, neuter)", "третье", {"num2words": lambda: num2words(3, lang="ru", to="ordinal", gender="n")}),
    ("ru 3 платёж → noun form", "платежа", {"pymorphy3": lambda: agree("платёж", 3)}),
    ("ru до 21 неделя → noun form", "недели", {"pymorphy3": lambda: agree("неделя", 21, "gent")}),
    ("ru о 2000 рубль → noun form", "рублей", {"pymorphy3": lambda: agree("рубль", 2000, "loct")}),
    ("ru month of 15.12", "декабря", {"babel": lambda: format_date(date(2026, 12, 15), "MMMM", locale="ru")}),
    ("en 21000", "twenty-one thousand",
     {"num2words": lambda: num2words(21000, lang="en"), "inflect": lambda: english.number_to_words(21000)}),
    ("en 10500 (no comma: a voice pauses at one)", "ten thousand five hundred",
     {"num2words": lambda: num2words(10500, lang="en"), "inflect": lambda: english.number_to_words(10500)}),
    ("en December 22", "twenty-second",
     {"num2words": lambda: num2words(22, lang="en", to="ordinal"),
      "inflect": lambda: english.number_to_words(english.ordinal(22))}),
    ("en in 2026", "twenty twenty-six",
     {"num2words": lambda: num2words(2026, lang="en", to="year"),
      "inflect": lambda: english.number_to_words(2026, group=2)}),
]  # fmt: skip
LIBRARIES = ["num2words", "pymorphy3", "babel", "inflect"]


def cell(say: Callable[[], str] | None, expected: str, library: str) -> str:
    if say is None:
        return "—"
    if library == "inflect" and english is None:
        return "not installed"
    try:
        got = say()
    except Exception as exc:  # a library that fails on a row is a result, not a crash
        return f"✗ error: {exc}"
    return "✓" if got == expected else f"✗ {got}"


def main() -> None:
    print("| phrase | expected | " + " | ".join(LIBRARIES) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in LIBRARIES) + " |")
    for phrase, expected, says in ROWS:
        cells = [cell(says.get(library), expected, library) for library in LIBRARIES]
        print(f"| {phrase} | {expected} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
