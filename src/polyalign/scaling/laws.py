"""Scaling laws of translation quality against parallel-data size: forms, robust fits, intervals.

Three forms, each linear in all but at most one parameter (its exponent):

* ``xllama``: S(X) = 100 − α·(γ·X)^β, β < 0, α > 0; γ (similarity to English) is an input, 1
  when unknown — α and γ cannot both be fitted, since α·(γX)^β = α·γ^β·X^β;
* ``power``: S(X) = c − a·X^(−b), a, b > 0, saturating at c;
* ``log``: S(X) = a + b·ln X.

A fit minimises a Huber loss (δ = 1.345 × the least-squares residual standard error) under the
bounds above: for each exponent the linear parameters are solved exactly by iteratively
reweighted least squares (the problem is convex in them), and the exponent is searched from a
grid of starting points, each refined by golden-section search, the best kept. Everything is
vectorised over datasets, so a bootstrap of 1000 resamples costs about as much as a few fits.
Intervals are percentile bootstrap intervals over the points (resampled with replacement,
seeded). numpy only: no scipy, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Form = Literal["xllama", "power", "log"]
FORMS: tuple[Form, ...] = ("xllama", "power", "log")
PARAMS: dict[str, tuple[str, ...]] = {"xllama": ("alpha", "beta"), "power": ("a", "b", "c"), "log": ("a", "b")}
# The exponent's search range, as ln|exponent|; None: the form has no exponent.
EXPONENT = {"xllama": (math.log(1e-3), math.log(3.0)), "power": (math.log(1e-3), math.log(3.0)), "log": None}
HUBER_K = 1.345
GRID, STARTS, GOLDEN_STEPS, IRLS_STEPS = 48, 3, 48, 15


def predict(form: str, params: dict[str, float], x: Any, gamma: float = 1.0) -> np.ndarray:
    """S(X) of a fitted curve at sizes ``x``.

    >>> float(predict("log", {"a": 10.0, "b": 2.0}, 1.0))
    10.0
    """
    x = np.asarray(x, dtype=float)
    if form == "xllama":
        return 100.0 - params["alpha"] * (gamma * x) ** params["beta"]
    if form == "power":
        return params["c"] - params["a"] * x ** (-params["b"])
    if form == "log":
        return params["a"] + params["b"] * np.log(x)
    raise ValueError(f"unknown form {form!r}")


def derivative(form: str, params: dict[str, float], x: Any, gamma: float = 1.0) -> np.ndarray:
    """dS/dX at ``x``."""
    x = np.asarray(x, dtype=float)
    if form == "xllama":
        a, b = params["alpha"], params["beta"]
        return -a * b * gamma**b * x ** (b - 1.0)
    if form == "power":
        return params["a"] * params["b"] * x ** (-params["b"] - 1.0)
    if form == "log":
        return params["b"] / x
    raise ValueError(f"unknown form {form!r}")


def inverse_derivative(form: str, params: dict[str, float], slope: float, gamma: float = 1.0) -> float:
    """The X where dS/dX equals ``slope`` (> 0) on a concave increasing curve."""
    if form == "xllama":
        a, b = params["alpha"], params["beta"]
        return (slope / (-a * b * gamma**b)) ** (1.0 / (b - 1.0))
    if form == "power":
        return (slope / (params["a"] * params["b"])) ** (-1.0 / (params["b"] + 1.0))
    if form == "log":
        return params["b"] / slope
    raise ValueError(f"unknown form {form!r}")


def concave_increasing(form: str, params: dict[str, float]) -> bool:
    """Whether the curve rises with X at a falling rate (what exact allocation needs)."""
    if form == "xllama":
        return params["alpha"] > 0 and params["beta"] < 0
    if form == "power":
        return params["a"] > 0 and params["b"] > 0
    return params["b"] > 0


# ---------------------------------------------------------------------------------------------
# The vectorised fitter: rows are datasets (the data itself, or bootstrap resamples)


def _design(form: str, x: np.ndarray, y: np.ndarray, u: np.ndarray | None, gamma: float):
    """``(target, columns, bounded)``: the form as ``target ≈ Σ θ_j·column_j`` for exponent ``exp(u)``.

    ``bounded`` is the index of the linear parameter held ≥ 0, or None.
    """
    if form == "log":
        return y, [np.ones_like(x), np.log(x)], None
    e = np.exp(u)[:, None]
    if form == "power":  # y = c − a·x^(−b)
        return y, [np.ones_like(x), -(x**-e)], 1
    return 100.0 - y, [(gamma * x) ** -e], 0  # xllama: 100 − y = α·(γx)^β with β = −e


def _wls(t: np.ndarray, cols: list[np.ndarray], w: np.ndarray, bounded: int | None) -> np.ndarray:
    """Weighted least squares per row with one or two columns; the ``bounded`` coefficient ≥ 0."""
    if len(cols) == 1:
        c = cols[0]
        theta = (w * c * t).sum(1) / np.maximum((w * c * c).sum(1), 1e-300)
        return np.maximum(theta, 0.0)[:, None] if bounded == 0 else theta[:, None]
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
    return np.stack([th0, th1], 1)


def _huber(r: np.ndarray, delta: np.ndarray) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _solve(form, x, y, w, u, gamma, delta):
    """Best linear parameters for exponent ``u`` (per row) under the Huber loss; ``(θ, loss)``."""
    t, cols, bounded = _design(form, x, y, u, gamma)
    d = delta[:, None]
    hw = np.ones_like(w)
    for _ in range(1 if np.all(np.isinf(delta)) else IRLS_STEPS):
        theta = _wls(t, cols, w * hw, bounded)
        r = t - sum(theta[:, j, None] * c for j, c in enumerate(cols))
        hw = np.where(np.abs(r) <= d, 1.0, d / np.maximum(np.abs(r), 1e-300))
    theta = _wls(t, cols, w * hw, bounded)
    r = t - sum(theta[:, j, None] * c for j, c in enumerate(cols))
    return theta, (w * _huber(r, d)).sum(1)


def _search(form, x, y, w, gamma, delta):
    """Minimise over the exponent: a grid of starts, each refined by golden-section search."""
    rows = x.shape[0]
    lo, hi = EXPONENT[form]
    grid = np.linspace(lo, hi, GRID)
    rep = lambda a: np.repeat(a, GRID, axis=0)  # noqa: E731
    _, loss = _solve(form, rep(x), rep(y), rep(w), np.tile(grid, rows), gamma, np.repeat(delta, GRID))
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
    fc, fd = _solve(form, rx, ry, rw, c, gamma, rd)[1], _solve(form, rx, ry, rw, d, gamma, rd)[1]
    for _ in range(GOLDEN_STEPS):  # keep a < c < d < b; one new evaluation per step and row
        left = fc < fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        keep, fkeep = np.where(left, c, d), np.where(left, fc, fd)
        new = np.where(left, b - g * (b - a), a + g * (b - a))
        fnew = _solve(form, rx, ry, rw, new, gamma, rd)[1]
        c, d = np.where(left, new, keep), np.where(left, keep, new)
        fc, fd = np.where(left, fnew, fkeep), np.where(left, fkeep, fnew)
    u = (a + b) / 2
    theta, loss = _solve(form, rx, ry, rw, u, gamma, rd)
    best = np.argmin(loss.reshape(rows, STARTS), axis=1) + np.arange(rows) * STARTS
    return u[best], theta[best], loss[best]


def _fit_rows(form: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, gamma: float) -> np.ndarray:
    """Fit ``form`` to each row (weights ``w`` count each point; 0 leaves it out); params per row."""
    rows = x.shape[0]
    k = len(PARAMS[form])
    inf = np.full(rows, np.inf)
    delta = inf
    for stage in ("least squares", "huber"):
        if EXPONENT[form] is None:
            u, theta = None, _solve(form, x, y, w, None, gamma, delta)[0]
        else:
            u, theta, _ = _search(form, x, y, w, gamma, delta)
        if stage == "least squares":
            res = y - _curve(form, theta, u, x, gamma)
            dof = w.sum(1) - k
            rse = np.sqrt((w * res * res).sum(1) / np.where(dof > 0, dof, 1.0))
            floor = 1e-9 * (1.0 + np.abs(y).max(1))
            delta = np.where(dof > 0, HUBER_K * np.maximum(rse, floor), np.inf)
    return _params(form, theta, u)


def _params(form: str, theta: np.ndarray, u: np.ndarray | None) -> np.ndarray:
    if form == "log":
        return theta
    if form == "power":
        return np.stack([theta[:, 1], np.exp(u), theta[:, 0]], 1)  # a, b, c
    return np.stack([theta[:, 0], -np.exp(u)], 1)  # alpha, beta


def _curve(form, theta, u, x, gamma):
    p = _params(form, theta, u)
    return np.stack([predict(form, dict(zip(PARAMS[form], row)), xi, gamma) for row, xi in zip(p, x)])


# ---------------------------------------------------------------------------------------------
# Public fitting


@dataclass
class Fit:
    """One language's fitted curve and how well it fits."""

    form: str
    params: dict[str, float]
    gamma: float
    n: int
    r2: float
    rse: float | None
    aicc: float | None
    at_bound: bool
    ci: dict[str, list[float]]
    draws: list[list[float]]

    def to_json(self) -> dict[str, Any]:
        out = {
            "form": self.form,
            "params": self.params,
            "r2": self.r2,
            "rse": self.rse,
            "aicc": self.aicc,
            "ci": self.ci,
            "n": self.n,
            "at_bound": self.at_bound,
        }
        if self.form == "xllama":
            out["gamma"] = self.gamma
        out["bootstrap_draws"] = self.draws
        return out


