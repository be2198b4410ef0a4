"""Paired bootstrap over items: the effect of system A against system B with a 95% interval.

Every comparison is *paired*: A and B were scored on the same items, and each resample draws the
same items for both, so the item-to-item spread that A and B share cancels out of the difference.
A metric is a :class:`Measure`: per-item sufficient statistics and a function from their sum to a
score, as sacrebleu's metrics are built (``metric._extract_corpus_statistics`` per sentence,
``metric._compute_score_from_stats`` on the sum). So corpus chrF++ and BLEU are recomputed on every
resample exactly as sacrebleu's own paired bootstrap (``sacrebleu.significance``) does, and a mean
(F1, accuracy, COMET, a cosine) is the same path with ``(value, 1)`` per item.

``sacrebleu.significance.PairedTest`` itself reports a p-value and each system's own interval, not
an interval of the *difference*, and it scores one corpus at a time; so the resampling loop is here
(seeded numpy multinomial counts over items, the same draw for both systems) while every score is
sacrebleu's.

A claim over several parts (languages, directions, arms) resamples the items of each part apart,
with one seeded generator, and pools the parts' differences by their mean on every resample.

>>> a, b = mean_measure([3.0, 4.0, 5.0, 6.0]), mean_measure([1.0, 2.0, 3.0, 4.0])
>>> c = paired_bootstrap({"x": (a, b)}, resamples=200, seed=0)
>>> c.parts["x"].effect, c.parts["x"].low, c.parts["x"].high
(2.0, 2.0, 2.0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

LEVEL = 0.95
RESAMPLES = 1000
Z_POWER = NormalDist().inv_cdf(0.80)  # 80% power
Z_TWO_SIDED = NormalDist().inv_cdf(0.975)  # 95% two-sided


@dataclass(frozen=True)
class Measure:
    """Per-item sufficient statistics ``stats`` (items × d) and ``score``: summed stats (rows × d) → scores."""

    stats: np.ndarray
    score: Callable[[np.ndarray], np.ndarray]
    name: str

    @property
    def n(self) -> int:
        return int(self.stats.shape[0])

    def total(self) -> float:
        """The score of all items."""
        return float(self.score(self.stats.sum(axis=0, keepdims=True))[0])


def mean_measure(values: Sequence[float], name: str = "mean") -> Measure:
    """The mean of per-item values (F1, accuracy × 100, COMET, a cosine): stats ``(value, 1)``."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or not len(v):
        raise ValueError("a mean needs a non-empty list of numbers")
    stats = np.stack([v, np.ones_like(v)], axis=1)
    return Measure(stats, lambda s: s[:, 0] / s[:, 1], name)


def _signature_field(signature: str | None, key: str) -> str | None:
    m = re.search(rf"(?:^|\|){key}:([^|]+)", signature or "")
    return m.group(1) if m else None


def corpus_measure(
    hyps: Sequence[str], refs: Sequence[str], metric: Literal["chrf", "bleu"], signature: str | None = None
) -> Measure:
    """Corpus chrF++ or BLEU of ``hyps`` against one reference each, as sacrebleu scores it.

    ``signature`` (the one the result carries) sets the metric as it was measured: chrF's ``nc``
    and ``nw`` (default chrF++: 6 and 2), BLEU's ``tok`` (default ``13a``). The per-item statistics
    are sacrebleu's; the score of a summed row is sacrebleu's ``_compute_score_from_stats``.
    """
    from sacrebleu.metrics import BLEU, CHRF

    if len(hyps) != len(refs) or not hyps:
        raise ValueError(f"{len(hyps)} hypotheses against {len(refs)} references")
    if metric == "chrf":
        nc, nw = _signature_field(signature, "nc"), _signature_field(signature, "nw")
        m: Any = CHRF(char_order=int(nc or 6), word_order=int(nw or 2))
        name = "chrF++" if int(nw or 2) == 2 else "chrF"
    elif metric == "bleu":
        tok = _signature_field(signature, "tok") or "13a"
        if tok.startswith(("flores", "spm", "spBLEU")):
            raise ValueError(f"BLEU with tok:{tok} needs its SentencePiece model; rescore with chrF++")
        m, name = BLEU(tokenize=tok), "BLEU"
    else:
        raise ValueError(f"unknown corpus metric {metric!r}")
    stats = np.asarray(m._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=float)

    def score(rows: np.ndarray) -> np.ndarray:
        return np.array([m._compute_score_from_stats(list(r)).score for r in rows], dtype=float)

    return Measure(stats, score, name)


