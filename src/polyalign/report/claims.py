"""The papers' claims, each judged in one line from a run's measured numbers (pure functions).

Every claim comes back as ``{"id", "claim", "verdict", "line"}`` with ``verdict`` one of
``"yes"``, ``"not supported"`` (the run measured it and the numbers say no) or ``"not measured"``
(the run lacks what the claim needs). A claim the numbers do not support is said so, never dropped.
The input is :func:`polyalign.report.collect.collect`'s document.

Translation claims read the shipped general-domain ``polymt`` sentences when the run measured them
(``polymt/en-es``: the same sentences on every machine), else the run's held-out pairs
(``translation/en-es``, from the parallel sources found on the machine).
"""

from __future__ import annotations

from statistics import mean
from typing import Any

MUIT_TOLERANCE = 1.0  # chrF++ points: "MuIT within 1 chrF++ of per-language CoIT"
R2_THRESHOLD = 0.9
ALIGNMENT_KEY = "cosine_parallel_centred"
MAIN_METRIC = ("f1", "accuracy", "exact_match", "chrf")
TRANSLATION_FAMILIES = ("polymt", "translation")
"""Where translation claims read chrF++, first choice first: the shipped set, then the held-out pairs."""


def _arrow(task: str) -> str:
    """``translation/en-es`` → ``en→es``; ``polymt/en-es`` → ``polymt en→es``."""
    family, _, pair = task.partition("/")
    return pair.replace("-", "→") if family == "translation" else f"{family} {pair.replace('-', '→')}"


def _translation(results: dict[str, Any] | None, lang: str, family: str = "translation") -> dict[str, float]:
    """``{task: chrF++}`` of both directions between English and ``lang`` that were measured."""
    out = {}
    for task in (f"{family}/en-{lang}", f"{family}/{lang}-en"):
        v = (results or {}).get(task, {}).get("chrf")
        if v is not None:
            out[task] = float(v)
    return out


def _family(lang: str, *results: dict[str, Any] | None) -> str:
    """The first of :data:`TRANSLATION_FAMILIES` that every one of ``results`` measured for ``lang``."""
    return next(
        (f for f in TRANSLATION_FAMILIES if all(_translation(r, lang, f) for r in results)), TRANSLATION_FAMILIES[-1]
    )


def _line(claim: str, verdict: str, evidence: str) -> dict[str, str]:
    sep = " — " if verdict != "not measured" else " "
    return {"claim": claim, "verdict": verdict, "line": f"{claim}: {verdict}{sep}{evidence}"}


def coit_raises_translation(doc: dict[str, Any]) -> dict[str, str]:
    """Every CoIT arm's chrF++ above the base's, in both directions of its language."""
    claim = "CoIT raises translation"
    parts, deltas = [], []
    for name, arm in doc.get("arms", {}).items():
        if arm.get("builder") != "coit":
            continue
        for lang in arm.get("languages", []):
            fam = _family(lang, arm.get("results"), doc.get("base"))
            tuned, base = _translation(arm.get("results"), lang, fam), _translation(doc.get("base"), lang, fam)
            shown = [
                f"{_arrow(t)} {base[t]:.2f}→{tuned[t]:.2f} ({tuned[t] - base[t]:+.2f})"
                for t in sorted(set(tuned) & set(base))
            ]
            deltas += [tuned[t] - base[t] for t in sorted(set(tuned) & set(base))]
            if shown:
                parts.append(f"{name} " + ", ".join(shown))
    if not deltas:
        return {"id": "coit", **_line(claim, "not measured", "(no CoIT arm with base and tuned chrF++)")}
    verdict = "yes" if all(d > 0 for d in deltas) else "not supported"
    return {"id": "coit", **_line(claim, verdict, "chrF++ base→tuned: " + "; ".join(parts))}


