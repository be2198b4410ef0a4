"""Power before the compute is spent: the smallest effect a planned number of items can detect.

With paired differences of per-item standard deviation σ on n items, the difference's standard
error is σ/√n, and a two-sided 95% test finds a true effect δ with 80% power when
δ ≥ (z₀.₉₇₅ + z₀.₈₀)·σ/√n ≈ 2.80·σ/√n. σ comes from an earlier run of the same model (the claims
record it as ``sd_item``) or, before any run, from a stated default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from polyalign.stats.bootstrap import Z_POWER, Z_TWO_SIDED

# Per-item standard deviation of a paired difference, before any run measured one: sentence chrF++
# of two systems on the same sentence differs by about this much (SmolLM2-135M, held-out pairs);
# accuracy items are 0 or 100; a parallel pair's centred cosine moves by about 0.05.
DEFAULT_SD = {"chrF++": 10.0, "accuracy": 45.0, "cosine": 0.05}


def detectable(sd_item: float, n_items: int, power: float = 0.80, level: float = 0.95) -> float:
    """The smallest true paired effect ``n_items`` detect with ``power`` at ``level`` two-sided.

    >>> round(detectable(10.0, 40), 2)
    4.43
    """
    if n_items < 1:
        raise ValueError("a plan needs at least one item")
    from statistics import NormalDist

    z = Z_TWO_SIDED if level == 0.95 else NormalDist().inv_cdf(1 - (1 - level) / 2)
    zp = Z_POWER if power == 0.80 else NormalDist().inv_cdf(power)
    return (z + zp) * sd_item / math.sqrt(n_items)


def sd_of_differences(a: Sequence[float], b: Sequence[float]) -> float:
    """Per-item standard deviation of the paired differences ``a − b`` (n − 1 in the denominator).

    >>> sd_of_differences([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    1.0
    """
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("paired differences need two equal lists of at least 2 items")
    d = [x - y for x, y in zip(a, b)]
    m = sum(d) / len(d)
    return math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1))


def plan_line(label: str, n_items: int, unit: str, metric: str, sd_item: float | None, source: str) -> str:
    """``CoIT: 40 items per direction, detectable ≥ 4.4 chrF++ (σ 10.0 per item: default)``."""
    sd = DEFAULT_SD.get(metric, 1.0) if sd_item is None else sd_item
    where = "stated default" if sd_item is None else source
    prec = 3 if metric == "cosine" else 1
    return (
        f"{label}: {n_items} {unit}, detectable ≥ {detectable(sd, n_items):.{prec}f} {metric} "
        f"(80% power, 95% two-sided; per-item σ {sd:.{prec}f} from {where})"
    )
