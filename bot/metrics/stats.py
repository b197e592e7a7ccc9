"""Rates with the metrics' edge cases: an empty denominator gives None (percentiles: bot/core/stats.py)."""

from __future__ import annotations


def percent(part: int | float, whole: int | float) -> float | None:
    """`part / whole` in per cent, two decimals; None when `whole` is zero."""
    return None if not whole else round(100 * part / whole, 2)


def mean(total: float, count: int) -> float | None:
    return None if not count else round(total / count, 2)