def muit_matches_coit(doc: dict[str, Any], tolerance: float = MUIT_TOLERANCE) -> dict[str, str]:
    """A uniform MuIT arm within ``tolerance`` chrF++ of the CoIT arm of each of its languages."""
    claim = f"MuIT within {tolerance:g} chrF++ of per-language CoIT"
    arms = doc.get("arms", {})
    muit = [n for n, a in arms.items() if a.get("builder") == "muit"]
    muit = [n for n in muit if arms[n].get("allocation") == "uniform"] or muit
    coit = {lang: n for n, a in arms.items() if a.get("builder") == "coit" for lang in a.get("languages", [])}
    parts, gaps = [], []
    for name in muit[:1]:
        for lang in arms[name].get("languages", []):
            if lang not in coit:
                continue
            fam = _family(lang, arms[name].get("results"), arms[coit[lang]].get("results"))
            m = _translation(arms[name].get("results"), lang, fam)
            c = _translation(arms[coit[lang]].get("results"), lang, fam)
            for task in sorted(set(m) & set(c)):
                gaps.append(m[task] - c[task])
                parts.append(f"{_arrow(task)} {m[task]:.2f} vs {c[task]:.2f} ({gaps[-1]:+.2f})")
    if not gaps:
        return {"id": "muit", **_line(claim, "not measured", "(no MuIT arm sharing a language with a CoIT arm)")}
    verdict = "yes" if all(g >= -tolerance for g in gaps) else "not supported"
    return {"id": "muit", **_line(claim, verdict, f"chrF++ {muit[0]} vs CoIT: " + ", ".join(parts))}


def quality_follows_law(doc: dict[str, Any], threshold: float = R2_THRESHOLD) -> dict[str, str]:
    """The scaling fit's R² at least ``threshold`` in every language of the pilot."""
    claim = "Quality follows the fitted scaling law"
    fits = ((doc.get("scaling") or {}).get("fits") or {}).get("fits") or {}
    r2 = {lang: f["r2"] for lang, f in fits.items() if f.get("r2") is not None}
    if not r2:
        return {"id": "law", **_line(claim, "not measured", "(no scaling pilot fits in this run)")}
    verdict = "yes" if min(r2.values()) >= threshold else "not supported"
    forms = ", ".join(f"{lang} {fits[lang].get('form', '?')} R² {v:.3f}" for lang, v in r2.items())
    return {"id": "law", **_line(claim, verdict, f"{forms} (threshold {threshold:.2f})")}


def planned_beats_uniform(doc: dict[str, Any]) -> dict[str, str]:
    """The planned MuIT arm's mean En→X chrF++ above the uniform one's, over their shared languages."""
    claim = "The planned budget beats uniform"
    arms = doc.get("arms", {})
    planned = [n for n, a in arms.items() if a.get("builder") == "muit" and a.get("allocation") == "plan"]
    uniform = [n for n, a in arms.items() if a.get("builder") == "muit" and a.get("allocation") == "uniform"]
    if not planned or not uniform:
        return {"id": "plan", **_line(claim, "not measured", "(needs a planned and a uniform MuIT arm)")}
    p, u = arms[planned[0]], arms[uniform[0]]
    langs = [x for x in p.get("languages", []) if x in u.get("languages", [])]
    measured = [set(a.get("results") or {}) for a in (p, u)]
    both = [f for f in TRANSLATION_FAMILIES if all(f"{f}/en-{x}" in m for m in measured for x in langs)]
    fam = both[0] if both else "translation"
    pairs = [
        (pv, uv)
        for x in langs
        if (pv := (p.get("results") or {}).get(f"{fam}/en-{x}", {}).get("chrf")) is not None
        and (uv := (u.get("results") or {}).get(f"{fam}/en-{x}", {}).get("chrf")) is not None
    ]
    if not pairs:
        return {"id": "plan", **_line(claim, "not measured", "(no En→X chrF++ for both MuIT arms)")}
    mp, mu = mean(a for a, _ in pairs), mean(b for _, b in pairs)
    plan = (doc.get("scaling") or {}).get("plan") or {}
    predicted = (
        f"; predicted gain {plan['gain_over_uniform']:+.2f}" if plan.get("gain_over_uniform") is not None else ""
    )
    verdict = "yes" if mp > mu else "not supported"
    return {
        "id": "plan",
        **_line(
            claim,
            verdict,
            f"mean chrF++ En→X{' (polymt)' if fam == 'polymt' else ''} over {', '.join(langs)}: planned {mp:.2f} vs "
            f"uniform {mu:.2f} ({mp - mu:+.2f}){predicted}",
        ),
    }


