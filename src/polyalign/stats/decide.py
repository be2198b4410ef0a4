"""Verdicts from paired intervals: four words, and how parts combine.

* **supported** — the 95% interval lies on the claimed side of the line (or, for an equivalence
  claim, inside the margin);
* **contradicted** — it lies on the other side (outside the margin);
* **inconclusive** — it spans the line (the margin's edge);
* **not measured** — the data the claim needs is missing (decided by the caller).

A claim that says *every* part (each CoIT arm, each language) is decided by Holm's step-down
correction over the parts' one-sided bootstrap p-values, so that more parts do not mean more
chances to be lucky; a claim over a pool is decided by the pooled effect's interval.

An effect measured on fewer than :data:`MIN_ITEMS` items is never decided either way: a percentile
bootstrap over so few items can only redraw the handful of values they take (two items give three
possible means), so its "95%" interval covers far less than 95% and a quick run's two items would
otherwise read as proof. Such a comparison is inconclusive, and the report says it had too few items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from polyalign.stats.bootstrap import Effect

Verdict = Literal["supported", "contradicted", "inconclusive", "not measured"]
ALPHA = 0.05  # two-sided; each one-sided test runs at ALPHA / 2, as the 95% interval does
MIN_ITEMS = 10
"""The fewest items (pairs, sentences, questions) on which an effect is decided."""


def too_few(effects: Sequence[Effect]) -> int | None:
    """The smallest item count among ``effects`` when it is below :data:`MIN_ITEMS`, else None."""
    n = min((e.n for e in effects), default=MIN_ITEMS)
    return n if n < MIN_ITEMS else None


def above(e: Effect, line: float = 0.0) -> Verdict:
    """Is the effect above ``line``? From the interval alone.

    >>> import numpy as np
    >>> above(Effect(2.0, 0.5, 3.5, 10, 0.8, np.zeros(0)))
    'supported'
    >>> above(Effect(2.0, 0.5, 3.5, 2, 0.8, np.zeros(0)))  # two items decide nothing
    'inconclusive'
    """
    if too_few([e]):
        return "inconclusive"
    if e.low > line:
        return "supported"
    if e.high < line:
        return "contradicted"
    return "inconclusive"


def equivalent(e: Effect, margin: float) -> Verdict:
    """Is the effect within ±``margin``? Supported when the interval lies inside, contradicted when
    it lies wholly outside, inconclusive when it straddles an edge."""
    if too_few([e]):
        return "inconclusive"
    if -margin < e.low and e.high < margin:
        return "supported"
    if e.high < -margin or e.low > margin:
        return "contradicted"
    return "inconclusive"


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (monotone, capped at 1).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = round(running, 12)
    return out


def every_above(effects: Sequence[Effect], line: float = 0.0, alpha: float = ALPHA) -> Verdict:
    """Every part above ``line`` (Holm over the parts): supported when Holm rejects "at most the line"
    for all of them; contradicted when it finds any part below the line; else inconclusive. One part
    is decided by its interval (:func:`above`)."""
    if too_few(effects):
        return "inconclusive"
    if len(effects) == 1:
        return above(effects[0], line)
    if all(p < alpha / 2 for p in holm([e.p_above(line) for e in effects])):
        return "supported"
    if any(p < alpha / 2 for p in holm([e.p_below(line) for e in effects])):
        return "contradicted"
    return "inconclusive"


def every_equivalent(effects: Sequence[Effect], margin: float, alpha: float = ALPHA) -> Verdict:
    """Every part within ±``margin`` (two one-sided tests per part, Holm over the parts); contradicted
    when Holm finds any part wholly outside the margin. One part: :func:`equivalent`."""
    if too_few(effects):
        return "inconclusive"
    if len(effects) == 1:
        return equivalent(effects[0], margin)
    inside = holm([max(e.p_above(-margin), e.p_below(margin)) for e in effects])
    if all(p < alpha / 2 for p in inside):
        return "supported"
    outside = holm([min(e.p_below(-margin), e.p_above(margin)) for e in effects])
    if any(p < alpha / 2 for p in outside):
        return "contradicted"
    return "inconclusive"


def combine(verdicts: Sequence[Verdict]) -> Verdict:
    """Parts decided on their own (a law per language): all supported → supported; any contradicted
    → contradicted; nothing measured → not measured; else inconclusive."""
    measured = [v for v in verdicts if v != "not measured"]
    if not measured:
        return "not measured"
    if any(v == "contradicted" for v in measured):
        return "contradicted"
    if len(measured) == len(verdicts) and all(v == "supported" for v in measured):
        return "supported"
    return "inconclusive"
