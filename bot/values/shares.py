"""A share of a known amount said instead of a number: "всю сумму", "полностью", "половину", "in full", "half".

A caller asked how much they will pay answers "всю" far more often than "двадцать пять тысяч"; the capture that
knows the full amount (`whole:` in a script) turns the share into money.
"""

from __future__ import annotations

from decimal import Decimal

from bot.values.numbers import normalise

_WHOLE = {
    "ru": ("всю", "весь", "все", "полностью", "целиком", "полную", "полная", "сразу всю", "до копейки"),
    "en": ("all", "full", "in full", "everything", "the whole", "entire", "whole amount"),
}
_HALF = {"ru": ("половину", "половина", "пополам"), "en": ("half",)}


def parse_share(text: str, lang: str) -> Decimal | None:
    """1 for the whole amount, 0.5 for half of it, None when no share was said."""
    words = normalise(text).split()
    joined = f" {' '.join(words)} "
    if any(f" {cue} " in joined for cue in _HALF.get(lang, ())):
        return Decimal("0.5")
    if any(f" {cue} " in joined for cue in _WHOLE.get(lang, ())):
        return Decimal(1)
    return None
