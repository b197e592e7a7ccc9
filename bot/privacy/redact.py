"""Finding and masking identifiers in a text: bank cards, passports, SNILS, INN, phones, e-mails, sensitive values.

Numbers are found as runs of digits and number words ("4276 1234-5678 9012", "четыре два семь шесть …",
"сорок пять шестьдесят", "double five oh") read to digits by the value parser (`bot.values.numbers`), then told
apart by length, check digits and the words before them (in the text or in `context`, e.g. the robot's
question): cards by Luhn, SNILS and INN by their check digits, phones by `phonenumbers`, a passport only where a
passport or its series is mentioned. Amounts, dates, times and order numbers are left alone. Cards and phones
keep their last four digits ("[карта •••• 1234]"), everything else is masked whole (`docs/privacy.md`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from bot.core.phones import PhoneError, PhoneNormalizer
from bot.privacy.checksums import inn_valid, luhn_valid, snils_valid
from bot.values.numbers import Ordinal, parse_digits, tokens


class Kind(StrEnum):
    """What a masked span was."""

    CARD = "card"
    PASSPORT = "passport"
    SNILS = "snils"
    INN = "inn"
    PHONE = "phone"
    EMAIL = "email"
    SENSITIVE_SLOT = "sensitive_slot"


_LABELS: dict[Kind, dict[str, str]] = {
    Kind.CARD: {"ru": "карта", "en": "card"},
    Kind.PASSPORT: {"ru": "паспорт", "en": "passport"},
    Kind.SNILS: {"ru": "СНИЛС", "en": "SNILS"},
    Kind.INN: {"ru": "ИНН", "en": "INN"},
    Kind.PHONE: {"ru": "телефон", "en": "phone"},
    Kind.EMAIL: {"ru": "эл. почта", "en": "e-mail"},
    Kind.SENSITIVE_SLOT: {"ru": "скрыто", "en": "hidden"},
}
_KEEPS_LAST_FOUR = (Kind.CARD, Kind.PHONE)


@dataclass(frozen=True)
class Finding:
    """One identifier: its kind, where it is in the text, and the digits a mask keeps (cards and phones)."""

    kind: Kind
    start: int
    end: int
    last4: str = ""


@dataclass(frozen=True)
class Redacted:
    """A text with its identifiers masked, and what was found."""

    text: str
    findings: tuple[Finding, ...]


def mask(kind: Kind, lang: str | None, last4: str = "") -> str:
    """The text that stands for a masked identifier: "[карта •••• 1234]", "[passport]"."""
    label = _LABELS[kind]["ru" if lang == "ru" else "en"]
    return f"[{label} •••• {last4}]" if last4 and kind in _KEEPS_LAST_FOUR else f"[{label}]"


def redact(text: str, lang: str | None, context: str = "", secrets: Iterable[str] = ()) -> Redacted:
    """`text` with every identifier masked. `lang` is "ru", "en" or None (either: a log line); `context` is text
    said just before (the robot's question, which may ask for a passport); `secrets` are values to mask wherever
    they appear (sensitive slots): as text, and as digits when they are numbers said in words."""
    findings = find(text, lang, context, secrets)
    out, at = [], 0
    for f in findings:
        out += [text[at : f.start], mask(f.kind, lang, f.last4)]
        at = f.end
    return Redacted("".join([*out, text[at:]]), tuple(findings))


def find(text: str, lang: str | None, context: str = "", secrets: Iterable[str] = ()) -> list[Finding]:
    """The identifiers in `text`, in order, not overlapping (see `redact`)."""
    secrets = [s for s in secrets if len(s) >= 3]
    found = _secret_spans(text, secrets)
    found += [Finding(Kind.EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
    found += [Finding(Kind.EMAIL, m.start(), m.end()) for m in _SPOKEN_EMAIL.finditer(text)]
    secret_digits = {s for s in secrets if s.isdigit()}
    for run in _passport_pairs(_number_runs(text, lang), text, context):
        if kind := _classify(run, text, lang, context, secret_digits):
            found.append(
                Finding(kind, run.start, run.end, run.digits[-4:] if kind in _KEEPS_LAST_FOUR else "")
            )
    return _without_overlaps(found)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOT = r"\s+(?:точка|dot)\s+"
# "иван точка петров собака мейл точка ру", "john dot smith at example dot com": the domain follows the last "at"
_SPOKEN_EMAIL = re.compile(
    rf"\b[\w-]+(?:{_DOT}[\w-]+)*\s+(?:собака|at)\s+[\w-]+(?:{_DOT}[\w-]+)+\b(?!\s+(?:собака|at)\s)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_JOINER = re.compile(r"[\s\-–—()+]*")  # what may stand between the words of one number: "+7 (912) 345-67-89"
_PLUS = {"плюс", "plus"}
_CONTINUES = {"ru": {"нуль"}, "en": {"oh", "o", "double", "triple"}}  # digits only after another number word


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    digits: str
    plus: bool  # said or written with a leading plus: an international phone number
    passport_pair: bool = False  # series and number with "номер" between them


def _lang_of(word: str, lang: str | None) -> str:
    if lang in ("ru", "en"):
        return lang
    return "ru" if re.search(r"[а-яё]", word) else "en"


@lru_cache(maxsize=4096)
def _is_number_word(word: str, lang: str) -> bool:
    found = tokens(word, lang)
    return len(found) == 1 and isinstance(found[0], int) and not isinstance(found[0], Ordinal)


def _number_runs(text: str, lang: str | None) -> list[_Run]:
    """Runs of digits and cardinal number words joined only by spaces, dashes, brackets or a plus."""
    runs: list[_Run] = []
    words: list[re.Match[str]] = []
    plus_at: int | None = None  # where the plus ("+", "плюс") before the run starts
    previous_end = 0
    for match in _WORD.finditer(text):
        if words and not _JOINER.fullmatch(text, previous_end, match.start()):
            runs.append(_run(text, words, lang, plus_at))
            words, plus_at = [], None
        word = match[0].lower().replace("ё", "е")
        word_lang = _lang_of(word, lang)
        if word.isdigit() or _is_number_word(word, word_lang) or (words and word in _CONTINUES[word_lang]):
            if not words and plus_at is None and match.start() and text[match.start() - 1] == "+":
                plus_at = match.start() - 1
            words.append(match)
        else:
            if words:
                runs.append(_run(text, words, lang, plus_at))
                words = []
            plus_at = match.start() if word in _PLUS else None
        previous_end = match.end()
    if words:
        runs.append(_run(text, words, lang, plus_at))
    return [run for run in runs if run.digits]


def _run(text: str, words: list[re.Match[str]], lang: str | None, plus_at: int | None) -> _Run:
    """A run of number words; `plus_at` is where its plus ("+", "плюс") starts, if it has one."""
    start, end = words[0].start(), words[-1].end()
    if all(w[0].isdigit() for w in words):
        digits = "".join(w[0] for w in words)
    else:
        digits = parse_digits(text[start:end], _lang_of(text[start:end].lower(), lang)) or ""
    return _Run(start if plus_at is None else plus_at, end, digits, plus_at is not None)


_PASSPORT_WORDS = ("паспорт", "серия", "серию", "серии", "passport")
_SNILS_WORDS = ("снилс", "snils", "страхов", "insurance number")
_INN_WORDS = ("инн", "inn", "taxpayer", "tax number", "налогоплат")
_NUMBER_WORD = re.compile(r"\W*(?:номер|number|no|№)?\W*", re.IGNORECASE)


def _context(text: str, start: int, context: str) -> str:
    """What was said before a number: the outside context and the words before it in this text."""
    return f"{context} {text[max(0, start - 60) : start]}".lower().replace("ё", "е")


def _mentions(before: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", before) for w in words)


def _passport_pairs(runs: list[_Run], text: str, context: str) -> list[_Run]:
    """A passport's series (4 digits) and number (6 digits) with "номер" between them become one run."""
    out: list[_Run] = []
    for run in runs:
        last = out[-1] if out else None
        if (
            last
            and len(last.digits) == 4
            and len(run.digits) == 6
            and _NUMBER_WORD.fullmatch(text, last.end, run.start)
            and _mentions(_context(text, last.start, context), _PASSPORT_WORDS)
        ):
            out[-1] = _Run(last.start, run.end, last.digits + run.digits, False, passport_pair=True)
        else:
            out.append(run)
    return out


def _classify(run: _Run, text: str, lang: str | None, context: str, secret_digits: set[str]) -> Kind | None:
    digits, n = run.digits, len(run.digits)
    if digits in secret_digits:
        return Kind.SENSITIVE_SLOT
    before = _context(text, run.start, context)
    if run.passport_pair or (n == 10 and _mentions(before, _PASSPORT_WORDS)):
        return Kind.PASSPORT
    if 13 <= n <= 19 and luhn_valid(digits) and not run.plus:
        return Kind.CARD
    if n == 11 and _mentions(before, _SNILS_WORDS) and snils_valid(digits):
        return Kind.SNILS
    if n in (10, 12) and _mentions(before, _INN_WORDS) and inn_valid(digits):
        return Kind.INN
    if _is_phone(digits, run.plus, lang):
        return Kind.PHONE
    if n == 11 and snils_valid(digits):
        return Kind.SNILS
    if n in (10, 12) and inn_valid(digits):
        return Kind.INN
    return None


_PHONES = PhoneNormalizer("RU")


def _is_phone(digits: str, plus: bool, lang: str | None) -> bool:
    """A valid number: international with a plus, or national (Russian; American too in English text)."""
    if plus:
        candidates = ["+" + digits] if 11 <= len(digits) <= 15 else []
    elif len(digits) == 11 and digits[0] in "78":
        candidates = [digits]
    elif len(digits) == 10:
        candidates = ["+7" + digits] if lang == "ru" else ["+7" + digits, "+1" + digits]
    else:
        candidates = []
    for candidate in candidates:
        try:
            _PHONES.normalize(candidate)
        except PhoneError:
            continue
        return True
    return False


def _secret_spans(text: str, secrets: list[str]) -> list[Finding]:
    lowered = text.lower()
    found = []
    for secret in secrets:
        needle = secret.lower()
        at = lowered.find(needle)
        while at >= 0:
            found.append(Finding(Kind.SENSITIVE_SLOT, at, at + len(needle)))
            at = lowered.find(needle, at + len(needle))
    return found


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """In text order; of two overlapping spans the one found first (secrets, e-mails, then numbers) wins."""
    kept: list[Finding] = []
    for f in found:
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
