"""Small numeric helpers shared by the metric modules: rates, means and percentiles.

Every helper returns None for an empty input instead of 0, so "not measured" never looks
like a measured zero. Rounded to 4 decimals so metrics.json stays readable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def rate(flags: Iterable[bool | None]) -> float | None:
    """Share of True among the non-None flags; None when there are none."""
    values = [bool(f) for f in flags if f is not None]
    return round(sum(values) / len(values), 4) if values else None


def mean(values: Iterable[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks."""
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    value = xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return round(value, 4)


def count(flags: Iterable[bool | None]) -> int:
    return sum(1 for f in flags if f)
