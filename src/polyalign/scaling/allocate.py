"""Split a budget of parallel pairs across languages to maximise predicted quality.

Maximise Σ W_l·S_l(X_l) subject to Σ X_l = N and M ≤ X_l ≤ K_l, where S_l is a language's fitted
curve. For concave increasing curves the optimum equalises the weighted marginal gains
W_l·S_l'(X_l) = λ (clamped at the bounds): λ is found by bisection, then the continuous optimum
is rounded to integers summing exactly to N — floors, the remainder given unit by unit to the
largest marginal gain, then single-unit transfers while any improves the total (for separable
concave functions no improving transfer means the integer optimum). A curve that is not concave
and increasing is reported and the budget is split by dynamic programming over a fine grid of
sizes instead, finished by the same transfers. ``uniform`` and ``proportional`` (to the pairs
available) are the baselines, computed under the same bounds; a plan no better than a baseline is
replaced by it, and ``method`` / ``replaced_by`` say so.

A language's allocation outside the sizes its fit measured is **extrapolated** (``extrapolated``,
``extrapolated_note``): the law is then trusted beyond its data. A language with no measured
points (planned from its similarity alone under the shared fit) is always extrapolated; a fit
without ``sizes`` (written by hand) has an unknown range and ``extrapolated`` null.

Which curve each language gets depends on the fit: per language, γ is absorbed into α and does
not change the plan; under the shared fit (one α, β) a language's γ places it on the shared
curve, so γ moves its allocation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from polyalign.io import InputError
from polyalign.scaling.laws import concave_increasing, derivative, extrapolation, inverse_derivative, predict

DP_UNITS = 1000  # the discrete search splits the free budget into at most this many steps
MAX_BUDGET = 10**15  # pairs; beyond it sizes are no longer exact in the floating-point search
MAX_WEIGHT = 1e6  # weights are relative: any ratio between languages fits below this


@dataclass
class Curve:
    """One language's fitted curve, weight and bounds (``hi`` None: unbounded)."""

    form: str
    params: dict[str, float]
    gamma: float = 1.0
    weight: float = 1.0
    lo: int = 1
    hi: int | None = None

    def score(self, x: Any) -> np.ndarray:
        return predict(self.form, self.params, x, self.gamma)

    def value(self, x: Any) -> np.ndarray:
        return self.weight * self.score(x)

    @property
    def concave(self) -> bool:
        return self.weight > 0 and concave_increasing(self.form, self.params)


def _clamp(x: float, c: Curve) -> float:
    return min(max(x, c.lo), c.hi if c.hi is not None else math.inf)


def continuous_optimum(curves: dict[str, Curve], budget: int) -> dict[str, float]:
    """The exact continuous optimum for concave increasing curves (bisection on the multiplier)."""

    def at(lam: float) -> dict[str, float]:
        return {k: _clamp(inverse_derivative(c.form, c.params, lam / c.weight, c.gamma), c) for k, c in curves.items()}

    slopes_lo = [c.weight * float(derivative(c.form, c.params, c.lo, c.gamma)) for c in curves.values()]
    hi = max(slopes_lo) * 2  # every language at its minimum, or below the budget
    lo = hi
    while sum(at(lo).values()) < budget:
        lo /= 2
        if lo < 1e-300:
            break
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if sum(at(mid).values()) > budget:
            lo = mid
        else:
            hi = mid
    x = at(hi)
    return x


def _improve(x: dict[str, int], curves: dict[str, Curve]) -> dict[str, int]:
    """Move single units between languages while any move raises the total."""
    keys = list(curves)
    x = dict(x)
    while True:
        at = np.array([x[k] for k in keys])
        cs = [curves[k] for k in keys]
        gain = np.array(
            [float(c.value(n + 1) - c.value(n)) if c.hi is None or n < c.hi else -np.inf for c, n in zip(cs, at)]
        )
        loss = np.array([float(c.value(n) - c.value(n - 1)) if n > c.lo else np.inf for c, n in zip(cs, at)])
        table = gain[:, None] - loss[None, :]
        np.fill_diagonal(table, -np.inf)
        i, j = np.unravel_index(np.argmax(table), table.shape)
        if not table[i, j] > 1e-12 * (1 + abs(gain[i])):
            return x
        x[keys[i]] += 1
        x[keys[j]] -= 1