@dataclass(frozen=True)
class Effect:
    """A paired difference A − B: the point estimate on all items, its percentile interval, the
    bootstrap's standard error and the draws themselves (for p-values)."""

    effect: float
    low: float
    high: float
    n: int
    se: float
    draws: np.ndarray = field(repr=False, compare=False)

    def p_above(self, line: float = 0.0) -> float:
        """One-sided bootstrap p-value against "the effect is at most ``line``"."""
        return float((np.sum(self.draws <= line) + 1) / (len(self.draws) + 1))

    def p_below(self, line: float = 0.0) -> float:
        """One-sided bootstrap p-value against "the effect is at least ``line``"."""
        return float((np.sum(self.draws >= line) + 1) / (len(self.draws) + 1))

    @property
    def detectable(self) -> float:
        """The smallest true effect this comparison finds with 80% power at 95% two-sided:
        (z₀.₉₇₅ + z₀.₈₀) × the standard error of the paired difference."""
        return (Z_TWO_SIDED + Z_POWER) * self.se

    @property
    def sd_item(self) -> float:
        """The per-item standard deviation of the paired difference this standard error implies
        (se × √n): what a plan with another number of items scales by."""
        return self.se * float(np.sqrt(self.n))

    def to_json(self) -> dict[str, float]:
        return {
            "effect": round(self.effect, 6),
            "low": round(self.low, 6),
            "high": round(self.high, 6),
            "n": self.n,
            "se": round(self.se, 6),
            "detectable": round(self.detectable, 6),
            "sd_item": round(self.sd_item, 6),
        }


def effect_of(point: float, draws: np.ndarray, n: int, level: float = LEVEL) -> Effect:
    """An :class:`Effect` from a point estimate and its bootstrap draws (percentile interval)."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    se = float(np.std(draws, ddof=1)) if len(draws) > 1 else 0.0
    return Effect(float(point), float(low), float(high), n, se, draws)


@dataclass(frozen=True)
class Comparison:
    """Each part's effect and, over several parts, the pooled one (mean of the parts' differences)."""

    parts: dict[str, Effect]
    pooled: Effect
    resamples: int
    seed: int

    def method(self) -> dict[str, Any]:
        return {
            "test": "paired bootstrap over items (percentile interval)",
            "level": LEVEL,
            "resamples": self.resamples,
            "seed": self.seed,
            "pooled": "mean of the parts' differences, items resampled within each part",
        }


def paired_bootstrap(
    parts: Mapping[str, tuple[Measure, Measure]], resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL
) -> Comparison:
    """A − B for every part (A and B scored on the same items, in the same order), and pooled.

    Each resample draws every part's items with replacement (multinomial counts, one seeded
    generator, parts in the given order), sums A's and B's statistics with the same counts and
    scores both: the difference is the resample's effect.
    """
    if not parts:
        raise ValueError("nothing to compare")
    if resamples < 2:
        raise ValueError("a bootstrap needs at least 2 resamples")
    rng = np.random.default_rng(seed)
    out, all_draws, points = {}, [], []
    for name, (a, b) in parts.items():
        if a.n != b.n:
            raise ValueError(f"{name}: {a.n} items against {b.n}; a paired comparison needs the same items")
        counts = rng.multinomial(a.n, np.full(a.n, 1.0 / a.n), size=resamples).astype(float)
        draws = a.score(counts @ a.stats) - b.score(counts @ b.stats)
        point = a.total() - b.total()
        out[name] = effect_of(point, draws, a.n, level)
        all_draws.append(draws)
        points.append(point)
    pooled = effect_of(float(np.mean(points)), np.mean(all_draws, axis=0), sum(e.n for e in out.values()), level)
    return Comparison(out, pooled, resamples, seed)