def _middle(doc: dict[str, Any], key: str = ALIGNMENT_KEY) -> tuple[float, int, int] | None:
    rows = [r for r in doc.get("layers", []) if r.get(key) is not None and r.get("layer", 0) > 0]
    if not rows:
        return None
    n = len(rows)
    mid = rows[n // 3 : max(n // 3 + 1, (2 * n) // 3)]
    return mean(float(r[key]) for r in mid), mid[0]["layer"], mid[-1]["layer"]


def tuning_raises_middle_alignment(doc: dict[str, Any]) -> dict[str, str]:
    """Mean centred parallel cosine over the middle third of layers: every tuned arm above the base."""
    claim = "Tuning raises middle-layer alignment"
    an = doc.get("analysis") or {}
    base = _middle((an.get("base") or {}).get("alignment") or {})
    tuned = {n: m for n, a in (an.get("arms") or {}).items() if (m := _middle(a.get("alignment") or {}))}
    if base is None or not tuned:
        return {"id": "alignment", **_line(claim, "not measured", "(no base and tuned alignment by layer)")}
    parts = [f"{n} {m[0]:.3f} ({m[0] - base[0]:+.3f})" for n, m in tuned.items()]
    verdict = "yes" if all(m[0] > base[0] for m in tuned.values()) else "not supported"
    return {
        "id": "alignment",
        **_line(
            claim,
            verdict,
            f"centred cosine en–{an.get('lang')}, layers {base[1]}–{base[2]}: base {base[0]:.3f}, " + ", ".join(parts),
        ),
    }


def _main_metric(m: dict[str, Any]) -> tuple[str, float] | None:
    return next(((k, float(m[k])) for k in MAIN_METRIC if m.get(k) is not None), None)


def qalign_transfers(doc: dict[str, Any]) -> dict[str, str]:
    """A question-alignment arm's mean gain over the base on QA/classification in languages it never saw."""
    claim = "Question alignment transfers to languages it never saw"
    base = doc.get("base") or {}
    parts, deltas = [], []
    for name, arm in doc.get("arms", {}).items():
        if arm.get("builder") != "qalign":
            continue
        seen = set(arm.get("languages", [])) | {"en"}
        by_task: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for task, m in (arm.get("results") or {}).items():
            family, _, lang = task.partition("/")
            if family == "translation" or lang in seen or task not in base:
                continue
            a, b = _main_metric(m), _main_metric(base[task])
            if a and b and a[0] == b[0] and a[0] != "chrf":  # QA and classification, not translation (polymt)
                by_task.setdefault((family, a[0]), []).append((a[1], b[1]))
        for (family, metric), vals in sorted(by_task.items()):
            ma, mb = mean(v[0] for v in vals), mean(v[1] for v in vals)
            deltas.append(ma - mb)
            parts.append(
                f"{family} {metric} on {len(vals)} unseen languages: base {mb:.2f}, {name} {ma:.2f} ({ma - mb:+.2f})"
            )
    if not deltas:
        return {
            "id": "qalign",
            **_line(claim, "not measured", "(no question-alignment arm evaluated on languages outside its training)"),
        }
    verdict = "yes" if all(d > 0 for d in deltas) else "not supported"
    return {"id": "qalign", **_line(claim, verdict, "; ".join(parts))}


CLAIMS = (
    coit_raises_translation,
    muit_matches_coit,
    quality_follows_law,
    planned_beats_uniform,
    tuning_raises_middle_alignment,
    qalign_transfers,
)


def judge_claims(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Every claim, in the papers' order."""
    return [c(doc) for c in CLAIMS]
