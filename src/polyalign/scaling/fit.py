"""Fitting the scaling laws of :mod:`polyalign.scaling.laws`: robust fits, intervals, form choice, shared fit.

**Loss.** A fit minimises a Huber loss under the forms' bounds. Its scale is robust: a least-squares
fit first, then δ = 1.345 × σ̂ with σ̂ = 1.4826 × the median absolute deviation of the residuals
(so one outlier cannot inflate it, as it inflates a least-squares standard error), a Huber fit, σ̂
again from that fit's residuals, and a last Huber fit. For each exponent the linear parameters are
solved exactly by iteratively reweighted least squares (the problem is convex in them); the
exponent is searched from a grid of starts, each refined by golden-section search, the best kept.
Everything is vectorised over datasets (rows), so a bootstrap of 1000 draws costs about as much
as a few fits.

**Intervals** come from a parametric residual bootstrap: each draw refits the fitted curve plus
simulated normal residuals whose scale is itself drawn from its sampling distribution,
σ* = s·√((n−k)/χ²ₙ₋ₖ) with s² = RSS/(n−k). In a linear model this gives exactly the t-interval
on n − k degrees of freedom, so the intervals widen honestly when few sizes are measured (the
old bootstrap over the points gave zero-width intervals from 2 sizes and covered the exponent 60%
of the time from 3). With fewer than k + 2 distinct sizes (k the form's parameters) no interval
is given: the fit is kept, ``ci`` is null and ``ci_refused`` says why.

**Form choice** (``auto``) compares AICc, defined only where n ≥ k + 3 (n points, k parameters plus
the noise variance); every choice records and reports which form it took and why.

The documents built from these fits, per language or with α, β shared across languages, are
made by :mod:`polyalign.scaling.fits`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from polyalign.io import InputError
from polyalign.scaling.laws import EXPONENT, FORMS, PARAMS, check_sizes

HUBER_K, MAD_K = 1.345, 1.4826
GRID, STARTS, GOLDEN_STEPS, IRLS_STEPS = 48, 3, 48, 15
RISING_TOL = 0.01
"""``rising``: the curve at the largest measured size is above it at the smallest by more than this (score points),
and, for a fit on an exponent bound, so is the data's own trend (:func:`is_rising`)."""

# ---------------------------------------------------------------------------------------------
# The vectorised fitter: rows are datasets (the data, bootstrap draws, leave-one-size-out sets).
# ``gamma`` is per point (shape (n,)); ``onehot`` (n, G) assigns each point to the group whose
# α-like coefficient it uses (xllama only; one group in the per-language fit).


def _design(form: str, x: np.ndarray, y: np.ndarray, u: np.ndarray | None, gamma: np.ndarray):
    """``(target, columns, bounded)``: the form as ``target ≈ Σ θ_j·column_j`` for exponent ``exp(u)``."""
    if form == "log":
        return y, [np.ones_like(x), np.log(x)], None
    e = np.exp(u)[:, None]
    if form == "power":  # y = c − a·x^(−b)
        return y, [np.ones_like(x), -(x**-e)], 1
    return 100.0 - y, [(gamma * x) ** -e], 0  # xllama: 100 − y = α·(γx)^β with β = −e


def _wls(t, cols, w, bounded, onehot):
    """Weighted least squares per row; the ``bounded`` coefficient ≥ 0. ``(θ, fitted target)``."""
    if len(cols) == 1:  # one column, one coefficient per group (each point in exactly one group)
        c = cols[0]
        theta = np.maximum(((w * c * t) @ onehot) / np.maximum((w * c * c) @ onehot, 1e-300), 0.0)
        return theta, (theta @ onehot.T) * c
    c0, c1 = cols
    s00, s01, s11 = (w * c0 * c0).sum(1), (w * c0 * c1).sum(1), (w * c1 * c1).sum(1)
    r0, r1 = (w * c0 * t).sum(1), (w * c1 * t).sum(1)
    det = s00 * s11 - s01 * s01
    safe = np.where(np.abs(det) > 1e-300, det, 1e-300)
    th0, th1 = (s11 * r0 - s01 * r1) / safe, (s00 * r1 - s01 * r0) / safe
    if bounded == 1:
        neg = th1 < 0  # the convex problem's optimum then lies on the bound
        th1 = np.where(neg, 0.0, th1)
        th0 = np.where(neg, r0 / np.maximum(s00, 1e-300), th0)
    return np.stack([th0, th1], 1), th0[:, None] * c0 + th1[:, None] * c1