def fit_one(
    form: Form, x: Any, y: Any, gamma: float = 1.0, bootstrap: int = 1000, seed: int = 0, level: float = 0.95
) -> Fit:
    """Fit ``form`` to the points ``(x, y)``, with percentile bootstrap intervals over the points.

    Resamples with fewer distinct sizes than the form has parameters cannot be fitted and are
    left out of the intervals.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    k = len(PARAMS[form])
    if len(np.unique(x)) < k:
        raise ValueError(f"the {form} form has {k} parameters and needs at least {k} sizes, got {len(np.unique(x))}")
    p = _fit_rows(form, x[None], y[None], np.ones((1, len(x))), gamma)[0]
    params = {name: float(v) for name, v in zip(PARAMS[form], p)}
    res = y - predict(form, params, x, gamma)
    rss = float((res**2).sum())
    tss = float(((y - y.mean()) ** 2).sum())
    n = len(x)
    r2 = 1.0 - rss / tss if tss > 0 else (1.0 if rss == 0 else 0.0)
    rse = math.sqrt(rss / (n - k)) if n > k else None
    kk = k + 1  # the noise variance is estimated too
    aicc = None
    if n - kk - 1 > 0:
        aicc = n * math.log(max(rss, 1e-300) / n) + 2 * kk + 2 * kk * (kk + 1) / (n - kk - 1)
    at_bound = False
    if EXPONENT[form] is not None:
        lo, hi = EXPONENT[form]
        ln_e = math.log(abs(params["b" if form == "power" else "beta"]))
        at_bound = min(ln_e - lo, hi - ln_e) < 1e-6
    ci: dict[str, list[float]] = {}
    draws: list[list[float]] = []
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=bootstrap).astype(float)
        distinct = np.array([len(np.unique(x[row > 0])) for row in w])
        w = w[distinct >= k]
        if len(w):
            boot = _fit_rows(form, np.repeat(x[None], len(w), 0), np.repeat(y[None], len(w), 0), w, gamma)
            tail = 100 * (1 - level) / 2
            lo_q, hi_q = np.percentile(boot, [tail, 100 - tail], axis=0)
            ci = {name: [float(a), float(b)] for name, a, b in zip(PARAMS[form], lo_q, hi_q)}
            draws = [[float(f"{v:.6g}") for v in row] for row in boot]
    return Fit(form, params, gamma, n, r2, rse, aicc, at_bound, ci, draws)


def choose(fits: dict[str, Fit]) -> Fit:
    """``auto``: the form with the lowest AICc; without any AICc (too few points), the fewest
    parameters, then the order of :data:`FORMS`."""
    scored = [f for f in fits.values() if f.aicc is not None]
    if scored:
        return min(scored, key=lambda f: (f.aicc, FORMS.index(f.form)))
    return min(fits.values(), key=lambda f: (len(f.params), FORMS.index(f.form)))


def predict_draws(form: str, draws: list[list[float]], x: Any, gamma: float = 1.0) -> np.ndarray:
    """Predictions of every bootstrap draw at ``x``: shape ``(draws, len(x))``."""
    return np.stack([predict(form, dict(zip(PARAMS[form], d)), x, gamma) for d in draws]) if draws else np.empty((0,))


# ---------------------------------------------------------------------------------------------
# Points files and fits files


@dataclass
class Points:
    """One language's measured points: sizes, scores, and its similarity to English (γ) if known."""

    sizes: list[float]
    scores: list[float]
    similarity: float | None = None


