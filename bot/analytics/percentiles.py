"""Percentiles of durations, by the nearest-rank method (no interpolation).

The p-th percentile of n values is the value at rank ⌈p/100 · n⌉ (1-based) of the values sorted
in ascending order: the smallest value with at least p % of the values at or below it. It is
always one of the measured values; p50 of [1, 2, 3, 4] is 2, p90 of ten values is the 9th.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The `percent`-th percentile of `values` (0 < percent ≤ 100); None when there are none."""
    if not 0 < percent <= 100:
        raise ValueError("percent must be in (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    # percent · n first: exact for whole percents, so 90 · 10 / 100 is 9, never 9.000…1.
    rank = math.ceil(percent * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]