def _integer(x: dict[str, float], curves: dict[str, Curve], budget: int) -> dict[str, int]:
    """Round to integers summing to ``budget``: floors, then the remainder by marginal gain, then transfers."""
    out = {k: max(curves[k].lo, math.floor(v + 1e-9)) for k, v in x.items()}
    for _ in range(budget - sum(out.values())):
        room = [k for k, c in curves.items() if c.hi is None or out[k] < c.hi]
        best = max(room, key=lambda k: float(curves[k].value(out[k] + 1) - curves[k].value(out[k])))
        out[best] += 1
    while sum(out.values()) > budget:  # floors of clamped values can only overshoot by rounding
        k = min(
            (k for k in out if out[k] > curves[k].lo),
            key=lambda k: float(curves[k].value(out[k]) - curves[k].value(out[k] - 1)),
        )
        out[k] -= 1
    return _improve(out, curves)


def discrete_optimum(curves: dict[str, Curve], budget: int) -> tuple[dict[str, int], int]:
    """Dynamic programming over sizes ``lo + j·step`` for any curves; returns ``(allocation, step)``."""
    keys = list(curves)
    free = budget - sum(c.lo for c in curves.values())
    step = max(1, math.ceil(free / DP_UNITS))
    units = free // step
    best = np.zeros(units + 1)
    choice = []
    for i, k in enumerate(keys):
        c = curves[k]
        cap = units if c.hi is None else min(units, (c.hi - c.lo) // step)
        vals = np.full(units + 1, -np.inf)
        vals[: cap + 1] = c.value(c.lo + step * np.arange(cap + 1))
        if i == 0:
            best, arg = vals, np.arange(units + 1)
        else:
            j = np.arange(units + 1)
            table = best[j[:, None] - j[None, :]] + vals[None, :]  # total j, this language j'
            table[j[None, :] > j[:, None]] = -np.inf
            arg = np.argmax(table, axis=1)
            best = table[j, arg]
        choice.append(arg)
    total = int(np.argmax(np.where(np.isfinite(best), np.arange(units + 1), -1)))
    out: dict[str, int] = {}
    for k, arg in zip(reversed(keys), reversed(choice)):
        u = int(arg[total]) if k != keys[0] else total
        out[k] = curves[k].lo + step * u
        total -= u
    return _integer({k: out[k] for k in keys}, curves, budget), step


def _filled(curves: dict[str, Curve], budget: int, base: dict[str, float]) -> dict[str, int]:
    """Integers summing to ``budget`` proportional to ``base`` under the bounds (water-filling)."""

    def at(t: float) -> dict[str, float]:
        return {k: _clamp(t * base[k], c) for k, c in curves.items()}

    lo, hi = 0.0, 1.0
    while sum(at(hi).values()) < budget:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(at(mid).values()) < budget else (lo, mid)
    x = at(hi)
    out = {k: max(curves[k].lo, math.floor(v)) for k, v in x.items()}
    order = sorted(curves, key=lambda k: -(x[k] - math.floor(x[k])))
    while sum(out.values()) < budget:
        for k in order:
            if sum(out.values()) < budget and (curves[k].hi is None or out[k] < curves[k].hi):
                out[k] += 1
    while sum(out.values()) > budget:
        for k in reversed(order):
            if sum(out.values()) > budget and out[k] > curves[k].lo:
                out[k] -= 1
    return out


def _describe(curves: dict[str, Curve], alloc: dict[str, int]) -> dict[str, Any]:
    pred = {k: float(c.score(alloc[k])) for k, c in curves.items()}
    return {
        "allocation": alloc,
        "predicted": pred,
        "total_predicted": float(sum(curves[k].weight * v for k, v in pred.items())),
    }


def _extrapolated(fits: dict[str, Any], alloc: dict[str, int]) -> tuple[dict, dict, dict]:
    """Per language: whether ``alloc`` leaves the measured sizes, a note saying how, the measured range."""
    each = {lang: extrapolation(f, [alloc[lang]]) for lang, f in fits.items()}
    return ({k: v[0] for k, v in each.items()}, {k: v[1] for k, v in each.items()}, {k: v[2] for k, v in each.items()})


def plan(
    fits: dict[str, Any],
    budget: int,
    min_per_lang: int = 1,
    available: dict[str, int] | None = None,
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The budget plan from a fits document's ``fits``: allocation, predictions, baselines, gain."""
    available, weights = dict(available or {}), dict(weights or {})
    for what, table in (("--available", available), ("--weight", weights)):
        unknown = sorted(set(table) - set(fits))
        if unknown:
            raise InputError(
                f"{what} names {', '.join(unknown)}, which the fits do not have (fitted: {', '.join(fits)})"
            )
    if budget < 1:
        raise InputError(f"budget must be > 0 pairs (the laws are defined for sizes > 0), got {budget}")
    if budget > MAX_BUDGET:
        raise InputError(f"budget must be at most {MAX_BUDGET:.0e} pairs, got {budget}")
    if min_per_lang < 1:
        raise InputError(f"--min-per-lang must be at least 1 (the laws are defined for sizes > 0), got {min_per_lang}")
    if budget < min_per_lang * len(fits):
        raise InputError(
            f"budget {budget} is below the minimum {min_per_lang} × {len(fits)} languages = {min_per_lang * len(fits)}"
        )
    for k, n in available.items():
        if n < min_per_lang:
            raise InputError(f"{k} has {n} pairs available, below --min-per-lang {min_per_lang}")
    if len(available) == len(fits) and budget > sum(available.values()):
        raise InputError(f"budget {budget} is above the {sum(available.values())} pairs available in all")
    for k, w in weights.items():
        if not 0 <= w <= MAX_WEIGHT:
            raise InputError(f"weight of {k} must be within 0–{MAX_WEIGHT:g} (weights are relative), got {w}")
    if len(weights) == len(fits) and not any(weights.values()):
        raise InputError("every language's --weight is 0: there is nothing to maximise (give one a weight > 0)")
    curves = {
        k: Curve(f["form"], f["params"], f.get("gamma", 1.0), weights.get(k, 1.0), min_per_lang, available.get(k))
        for k, f in fits.items()
    }
    non_concave = sorted(k for k, c in curves.items() if not c.concave)
    if non_concave:
        alloc, step = discrete_optimum(curves, budget)
        method = f"discrete search (dynamic programming, step {step}) + unit transfers"
    else:
        alloc = _integer(continuous_optimum(curves, budget), curves, budget)
        method = "exact (equal weighted marginal gains, bisection on the multiplier) + integer rounding"
    uniform = _describe(curves, _filled(curves, budget, {k: 1.0 for k in curves}))
    proportional = (
        _describe(curves, _filled(curves, budget, {k: float(available[k]) for k in curves}))
        if len(available) == len(fits)
        else None
    )
    planned = _describe(curves, alloc)
    replaced_by = None
    for name, base in (("uniform", uniform), ("proportional", proportional)):  # the search must not lose to these
        if base is not None and base["total_predicted"] > planned["total_predicted"]:
            method = (
                f"the {name} baseline: the search ({method}) predicted {planned['total_predicted']:.6g}, "
                f"below {name}'s {base['total_predicted']:.6g}"
            )
            planned, replaced_by = base, name
    extrapolated, notes, ranges = _extrapolated(fits, planned["allocation"])
    return {
        **planned,
        "uniform": uniform,
        "proportional": proportional,
        "gain_over_uniform": planned["total_predicted"] - uniform["total_predicted"],
        "method": method,
        "replaced_by": replaced_by,
        "extrapolated": extrapolated,
        "extrapolated_note": notes,
        "measured_range": ranges,
        "non_concave": non_concave,
        "budget": budget,
        "min_per_lang": min_per_lang,
        "available": available or None,
        "weights": {k: c.weight for k, c in curves.items()},
    }
