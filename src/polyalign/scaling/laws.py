"""Scaling laws of translation quality against parallel-data size: the forms, prediction, points and fits files.

Three forms, each linear in all but at most one parameter (its exponent):

* ``xllama`` (the paper's form): S(X) = 100 − α·(γ·X)^β, β < 0, α > 0, where γ is the language's
  similarity to English (an input; 1 when unknown). γ only means something when α and β are
  **shared** across languages (:func:`polyalign.scaling.fits.fit_shared`): then a language's γ sets
  how far along the shared curve its X pairs sit, and a language with no measured points is
  planned from its similarity alone. In the **per-language** fit γ is absorbed into α, since
  α·(γX)^β = (α·γ^β)·X^β: the fitted curve, and so the plan, is the same for every γ — only the
  reported α moves;
* ``power``: S(X) = c − a·X^(−b), a, b > 0, saturating at c;
* ``log``: S(X) = a + b·ln X.

Every law is defined for sizes X > 0 only; every entry point refuses a size ≤ 0 with one line.
Fitting and intervals: :mod:`polyalign.scaling.fit`; fits documents: :mod:`polyalign.scaling.fits`.
numpy only: no scipy, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from polyalign.io import InputError, read_json

Form = Literal["xllama", "power", "log"]
FORMS: tuple[Form, ...] = ("xllama", "power", "log")
PARAMS: dict[str, tuple[str, ...]] = {"xllama": ("alpha", "beta"), "power": ("a", "b", "c"), "log": ("a", "b")}
# The exponent's search range, as ln|exponent|; None: the form has no exponent.
EXPONENT = {"xllama": (math.log(1e-3), math.log(3.0)), "power": (math.log(1e-3), math.log(3.0)), "log": None}
SCORE_RANGE = (0.0, 100.0)  # scores are percentages; the xllama form saturates at 100


def check_sizes(x: Any, what: str = "size") -> np.ndarray:
    """``x`` as a float array, refusing (``InputError``, one line) any size that is not a number > 0."""
    arr = np.asarray(x, dtype=float)
    flat = np.ravel(arr)
    bad = flat[~(flat > 0)]
    if len(bad):
        raise InputError(f"{what} must be > 0 (the laws are defined for X > 0), got {float(bad[0]):g}")
    return arr


def predict(form: str, params: dict[str, float], x: Any, gamma: float = 1.0) -> np.ndarray:
    """S(X) of a fitted curve at sizes ``x`` (each > 0).

    >>> float(predict("log", {"a": 10.0, "b": 2.0}, 1.0))
    10.0
    """
    x = check_sizes(x)
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

    Scores are percentages (chrF++, BLEU, accuracy): one outside 0–100 is refused at its line (the
    xllama form saturates at 100). Duplicate ``(lang, size)`` rows are averaged, and a note says so
    when their scores differ.
    """
    import csv

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
        if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
            raise InputError(
                f"score must be within 0–100 (chrF++, BLEU, accuracy in percent), got {row[col['score']].strip()}",
                path,
                line,
            )
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
    try:
        v = float(text.strip())
    except ValueError:
        raise InputError(f"{name} is not a number: {text.strip()!r}", path, line) from None
    if not math.isfinite(v):
        raise InputError(f"{name} is not a finite number: {text.strip()!r}", path, line)
    return v


def load_fits(path: str) -> dict[str, Any]:
    """Read a fits document written by :func:`polyalign.scaling.fits.fit_points`, checking its shape."""

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
        sizes = f.get("sizes") or []
        if not isinstance(sizes, list) or not all(isinstance(v, (int, float)) and v > 0 for v in sizes):
            raise InputError(f"fit of {lang!r}: sizes must be numbers > 0", path)
        gamma = f.get("gamma", 1.0)
        if not isinstance(gamma, (int, float)) or not gamma > 0:
            raise InputError(f"fit of {lang!r}: gamma must be a number > 0, got {gamma!r}", path)
    return doc


def _pairs(n: float) -> str:
    """A size as people write it: 541, 1000000000, 0.5."""
    return str(int(n)) if float(n).is_integer() and abs(n) < 1e16 else f"{n:g}"


def extrapolation(fit: dict[str, Any], sizes: list[float]) -> tuple[bool | None, str | None, list[float] | None]:
    """Whether ``sizes`` leave the sizes a fit measured: ``(extrapolated, note, [lo, hi] measured)``.

    A fit with an empty ``sizes`` (a language planned from its similarity alone) is always
    extrapolated; one without ``sizes`` (written by hand) has an unknown range: ``None``.

    >>> extrapolation({"sizes": [50, 100, 400]}, [541])
    (True, 'extrapolated: 541 pairs, above the measured 50–400', [50, 400])
    """
    measured = fit.get("sizes")
    if measured is None:
        return None, "measured range unknown (the fit has no sizes)", None
    if not measured:
        return True, "extrapolated: no measured points (planned from its similarity alone)", None
    lo, hi = min(measured), max(measured)
    out = [
        f"{_pairs(n)} pairs, {'above' if n > hi else 'below'} the measured {lo:g}–{hi:g}"
        for n in sizes
        if not lo <= n <= hi
    ]
    return (True, f"extrapolated: {'; '.join(out)}", [lo, hi]) if out else (False, None, [lo, hi])


def predict_sizes(fits: dict[str, Any], sizes: list[float], ci: bool = False, level: float = 0.95) -> dict[str, Any]:
    """``{LANG: score}`` for one size, ``{LANG: {SIZE: score}}`` for several; with ``ci`` each score
    becomes ``{"score", "ci": [lo, hi]}`` (percentiles of the bootstrap draws' predictions)."""

    check_sizes(sizes, "--size")
    out: dict[str, Any] = {}
    for lang, f in fits.items():
        gamma = f.get("gamma", 1.0)
        with np.errstate(over="ignore"):  # an overflow is refused just below, in one line
            vals = predict(f["form"], f["params"], sizes, gamma)
        for s, v in zip(sizes, vals):
            if not math.isfinite(v):
                raise InputError(f"--size {s:g}: the {f['form']} fit of {lang} gives no finite score there")
        entries: list[Any] = [float(v) for v in vals]
        if ci:
            draws = predict_draws(f["form"], f.get("bootstrap_draws") or [], sizes, gamma)
            if not len(draws):
                why = f.get("ci_refused") or "fit with --bootstrap > 0 and --out"
                raise InputError(f"the fit of {lang} has no bootstrap draws: {why}")
            tail = 100 * (1 - level) / 2
            lo, hi = np.percentile(draws, [tail, 100 - tail], axis=0)
            entries = [{"score": v, "ci": [float(a), float(b)]} for v, a, b in zip(entries, lo, hi)]
        out[lang] = entries[0] if len(sizes) == 1 else {f"{s:g}": e for s, e in zip(sizes, entries)}
    return out
