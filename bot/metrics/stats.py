"""Rates and percentiles with the metrics' edge cases: an empty denominator gives None."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percent(part: int | float, whole: int | float) -> float | None:
    """`part / whole` in per cent, two decimals; None when `whole` is zero."""
    return None if not whole else round(100 * part / whole, 2)


def mean(total: float, count: int) -> float | None:
    return None if not count else round(total / count, 2)


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `p` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