def _huber(r: np.ndarray, delta: np.ndarray) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _solve(form, x, y, w, u, gamma, delta, onehot):
    """Best linear parameters for exponent ``u`` (per row) under the Huber loss; ``(θ, loss)``."""
    t, cols, bounded = _design(form, x, y, u, gamma)
    d = delta[:, None]
    hw = np.ones_like(w)
    for _ in range(1 if np.all(np.isinf(delta)) else IRLS_STEPS):
        r = t - _wls(t, cols, w * hw, bounded, onehot)[1]
        hw = np.where(np.abs(r) <= d, 1.0, d / np.maximum(np.abs(r), 1e-300))
    theta, fitted = _wls(t, cols, w * hw, bounded, onehot)
    return theta, (w * _huber(t - fitted, d)).sum(1)


def _search(form, x, y, w, gamma, delta, onehot):
    """Minimise over the exponent: a grid of starts, each refined by golden-section search."""
    rows = x.shape[0]
    lo, hi = EXPONENT[form]
    grid = np.linspace(lo, hi, GRID)
    rep = lambda a: np.repeat(a, GRID, axis=0)  # noqa: E731
    _, loss = _solve(form, rep(x), rep(y), rep(w), np.tile(grid, rows), gamma, np.repeat(delta, GRID), onehot)
    loss = loss.reshape(rows, GRID)
    padded = np.pad(loss, ((0, 0), (1, 1)), constant_values=np.inf)
    local = (loss <= padded[:, :-2]) & (loss <= padded[:, 2:])
    order = np.argsort(np.where(local, loss, np.inf), axis=1, kind="stable")[:, :STARTS]
    step = grid[1] - grid[0]
    a = np.clip(grid[order] - step, lo, hi).ravel()
    b = np.clip(grid[order] + step, lo, hi).ravel()
    rx, ry, rw, rd = (np.repeat(v, STARTS, axis=0) for v in (x, y, w, delta))
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = _solve(form, rx, ry, rw, c, gamma, rd, onehot)[1], _solve(form, rx, ry, rw, d, gamma, rd, onehot)[1]
    for _ in range(GOLDEN_STEPS):  # keep a < c < d < b; one new evaluation per step and row
        left = fc < fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        keep, fkeep = np.where(left, c, d), np.where(left, fc, fd)
        new = np.where(left, b - g * (b - a), a + g * (b - a))
        fnew = _solve(form, rx, ry, rw, new, gamma, rd, onehot)[1]
        c, d = np.where(left, new, keep), np.where(left, keep, new)
        fc, fd = np.where(left, fnew, fkeep), np.where(left, fkeep, fnew)
    u = (a + b) / 2
    theta, loss = _solve(form, rx, ry, rw, u, gamma, rd, onehot)
    best = np.argmin(loss.reshape(rows, STARTS), axis=1) + np.arange(rows) * STARTS
    return u[best], theta[best]


