"""The one percentile: nearest rank, as metrics and benchmarks report it."""

import math

from bot.core.stats import nearest_rank, nearest_rank_or_nan


def test_nearest_rank_is_the_smallest_value_with_p_percent_at_or_below_it():
    values = [7.0, 1.0, 10.0, 3.0, 2.0, 9.0, 4.0, 6.0, 5.0, 8.0]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 95) == 10.0
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(values, 0) == 1.0
    assert nearest_rank([42.0], 99) == 42.0


def test_no_values_have_no_percentile():
    assert nearest_rank([], 95) is None
    assert math.isnan(nearest_rank_or_nan([], 95))
    assert nearest_rank_or_nan([3.0, 1.0], 50) == 1.0
