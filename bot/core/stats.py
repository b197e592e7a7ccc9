"""The one percentile of the platform, used alike by metrics and benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `p` % of the values at or below it; None
    when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def nearest_rank_or_nan(values: Sequence[float], p: float) -> float:
    """`nearest_rank()` for printed reports: NaN when there are no values."""
    found = nearest_rank(values, p)
    return math.nan if found is None else found