def _wmedian(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted median per row (the mean of the two middle values when they straddle half the weight)."""
    order = np.argsort(v, axis=1, kind="stable")
    vs, ws = np.take_along_axis(v, order, 1), np.take_along_axis(w, order, 1)
    cw = np.cumsum(ws, axis=1)
    half = cw[:, -1:] / 2
    lower = np.argmax(cw >= half - 1e-12 * cw[:, -1:], axis=1)
    upper = np.argmax(cw > half + 1e-12 * cw[:, -1:], axis=1)
    rows = np.arange(v.shape[0])
    return (vs[rows, lower] + vs[rows, upper]) / 2


def robust_scale(residuals: Any, weights: Any = None) -> np.ndarray:
    """σ̂ = 1.4826 × the median absolute deviation of the residuals, per row (a consistent estimate of a
    normal standard deviation that one outlier cannot move much). ``weights`` 0 leaves a point out.

    >>> float(robust_scale([1.0, -1.0, 2.0, -2.0, 0.0])[0])
    1.4826
    """
    r = np.atleast_2d(np.asarray(residuals, dtype=float))
    w = np.ones_like(r) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    return MAD_K * _wmedian(np.abs(r - _wmedian(r, w)[:, None]), w)


def _yhat(form, x, theta, u, gamma, onehot):
    cols = _design(form, x, np.zeros_like(x), u, gamma)[1]
    fitted = (theta @ onehot.T) * cols[0] if len(cols) == 1 else theta[:, :1] * cols[0] + theta[:, 1:2] * cols[1]
    return 100.0 - fitted if form == "xllama" else fitted


def _params(form: str, theta: np.ndarray, u: np.ndarray | None) -> np.ndarray:
    """Rows of parameters in :data:`PARAMS` order (xllama: then one level per further group)."""
    if form == "log":
        return theta
    if form == "power":
        return np.stack([theta[:, 1], np.exp(u), theta[:, 0]], 1)  # a, b, c
    return np.concatenate([theta[:, :1], -np.exp(u)[:, None], theta[:, 1:]], 1)  # alpha, beta, levels


def fit_rows(form, x, y, w, gamma, onehot, k):
    """Fit ``form`` to each row (weights ``w``: 0 leaves a point out); ``(params per row, fitted y)``."""
    rows = x.shape[0]
    delta = np.full(rows, np.inf)
    dof = w.sum(1) - k
    floor = 1e-9 * (1.0 + np.abs(y).max(1))
    for stage in range(3):  # least squares, then Huber twice, each with δ from the last fit's residuals
        if EXPONENT[form] is None:
            u, theta = None, _solve(form, x, y, w, None, gamma, delta, onehot)[0]
        else:
            u, theta = _search(form, x, y, w, gamma, delta, onehot)
        yhat = _yhat(form, x, theta, u, gamma, onehot)
        if stage < 2:
            scale = robust_scale(y - yhat, w)
            delta = np.where(dof > 0, HUBER_K * np.maximum(scale, floor), np.inf)
    return _params(form, theta, u), yhat


# ---------------------------------------------------------------------------------------------
# One language


@dataclass
class Fit:
    """One language's fitted curve, how well it fits, and its intervals (or why there are none)."""

    form: str
    params: dict[str, float]
    gamma: float
    n: int
    n_sizes: int
    r2: float
    rse: float | None
    aicc: float | None
    at_bound: bool
    loo_rmse: float | None
    rising: bool
    ci: dict[str, list[float]] | None
    ci_refused: str | None
    draws: list[list[float]]

    @property
    def k(self) -> int:
        return len(PARAMS[self.form])

    def to_json(self) -> dict[str, Any]:
        out = {
            "form": self.form,
            "params": self.params,
            "k": self.k,
            "r2": self.r2,
            "rse": self.rse,
            "aicc": self.aicc,
            "ci": self.ci,
            "ci_refused": self.ci_refused,
            "n": self.n,
            "n_sizes": self.n_sizes,
            "loo_rmse": self.loo_rmse,
            "rising": self.rising,
            "at_bound": self.at_bound,
        }
        if self.form == "xllama":
            out["gamma"] = self.gamma
        out["bootstrap_draws"] = self.draws
        return out


def _one(n: int, g: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n, g), np.ones((n, 1))


def interval_gate(n_sizes: int, k: int, bootstrap: int) -> str | None:
    if bootstrap <= 0:
        return "no intervals asked for (bootstrap 0)"
    if n_sizes < k + 2:
        return f"no intervals: {n_sizes} distinct sizes, intervals need at least k + 2 = {k + 2} ({k} parameters)"
    return None


def simulate(yhat: np.ndarray, rss: float, dof: int, bootstrap: int, seed: int) -> np.ndarray:
    """Parametric residual bootstrap data: ``yhat`` + N(0, σ*²) with σ*² = s²·dof/χ²_dof, s² = rss/dof."""
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(rss / dof) * np.sqrt(dof / rng.chisquare(dof, size=bootstrap))
    return yhat[None, :] + sigma[:, None] * rng.standard_normal((bootstrap, len(yhat)))


def bootstrap_rows(form, x, yhat, rss, gamma, onehot, k: int, bootstrap: int, seeds) -> np.ndarray:
    """Refits of ``bootstrap`` datasets simulated around each row of ``yhat`` (a seed per row): ``(rows, draws, p)``."""
    dof = x.shape[0] - k
    ystar = np.concatenate([simulate(row, r, dof, bootstrap, sd) for row, r, sd in zip(yhat, rss, seeds)])
    boot, _ = fit_rows(form, np.repeat(x[None], len(ystar), 0), ystar, np.ones_like(ystar), gamma, onehot, k)
    return boot.reshape(len(yhat), bootstrap, -1)


def percentiles(boot: np.ndarray, names, level: float) -> dict[str, list[float]]:
    tail = 100 * (1 - level) / 2
    lo_q, hi_q = np.percentile(boot, [tail, 100 - tail], axis=0)
    return {name: [float(a), float(b)] for name, a, b in zip(names, lo_q, hi_q)}


def data_rise(x: Any, y: Any) -> float:
    """How much the data's own trend rises over their sizes: the least-squares line of score against
    ln(size), from the smallest size to the largest (0 with fewer than 2 distinct sizes).

    >>> round(data_rise([50, 100, 200, 400], [30, 25, 20, 15]), 6)
    -15.0
    """
    lx, y = np.log(np.asarray(x, dtype=float)), np.asarray(y, dtype=float)
    span = float(lx.max() - lx.min()) if len(lx) else 0.0
    if span <= 0:
        return 0.0
    slope = float(((lx - lx.mean()) * (y - y.mean())).sum() / ((lx - lx.mean()) ** 2).sum())
    return slope * span


def is_rising(yhat_lo: float, yhat_hi: float, at_bound: bool = False, trend: float | None = None) -> bool:
    """Whether a fitted curve rises over the measured sizes: its value at the largest size is above its
    value at the smallest by more than :data:`RISING_TOL`.

    A fit whose exponent sits on its bound does not take its shape from the data but from the bound:
    an xllama or power curve cannot fall, so on falling data it pins β at its flattest and still
    rises a little. There the data's own trend (``trend``, :func:`data_rise`) must rise by more than
    :data:`RISING_TOL` too; without it, such a fit is not called rising.
    """
    if at_bound and not (trend is not None and trend > RISING_TOL):
        return False
    return bool(yhat_hi - yhat_lo > RISING_TOL)


def fit_warning(
    what: str, form: str, params: dict[str, float], at_bound: bool, rising: bool | None, sizes: Any
) -> str | None:
    """One line for a fit to distrust, else None: its exponent on its bound (the data cannot pin it),
    a curve that does not rise over the measured sizes (quality should grow with data), or both.

    >>> fit_warning("es", "log", {"a": 40.0, "b": -1.0}, False, False, [50, 400])
    'warning: es: the log curve does not rise over the measured 50–400 pairs: check the points'
    """
    said = []
    if at_bound:
        name = "b" if form == "power" else "beta"
        said.append(f"the {form} fit's {name} = {params[name]:.4g} sits on its bound (the data cannot pin it)")
    if rising is False:
        said.append(
            f"the {form} curve does not rise over the measured {min(sizes):g}–{max(sizes):g} pairs"
            if len(sizes)
            else f"the {form} curve does not rise"
        )
    return f"warning: {what}: {'; '.join(said)}: check the points" if said else None


def fit_one(
    form: str, x: Any, y: Any, gamma: float = 1.0, bootstrap: int = 1000, seed: int = 0, level: float = 0.95
) -> Fit:
    """Fit ``form`` to the points ``(x, y)`` (sizes > 0), with parametric-bootstrap intervals.

    Raises ``InputError`` with fewer distinct sizes than the form has parameters; gives no
    intervals (``ci`` None, ``ci_refused`` the reason) with fewer than k + 2.
    """
    x, y = check_sizes(x), np.asarray(y, dtype=float)
    k, n, sizes = len(PARAMS[form]), len(x), np.unique(x)
    if len(sizes) < k:
        raise InputError(f"the {form} form has {k} parameters and needs at least {k} sizes, got {len(sizes)}")
    g, oh = _one(n, gamma)
    p, yhat = fit_rows(form, x[None], y[None], np.ones((1, n)), g, oh, k)
    params = {name: float(v) for name, v in zip(PARAMS[form], p[0])}
    yhat = yhat[0]
    rss = float(((y - yhat) ** 2).sum())
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - rss / tss if tss > 0 else (1.0 if rss == 0 else 0.0)
    rse = math.sqrt(rss / (n - k)) if n > k else None
    kk = k + 1  # the noise variance is estimated too
    aicc = None
    if n >= k + 3:
        aicc = n * math.log(max(rss, 1e-300) / n) + 2 * kk + 2 * kk * (kk + 1) / (n - kk - 1)
    at_bound = False
    if EXPONENT[form] is not None:
        lo, hi = EXPONENT[form]
        ln_e = math.log(abs(params["b" if form == "power" else "beta"]))
        at_bound = min(ln_e - lo, hi - ln_e) < 1e-6
    loo = None
    if len(sizes) >= k + 1:  # refit without each size, predict it
        w = (x[None, :] != sizes[:, None]).astype(float)
        rows = len(sizes)
        _, pred = fit_rows(form, np.repeat(x[None], rows, 0), np.repeat(y[None], rows, 0), w, g, oh, k)
        err = np.where(w == 0, y[None, :] - pred, 0.0)
        loo = float(math.sqrt((err**2).sum() / n))
    small, large = x == sizes[0], x == sizes[-1]
    rising = is_rising(float(yhat[small][0]), float(yhat[large][0]), at_bound, data_rise(x, y))
    ci, draws = None, []
    refused = interval_gate(len(sizes), k, bootstrap)
    if refused is None:
        boot = bootstrap_rows(form, x, yhat[None], [rss], g, oh, k, bootstrap, [seed])[0]
        ci = percentiles(boot, PARAMS[form], level)
        draws = [[float(f"{v:.6g}") for v in row] for row in boot]
    return Fit(form, params, gamma, n, len(sizes), r2, rse, aicc, at_bound, loo, rising, ci, refused, draws)


def fit_datasets(
    form: str, x: Any, ys: Any, gamma: float = 1.0, bootstrap: int = 200, seeds: Any = None, level: float = 0.95
) -> list[tuple[dict[str, float], dict[str, list[float]] | None]]:
    """Fit many datasets measured at the same sizes in one vectorised pass, each with the interval
    :func:`fit_one` would give it (same fitter, same bootstrap, ``seeds[i]`` for dataset i): for
    simulation studies such as checking the intervals' coverage. ``[(params, ci or None), ...]``."""
    x, ys = check_sizes(x), np.atleast_2d(np.asarray(ys, dtype=float))
    k, rows = len(PARAMS[form]), len(ys)
    g, oh = _one(len(x), gamma)
    p, yhat = fit_rows(form, np.repeat(x[None], rows, 0), ys, np.ones_like(ys), g, oh, k)
    if interval_gate(len(np.unique(x)), k, bootstrap) is not None:
        return [(dict(zip(PARAMS[form], map(float, row))), None) for row in p]
    rss = ((ys - yhat) ** 2).sum(1)
    seeds = list(range(rows)) if seeds is None else list(seeds)
    boot = bootstrap_rows(form, x, yhat, rss, g, oh, k, bootstrap, seeds)
    return [(dict(zip(PARAMS[form], map(float, row))), percentiles(b, PARAMS[form], level)) for row, b in zip(p, boot)]


def choose(fits: dict[str, Fit], n: int) -> tuple[Fit, str]:
    """``auto``: the lowest AICc among the forms where it is defined (n ≥ k + 3), and why.

    Without any AICc the fewest parameters win, then the order of :data:`FORMS` (xllama first).
    """
    scored = {f: c for f, c in fits.items() if c.aicc is not None}
    unscored = [f"{f} (k = {c.k}, needs n ≥ {c.k + 3})" for f, c in fits.items() if c.aicc is None]
    if scored:
        best = min(scored.values(), key=lambda c: (c.aicc, FORMS.index(c.form)))
        why = f"{best.form}: lowest AICc ({', '.join(f'{f} {c.aicc:.2f}' for f, c in scored.items())})"
        if unscored:
            why += f"; not compared, AICc undefined with n = {n} points: {', '.join(unscored)}"
        return best, why
    best = min(fits.values(), key=lambda c: (c.k, FORMS.index(c.form)))
    return best, (
        f"{best.form}: AICc is undefined for every form with n = {n} points ({', '.join(unscored)}); "
        f"took the fewest parameters, the paper's form first"
    )


# ---------------------------------------------------------------------------------------------
# Fits documents


def settings_doc(form: str, bootstrap: int, seed: int, source: str | None, fit: str) -> dict[str, Any]:
    lo, hi = (math.exp(v) for v in EXPONENT["power"])
    return {
        "fit": fit,
        "form": form,
        "loss": "huber",
        "huber_k": HUBER_K,
        "huber_scale": "1.4826 × median absolute deviation of the residuals",
        "bounds": {
            "xllama": f"alpha >= 0, {-hi:g} <= beta <= {-lo:g}",
            "power": f"a >= 0, {lo:g} <= b <= {hi:g}",
            "log": "none",
        },
        "starts": f"{GRID}-point grid, best {STARTS} refined by golden section",
        "bootstrap": bootstrap,
        "seed": seed,
        "level": 0.95,
        "interval": "parametric residual bootstrap (normal residuals, σ drawn as s·sqrt(dof/χ²_dof)); "
        "none with fewer than k + 2 distinct sizes",
        "rising_tol": RISING_TOL,
        "source": source,
    }
