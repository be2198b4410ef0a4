"""Fits documents from measured points: a law per language, or the paper's form shared across languages.

**Per language** (:func:`fit_points`): each language gets its own law (``form`` or ``auto``); γ of
the xllama form is absorbed into α there (α·(γX)^β = (α·γ^β)·X^β), so it changes the reported α
but neither the curve nor the plan.

**Shared** (:func:`fit_shared`, ``polyalign scaling fit --shared``): S_l(X) = 100 − α·(γ_l·X)^β
with one α, β for every language. γ_l is the language's similarity to English where given (the
points file's ``similarity`` column or ``--similarity``) and is fitted where not; when no language
with points has a similarity, the first language is the reference (γ = 1) and the others' γ are
fitted relative to it. Given β, α acts only on the points of languages of known γ and each fitted
γ's level only on its own language's points, so the fitter's exact linear step still applies. A
language named in ``similarity`` with no points gets the shared curve at its γ: it is planned from
its similarity alone. Each language's entry carries the shared α, β and its own γ, so
:mod:`polyalign.scaling.allocate` and ``predict`` use either kind of document the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from polyalign.io import InputError
from polyalign.scaling.fit import (
    bootstrap_rows,
    choose,
    data_rise,
    fit_one,
    fit_rows,
    fit_warning,
    interval_gate,
    is_rising,
    percentiles,
    settings_doc,
)
from polyalign.scaling.laws import EXPONENT, FORMS, PARAMS, Points, check_sizes


def fit_points(
    points: dict[str, Points],
    form: str = "auto",
    bootstrap: int = 1000,
    seed: int = 0,
    similarity: dict[str, float] | None = None,
    source: str | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """Fit every language; the fits document ``{"fits": {LANG: ...}, "settings": {...}, "notes": [...]}``.

    ``shared``: one α, β for all languages (:func:`fit_shared`); else a law per language, where
    ``similarity`` gives γ where the points do not (the points win; 1 otherwise) — absorbed into α.
    ``notes`` are the lines to show the user (form choices, refused intervals, and a ``warning:`` for
    a fit whose exponent sits on its bound or whose curve does not rise).
    Raises ``InputError`` when a language has fewer sizes than its form has parameters, or for a
    seed below 0.
    """
    if seed < 0:
        raise InputError(f"the bootstrap seed must be at least 0, got {seed}", source)
    if shared:
        if form not in ("auto", "xllama"):
            raise InputError(f"the shared fit uses the xllama form (its γ is what languages share); got --form {form}")
        return fit_shared(points, similarity, bootstrap, seed, source)
    for lang, g in (similarity or {}).items():
        if not g > 0:
            raise InputError(f"similarity of {lang} must be > 0, got {g:g}")
    fits: dict[str, Any] = {}
    notes: list[str] = []
    for lang, pts in points.items():
        check_sizes(pts.sizes, f"size of {lang}")
        gamma = pts.similarity or (similarity or {}).get(lang) or 1.0
        forms = FORMS if form == "auto" else (form,)
        n_sizes = len(set(pts.sizes))
        usable = [f for f in forms if n_sizes >= len(PARAMS[f])]
        if not usable:
            need = min(len(PARAMS[f]) for f in forms)
            raise InputError(f"{lang} has {n_sizes} distinct sizes; the {form} form needs at least {need}", source)
        if form == "auto":
            cands = {f: fit_one(f, pts.sizes, pts.scores, gamma, 0, seed) for f in usable}
            chosen, why = choose(cands, len(pts.sizes))
            skipped = [f for f in forms if f not in usable]
            if skipped:
                why += f"; not fitted, fewer sizes than parameters: {', '.join(skipped)}"
            notes.append(f"{lang}: auto took {why}")
            best = fit_one(chosen.form, pts.sizes, pts.scores, gamma, bootstrap, seed)
        else:
            best, why = fit_one(form, pts.sizes, pts.scores, gamma, bootstrap, seed), f"{form}: asked for"
        fits[lang] = best.to_json()
        fits[lang]["form_choice"] = why
        fits[lang]["sizes"], fits[lang]["scores"] = pts.sizes, pts.scores
        if form == "auto":
            fits[lang]["aicc_by_form"] = {f: c.aicc for f, c in cands.items()}
        if best.ci_refused and bootstrap > 0:
            notes.append(f"{lang}: {best.ci_refused}")
        warning = fit_warning(lang, best.form, best.params, best.at_bound, best.rising, pts.sizes)
        if warning:
            notes.append(warning)
    return {"fits": fits, "settings": settings_doc(form, bootstrap, seed, source, "per_language"), "notes": notes}


def _r2(y: np.ndarray, yhat: np.ndarray) -> float:
    rss, tss = float(((y - yhat) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
    return 1.0 - rss / tss if tss > 0 else (1.0 if rss == 0 else 0.0)


def _rising(yhat: np.ndarray, x: np.ndarray, y: np.ndarray, at_bound: bool) -> bool:
    """:func:`~polyalign.scaling.fit.is_rising` for one language's points of the shared fit."""
    lo, hi = x.min(), x.max()
    return is_rising(float(yhat[x == lo][0]), float(yhat[x == hi][0]), at_bound, data_rise(x, y))