def read_points(path: str) -> tuple[dict[str, Points], list[str]]:
    """Read ``lang,size,score[,similarity]`` rows (other columns ignored); return points and notes.

    Duplicate ``(lang, size)`` rows are averaged, and a note says so when their scores differ.
    """
    import csv

    from polyalign.io import InputError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such points file", path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8", path) from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in ("lang", "size", "score") if c not in header]
    if missing:
        raise InputError(f"missing column {', '.join(missing)} (need lang,size,score[,similarity])", path, 1)
    col = {h: i for i, h in enumerate(header)}
    raw: dict[str, dict[float, list[float]]] = {}
    sims: dict[str, tuple[float, int]] = {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise InputError(f"{len(row)} fields, the header has {len(header)}", path, line)
        lang = row[col["lang"]].strip()
        if not lang:
            raise InputError("empty lang", path, line)
        size, score = (_number(row[col[c]], c, path, line) for c in ("size", "score"))
        if size <= 0:
            raise InputError(f"size must be > 0, got {row[col['size']].strip()}", path, line)
        if "similarity" in col and row[col["similarity"]].strip():
            sim = _number(row[col["similarity"]], "similarity", path, line)
            if sim <= 0:
                raise InputError(f"similarity must be > 0, got {sim}", path, line)
            if lang in sims and sims[lang][0] != sim:
                raise InputError(
                    f"similarity of {lang} is {sims[lang][0]} on line {sims[lang][1]}, {sim} here", path, line
                )
            sims[lang] = (sim, line)
        raw.setdefault(lang, {}).setdefault(size, []).append(score)
    if not raw:
        raise InputError("no points", path)
    notes, out = [], {}
    for lang, by_size in raw.items():
        for size, scores in by_size.items():
            if len(set(scores)) > 1:
                notes.append(f"{lang} at size {size:g}: {len(scores)} rows with different scores, averaged")
        sizes = sorted(by_size)
        out[lang] = Points(sizes, [sum(by_size[s]) / len(by_size[s]) for s in sizes], sims.get(lang, (None, 0))[0])
    return out, notes


def _number(text: str, name: str, path: str, line: int) -> float:
    from polyalign.io import InputError

    try:
        v = float(text.strip())
    except ValueError:
        raise InputError(f"{name} is not a number: {text.strip()!r}", path, line) from None
    if not math.isfinite(v):
        raise InputError(f"{name} is not a finite number: {text.strip()!r}", path, line)
    return v


def fit_points(
    points: dict[str, Points],
    form: str = "auto",
    bootstrap: int = 1000,
    seed: int = 0,
    similarity: dict[str, float] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Fit every language; the fits document (``{"fits": {LANG: ...}, "settings": {...}}``).

    ``similarity`` gives γ per language where the points do not (the points win); 1 otherwise.
    Raises ``InputError`` when a language has fewer sizes than its form has parameters.
    """
    from polyalign.io import InputError

    fits: dict[str, Any] = {}
    for lang, pts in points.items():
        gamma = pts.similarity or (similarity or {}).get(lang) or 1.0
        forms = FORMS if form == "auto" else (form,)
        usable = [f for f in forms if len(pts.sizes) >= len(PARAMS[f])]
        if not usable:
            need = min(len(PARAMS[f]) for f in forms)
            raise InputError(
                f"{lang} has {len(pts.sizes)} distinct sizes; the {form} form needs at least {need}", source
            )
        cands = {f: fit_one(f, pts.sizes, pts.scores, gamma, bootstrap, seed) for f in usable}
        best = choose(cands) if form == "auto" else cands[form]
        fits[lang] = best.to_json()
        fits[lang]["sizes"], fits[lang]["scores"] = pts.sizes, pts.scores
        if form == "auto":
            fits[lang]["aicc_by_form"] = {f: c.aicc for f, c in cands.items()}
    settings = {
        "form": form,
        "loss": "huber",
        "huber_k": HUBER_K,
        "bounds": _bounds_text(),
        "starts": f"{GRID}-point grid, best {STARTS} refined by golden section",
        "bootstrap": bootstrap,
        "seed": seed,
        "level": 0.95,
        "interval": "percentile bootstrap over points",
        "source": source,
    }
    return {"fits": fits, "settings": settings}


def _bounds_text() -> dict[str, str]:
    lo, hi = (math.exp(v) for v in EXPONENT["power"])
    return {
        "xllama": f"alpha >= 0, {-hi:g} <= beta <= {-lo:g}",
        "power": f"a >= 0, {lo:g} <= b <= {hi:g}",
        "log": "none",
    }


def load_fits(path: str) -> dict[str, Any]:
    """Read a fits document written by :func:`fit_points`, checking its shape."""
    from polyalign.io import InputError, read_json

    doc = read_json(path)
    fits = doc.get("fits") if isinstance(doc, dict) else None
    if not isinstance(fits, dict) or not fits:
        raise InputError('not a fits file: expected {"fits": {LANG: {"form", "params", ...}}}', path)
    for lang, f in fits.items():
        if (
            not isinstance(f, dict)
            or f.get("form") not in FORMS
            or not isinstance(f.get("params"), dict)
            or set(f["params"]) != set(PARAMS[f["form"]])
        ):
            raise InputError(f"fit of {lang!r} needs a form ({', '.join(FORMS)}) and its params", path)
    return doc


def predict_sizes(fits: dict[str, Any], sizes: list[float], ci: bool = False, level: float = 0.95) -> dict[str, Any]:
    """``{LANG: score}`` for one size, ``{LANG: {SIZE: score}}`` for several; with ``ci`` each score
    becomes ``{"score", "ci": [lo, hi]}`` (percentiles of the bootstrap draws' predictions)."""
    from polyalign.io import InputError

    bad = [s for s in sizes if not s > 0]
    if bad:
        raise InputError(f"--size must be > 0, got {bad[0]:g}")
    out: dict[str, Any] = {}
    for lang, f in fits.items():
        gamma = f.get("gamma", 1.0)
        vals = predict(f["form"], f["params"], sizes, gamma)
        entries: list[Any] = [float(v) for v in vals]
        if ci:
            draws = predict_draws(f["form"], f.get("bootstrap_draws") or [], sizes, gamma)
            if not len(draws):
                raise InputError(f"the fit of {lang} has no bootstrap draws: fit with --bootstrap > 0 and --out")
            tail = 100 * (1 - level) / 2
            lo, hi = np.percentile(draws, [tail, 100 - tail], axis=0)
            entries = [{"score": v, "ci": [float(a), float(b)]} for v, a, b in zip(entries, lo, hi)]
        out[lang] = entries[0] if len(sizes) == 1 else {f"{s:g}": e for s, e in zip(sizes, entries)}
    return out