def fit_shared(
    points: dict[str, Points],
    similarity: dict[str, float] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    source: str | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """The shared xllama fit (one α, β; γ per language, given or fitted); a fits document plus ``shared``.

    Raises ``InputError`` when the points cannot determine the parameters.
    """
    similarity = similarity or {}
    langs = list(points)
    for lang in langs:
        check_sizes(points[lang].sizes, f"size of {lang}")
    for lang, g in similarity.items():
        if not g > 0:
            raise InputError(f"similarity of {lang} must be > 0, got {g:g}")
    given = {lang: points[lang].similarity or similarity.get(lang) for lang in langs}
    gamma = {lang: float(g) for lang, g in given.items() if g}
    how = {lang: "given" for lang in gamma}
    if not gamma:
        gamma, how = {langs[0]: 1.0}, {langs[0]: "reference (no similarity given: γ = 1, the others relative to it)"}
    free = [lang for lang in langs if lang not in gamma]
    group = {lang: 0 for lang in gamma} | {lang: j + 1 for j, lang in enumerate(free)}
    x = np.concatenate([np.asarray(points[lang].sizes, float) for lang in langs])
    y = np.concatenate([np.asarray(points[lang].scores, float) for lang in langs])
    of = np.concatenate([[i] * len(points[lang].sizes) for i, lang in enumerate(langs)]).astype(int)
    g_pt = np.array([gamma.get(langs[i], 1.0) for i in of])
    onehot = np.zeros((len(x), 1 + len(free)))
    onehot[np.arange(len(x)), [group[langs[i]] for i in of]] = 1.0
    n, k = len(x), 2 + len(free)
    if n < k:
        raise InputError(f"the shared fit has {k} parameters (α, β, {len(free)} fitted γ) and {n} points", source)
    if (
        max(len(set(points[lang].sizes)) for lang in langs) < 2
        and len(set(g_pt[onehot[:, 0] > 0] * x[onehot[:, 0] > 0])) < 2
    ):
        raise InputError("the shared fit needs a language with at least 2 distinct sizes to fit β", source)

    def unpack(row: np.ndarray) -> tuple[float, float, dict[str, float]]:
        alpha, beta = float(row[0]), float(row[1])
        fitted = {
            lang: (max(float(row[2 + j]), 1e-300) / max(alpha, 1e-300)) ** (1.0 / beta) for j, lang in enumerate(free)
        }
        return alpha, beta, gamma | fitted

    p, yhat = fit_rows("xllama", x[None], y[None], np.ones((1, n)), g_pt, onehot, k)
    alpha, beta, gam = unpack(p[0])
    yhat = yhat[0]
    rss = float(((y - yhat) ** 2).sum())

    # leave one (language, size) out, for languages with at least k_form + 1 = 3 sizes
    held = [i for i in range(n) if len(set(points[langs[of[i]]].sizes)) >= len(PARAMS["xllama"]) + 1]
    loo_err = np.full(n, np.nan)
    if held:
        w = np.ones((len(held), n))
        w[np.arange(len(held)), held] = 0.0
        _, pred = fit_rows(
            "xllama", np.repeat(x[None], len(held), 0), np.repeat(y[None], len(held), 0), w, g_pt, onehot, k
        )
        loo_err[held] = y[held] - pred[np.arange(len(held)), held]

    refused = interval_gate(n, k, bootstrap)
    if refused:
        refused = refused.replace("distinct sizes", "points in the shared fit")
    boot = None
    shared_ci = None
    if refused is None:
        boot = bootstrap_rows("xllama", x, yhat[None], [rss], g_pt, onehot, k, bootstrap, [seed])[0]
        shared_ci = percentiles(boot[:, :2], PARAMS["xllama"], level)
        boot_gam = [unpack(row)[2] for row in boot]

    lo_e, hi_e = EXPONENT["xllama"]
    at_bound = min(math.log(-beta) - lo_e, hi_e - math.log(-beta)) < 1e-6
    fits: dict[str, Any] = {}
    extra = {lang: float(g) for lang, g in similarity.items() if lang not in points}
    for lang in langs + list(extra):
        idx = np.flatnonzero(of == langs.index(lang)) if lang in points else np.array([], int)
        g_l = gam.get(lang, extra.get(lang))
        ci, draws = None, []
        if boot is not None:
            ci = dict(shared_ci)
            if lang in free:
                ci["gamma"] = percentiles(np.array([[d[lang]] for d in boot_gam]), ["gamma"], level)["gamma"]
            g_b = [d.get(lang, g_l) for d in boot_gam]
            draws = [
                [float(f"{row[0] * (gb / g_l) ** row[1]:.6g}"), float(f"{row[1]:.6g}")] for row, gb in zip(boot, g_b)
            ]
        sizes = sorted(set(x[idx].tolist()))
        lang_how = how.get(lang, "fitted" if lang in free else "given (no points: planned from its similarity alone)")
        errs = loo_err[idx]
        fits[lang] = {
            "form": "xllama",
            "params": {"alpha": alpha, "beta": beta},
            "gamma": g_l,
            "gamma_source": lang_how,
            "fit": "shared",
            "k": len(PARAMS["xllama"]),
            "r2": _r2(y[idx], yhat[idx]) if len(idx) else None,
            "rse": math.sqrt(rss / (n - k)) if n > k else None,
            "aicc": None,
            "ci": ci,
            "ci_refused": refused,
            "n": int(len(idx)),
            "n_sizes": len(sizes),
            "loo_rmse": float(math.sqrt(np.mean(errs**2))) if len(idx) and not np.isnan(errs).any() else None,
            "rising": _rising(yhat[idx], x[idx], y[idx], at_bound) if sizes else None,
            "at_bound": at_bound,
            "form_choice": f"xllama: the shared fit (one α, β for every language; γ {lang_how})",
            "bootstrap_draws": draws,
            "sizes": [float(v) for v in points[lang].sizes] if lang in points else [],
            "scores": [float(v) for v in points[lang].scores] if lang in points else [],
        }
    shared = {
        "alpha": alpha,
        "beta": beta,
        "ci": shared_ci,
        "ci_refused": refused,
        "k": k,
        "n": n,
        "r2": _r2(y, yhat),
        "rse": math.sqrt(rss / (n - k)) if n > k else None,
        "at_bound": at_bound,
        "gamma": {lang: {"value": fits[lang]["gamma"], "source": fits[lang]["gamma_source"]} for lang in fits},
    }
    notes = [
        f"shared fit over {', '.join(langs)}: α {alpha:.4g}, β {beta:.4g}; γ "
        + ", ".join(f"{lang} {fits[lang]['gamma']:.4g} ({fits[lang]['gamma_source'].split(' ')[0]})" for lang in fits)
    ]
    if refused and bootstrap > 0:
        notes.append(f"shared fit: {refused}")
    if at_bound:
        notes.append(fit_warning("shared fit", "xllama", {"alpha": alpha, "beta": beta}, True, None, []))
    for lang in langs:
        if fits[lang]["rising"] is False:
            notes.append(fit_warning(lang, "xllama", fits[lang]["params"], False, False, points[lang].sizes))
    settings = settings_doc("xllama", bootstrap, seed, source, "shared")
    return {"fits": fits, "shared": shared, "settings": settings, "notes": notes}
