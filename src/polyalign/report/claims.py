"""The papers' claims, each judged from a run's per-item scores with a paired interval (pure functions).

Every claim comes back as a dict (see :func:`polyalign.report.evidence.record`) whose ``verdict`` is
one of four (:mod:`polyalign.stats.decide`): ``supported`` (the 95% paired-bootstrap interval lies
on the claimed side), ``contradicted`` (on the other side), ``inconclusive`` (it spans the line; the
line then states the effect the run could have detected, 80% power) or ``not measured``. A claim
measured for only part of what it names says which part is missing and is never ``supported``.
Each line says which task and metric decided. The input is :func:`polyalign.report.collect.collect`'s
document, whose ``items`` hold the samples' per-item scores.
"""

from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from polyalign.claim_arms import claim_arms
from polyalign.io import InputError
from polyalign.report import evidence as ev
from polyalign.report.collect import collect
from polyalign.scaling import laws
from polyalign.scaling.fit import fit_one
from polyalign.stats import decide
from polyalign.stats.bootstrap import RESAMPLES, Comparison, Effect, Measure, mean_measure, paired_bootstrap, union

MUIT_TOLERANCE = 1.0  # chrF++ points: "MuIT within 1 chrF++ of per-language CoIT"
R2_THRESHOLD = 0.9
ALIGNMENT_KEY = "cosine_parallel_centred"
PAIRS_KEY = "pairs_cos_centred"


def _arrow(src: str, tgt: str) -> str:
    return f"{src}→{tgt}"


def _expected_arms(doc: dict[str, Any], builder: str) -> list[str]:
    """Arms of ``builder`` the recipe names (or, without a recipe, the run has)."""
    named = [a["name"] for a in (doc.get("recipe") or {}).get("arms") or [] if a.get("builder") == builder]
    return named or [n for n, a in doc.get("arms", {}).items() if a.get("builder") == builder]


def _partial(verdict: str, missing: list[str]) -> str:
    return "inconclusive" if missing and verdict == "supported" else verdict


def _coverage(measured: list[str], missing: list[str]) -> str:
    return f"; measured for {', '.join(measured)}; {', '.join(missing)} missing" if missing else ""


def _detect(verdict: str, effects: list[Effect], unit: str, prec: int = 2, per_part: bool = False) -> str:
    """Why an inconclusive verdict could not be decided: too few items, or the effect the run could
    have detected (the largest over ``effects``, the ones that decided)."""
    if verdict != "inconclusive":
        return ""
    if (n := decide.too_few(effects)) is not None:
        return f"; too few items to decide ({n} in a part, fewer than {decide.MIN_ITEMS})"
    value = max(e.detectable for e in effects)
    return f"; this run could detect ≥ {value:.{prec}f} {unit}{' per part' if per_part else ''} (80% power)"


def _seed(doc: dict[str, Any]) -> int:
    return int((doc.get("recipe") or {}).get("seed") or 0)


def _translation_parts(
    doc: dict[str, Any], wanted: list[tuple[str, str | None, str | None, str, str]], allow_comet: bool = True
) -> tuple[dict[str, tuple[Measure, Measure]], list[str], str, list[str]]:
    """Paired measures for ``(label, A, B, src, tgt)``: parts, tasks used, the metric, and the
    labels measured only as corpus points (no items)."""
    found = {lab: (a, b, t) for lab, a, b, s, g in wanted if (t := ev.translation_task(doc, a, b, s, g))}
    metric = (
        "comet" if allow_comet and found and all(ev.has_comet(doc, a, b, t) for a, b, t in found.values()) else "chrf"
    )
    parts = {lab: ev.translation_measures(doc, a, b, t, metric) for lab, (a, b, t) in found.items()}
    points = [lab for lab, a, b, s, g in wanted if lab not in found and ev.point_only(doc, a, b, s, g)]
    tasks = sorted({t.partition("/")[0] for _, _, t in found.values()})
    return parts, tasks, metric, points


def _decided(tasks: list[str], parts: dict[str, tuple[Measure, Measure]], comp: Comparison) -> str:
    names = sorted({m.name for pair in parts.values() for m in pair})
    n = sorted({e.n for e in comp.parts.values()})
    items = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    together = _together(comp)
    return f"{'/'.join(tasks)} {'/'.join(names)}, {items} items per part{together}, {comp.resamples} paired resamples"


def _missing_parts(labels: list[str], parts: dict[str, Any], points: list[str]) -> list[str]:
    """The parts of a measured whole (an arm's directions) that were scored but did not pair: their
    per-item samples are missing. A part never evaluated (a recipe that scores En→X only) is not
    part of what the run measured, and is not counted."""
    return [f"{lab} (no per-item samples)" for lab in labels if lab not in parts and lab in points]


def _together(comp: Comparison) -> str:
    """What a cluster bootstrap resampled (:func:`polyalign.stats.bootstrap.paired_bootstrap`), else nothing."""
    if not comp.clustered:
        return ""
    return f" (the same items in several parts resampled together: {comp.pooled.n} distinct)"


def _no_items(cid: str, claim: str, points: list[str]) -> dict[str, Any]:
    return ev.record(
        cid,
        claim,
        "inconclusive",
        f"no per-item samples to pair (corpus scores only for {', '.join(points)}); no interval",
    )


def coit_raises_translation(doc: dict[str, Any], resamples: int = RESAMPLES) -> dict[str, Any]:
    """Every CoIT arm above the base, in both directions of its language (Holm over the parts)."""
    claim, cid = "CoIT raises translation", "coit"
    arms = doc.get("arms", {})
    wanted, missing, measured = [], [], []
    for name in _expected_arms(doc, "coit"):
        if name not in arms:
            missing.append(f"{name} (not run)")
            continue
        for lang in arms[name].get("languages", []):
            wanted += [(f"{name} {_arrow(s, g)}", name, None, s, g) for s, g in (("en", lang), (lang, "en"))]
    parts, tasks, metric, points = _translation_parts(doc, wanted)
    for name in [n for n in _expected_arms(doc, "coit") if n in arms]:
        if any(lab.startswith(name + " ") for lab in parts):
            measured.append(name)
            missing += _missing_parts([w[0] for w in wanted if w[1] == name], parts, points)
        else:
            corpus_only = any(lab.startswith(name + " ") for lab in points)
            missing.append(f"{name} (no per-item samples)" if corpus_only else name)
    if not parts:
        if points:
            return _no_items(cid, claim, points)
        return ev.record(cid, claim, "not measured", "(no CoIT arm with base and tuned translation items)")
    comp = paired_bootstrap(parts, resamples, _seed(doc))
    verdict = _partial(decide.every_above(list(comp.parts.values())), missing)
    unit = "COMET" if metric == "comet" else "chrF++"
    shown = ", ".join(f"{n} {ev.interval(e)}" for n, e in comp.parts.items())
    how = "every part above the base (Holm)" if len(comp.parts) > 1 else "tuned − base"
    text = (
        f"{how}: {shown}; pooled {ev.interval(comp.pooled)} {unit}; decided on {_decided(tasks, parts, comp)}"
        f"{_coverage(measured, missing)}"
        f"{_detect(verdict, list(comp.parts.values()), unit, per_part=True)}"
    )
    decided = _decided(tasks, parts, comp)
    return ev.record(cid, claim, verdict, text, comp, decided, unit, missing, extra={"decided_on": "parts"})


def muit_matches_coit(
    doc: dict[str, Any], tolerance: float = MUIT_TOLERANCE, resamples: int = RESAMPLES
) -> dict[str, Any]:
    """A uniform MuIT arm equivalent (±``tolerance`` chrF++) to the CoIT arm of each of its languages."""
    claim, cid = f"MuIT within {tolerance:g} chrF++ of per-language CoIT", "muit"
    arms = doc.get("arms", {})
    coit = {lang: n for n, a in arms.items() if a.get("builder") == "coit" for lang in a.get("languages", [])}
    m, _ = claim_arms(arms)
    if m is None:
        return ev.record(cid, claim, "not measured", "(no MuIT arm sharing a language with a CoIT arm)")
    langs = [x for x in arms[m].get("languages", []) if x in coit]
    wanted = [(f"{x} {_arrow(s, g)}", m, coit[x], s, g) for x in langs for s, g in (("en", x), (x, "en"))]
    parts, tasks, _, points = _translation_parts(doc, wanted, allow_comet=False)
    measured = [x for x in langs if any(lab.startswith(x + " ") for lab in parts)]
    missing = [x for x in langs if x not in measured]
    for x in measured:
        missing += _missing_parts([w[0] for w in wanted if w[0].startswith(x + " ")], parts, points)
    named = {
        x
        for a in (doc.get("recipe") or {}).get("arms") or []
        if a.get("builder") == "coit"
        for x in a.get("languages") or []
    }
    missing += [f"{x} (its CoIT arm not run)" for x in arms[m].get("languages", []) if x in named and x not in coit]
    if not parts:
        return _no_items(cid, claim, points) if points else ev.record(cid, claim, "not measured", "(no paired items)")
    comp = paired_bootstrap(parts, resamples, _seed(doc))
    verdict = _partial(decide.every_equivalent(list(comp.parts.values()), tolerance), missing)
    shown = ", ".join(f"{n} {ev.interval(e)}" for n, e in comp.parts.items())
    text = (
        f"{m} − CoIT, every part inside ±{tolerance:g} (two one-sided tests, Holm): {shown}; pooled "
        f"{ev.interval(comp.pooled)} chrF++; decided on {_decided(tasks, parts, comp)}{_coverage(measured, missing)}"
        f"{_detect(verdict, list(comp.parts.values()), 'chrF++', per_part=True)}"
    )
    decided = _decided(tasks, parts, comp)
    extra = {"margin": tolerance, "decided_on": "parts"}
    return ev.record(cid, claim, verdict, text, comp, decided, "chrF++", missing, extra=extra)


def _law_facts(f: dict[str, Any]) -> dict[str, Any]:
    """k, distinct sizes, rising and leave-one-size-out RMSE: the fit's own fields when it has them,
    else computed here from its sizes, scores and form (refitted without bootstrap when the fit
    carries no parameters)."""
    sizes, scores = list(f.get("sizes") or []), list(f.get("scores") or [])
    form, params = f.get("form"), dict(f.get("params") or {})
    k = f.get("k") or len(params) or len(laws.PARAMS.get(form, ())) or None
    n_sizes = f.get("n_sizes") or len(set(sizes)) or f.get("n")
    gamma = float(f.get("gamma") or 1.0)
    rising, loo, ends = f.get("rising"), f.get("loo_rmse"), None
    x, y = np.asarray(sizes, float), np.asarray(scores, float)
    try:
        if not params and k and len(set(sizes)) >= k and len(x) == len(y):
            params = fit_one(form, x, y, gamma, bootstrap=0).params
        if sizes and params:
            lo, hi = laws.predict(form, params, [min(sizes), max(sizes)], gamma)
            ends = (float(lo), float(hi))
        if "loo_rmse" not in f and k and len(set(sizes)) - 1 >= k and len(x) == len(y):
            errs: list[float] = []
            for s in sorted(set(sizes)):
                keep = x != s
                fit = fit_one(form, x[keep], y[keep], gamma, bootstrap=0)
                errs += list(y[~keep] - laws.predict(form, fit.params, x[~keep], gamma))
            loo = float(np.sqrt(np.mean(np.square(errs))))
    except (InputError, ValueError, KeyError, TypeError):  # too few points to refit: facts stay unknown
        pass
    if rising is None and ends is not None:
        rising = ends[1] > ends[0]
    return {"k": k, "n_sizes": n_sizes, "rising": rising, "loo_rmse": loo, "ends": ends, "sizes": sizes}


def _law_one(lang: str, f: dict[str, Any], threshold: float) -> tuple[str, str, dict[str, Any]]:
    """One language's fit: its verdict, the words that say why, and the facts behind it."""
    facts = _law_facts(f)
    form, r2, k, n = f.get("form", "?"), f.get("r2"), facts["k"], facts["n_sizes"]
    if r2 is None or not n:
        return "not measured", f"{lang} not measured (no fit)", facts
    loo = "n/a (too few sizes)" if facts["loo_rmse"] is None else f"{facts['loo_rmse']:.2f}"
    shape = {True: "rises", False: "falls or is flat", None: "direction unknown"}[facts["rising"]]
    if facts["ends"] and facts["sizes"]:
        e, s = facts["ends"], facts["sizes"]
        shape += f" {e[0]:.2f}→{e[1]:.2f} over {min(s):g}–{max(s):g} pairs"
    why = ""
    if facts["rising"] is False and n >= 3:
        verdict = "contradicted"
    elif k and n < k + 2:
        verdict, why = "inconclusive", f"; {n} sizes, the {form} form needs ≥ {k + 2}"
    elif facts["rising"] is None:
        verdict, why = "inconclusive", "; no curve to read its direction from"
    elif facts["rising"] is False:
        verdict = "contradicted"
    elif r2 < threshold:
        verdict, why = "inconclusive", f"; R² below {threshold:.2f}"
    else:
        verdict = "supported"
    text = f"{lang} {verdict} ({form}, k={k}, {n} sizes, R² {r2:.3f}, {shape}, leave-one-size-out RMSE {loo}{why})"
    return verdict, text, facts


def quality_follows_law(doc: dict[str, Any], threshold: float = R2_THRESHOLD) -> dict[str, Any]:
    """Per language: a fit that rises over the measured range, from ≥ k + 2 sizes, with R² ≥ ``threshold``."""
    claim, cid = "Quality follows the fitted scaling law", "law"
    fits = ((doc.get("scaling") or {}).get("fits") or {}).get("fits") or {}
    if not fits:
        return ev.record(cid, claim, "not measured", "(no scaling pilot fits in this run)")
    judged = {lang: _law_one(lang, f, threshold) for lang, f in fits.items()}
    wanted = ((doc.get("recipe") or {}).get("scaling") or {}).get("languages") or []
    missing = [x for x in wanted if x not in fits]
    verdict = _partial(decide.combine([v for v, _, _ in judged.values()]), missing)
    text = "; ".join(t for _, t, _ in judged.values())
    text += f" (every language must rise, from ≥ k + 2 sizes, with R² ≥ {threshold:.2f})"
    text += _coverage(list(fits), missing)
    langs = {
        lang: {"verdict": v, "r2": fits[lang].get("r2"), "form": fits[lang].get("form")}
        | {k: x for k, x in facts.items() if k not in ("ends", "sizes")}
        for lang, (v, _, facts) in judged.items()
    }
    return ev.record(
        cid, claim, verdict, text, decided_by="scaling/fits.json", missing=missing, extra={"languages": langs}
    )


def planned_beats_uniform(doc: dict[str, Any], resamples: int = RESAMPLES) -> dict[str, Any]:
    """The planned MuIT arm above the uniform one, En→X, over the union of the shared languages' items."""
    claim, cid = "The planned budget beats uniform", "plan"
    arms = doc.get("arms", {})
    _, pair = claim_arms(arms)
    if pair is None:
        kinds = {a.get("allocation") for a in arms.values() if a.get("builder") == "muit"}
        why = "no uniform MuIT arm shares a language with the planned one" if {"plan", "uniform"} <= kinds else ""
        return ev.record(cid, claim, "not measured", f"({why or 'needs a planned and a uniform MuIT arm'})")
    p, u = pair
    langs = [x for x in arms[p].get("languages", []) if x in arms[u].get("languages", [])]
    parts, tasks, metric, points = _translation_parts(doc, [(x, p, u, "en", x) for x in langs])
    missing = [x for x in langs if x not in parts]
    if not parts:
        if points:
            return _no_items(cid, claim, points)
        return ev.record(cid, claim, "not measured", "(no En→X items for both MuIT arms)")
    comp = paired_bootstrap(parts, resamples, _seed(doc))
    whole = paired_bootstrap(
        {"all": (union([a for a, _ in parts.values()]), union([b for _, b in parts.values()]))},
        resamples,
        _seed(doc),
    )
    pooled, distinct = whole.parts["all"], " distinct" if whole.clustered else ""
    verdict = _partial(decide.above(pooled), missing)
    unit = "COMET" if metric == "comet" else "chrF++"
    plan = (doc.get("scaling") or {}).get("plan") or {}
    predicted = (
        f"; predicted gain {plan['gain_over_uniform']:+.2f}" if plan.get("gain_over_uniform") is not None else ""
    )
    text = (
        f"{p} − {u} En→X over the union of {', '.join(parts)} items ({pooled.n}{distinct}): "
        f"{ev.interval(pooled)} {unit}; "
        + ", ".join(f"{n} {ev.interval(e)}" for n, e in comp.parts.items())
        + f"{predicted}; decided on {_decided(tasks, parts, comp)}{_coverage(list(parts), missing)}"
        + _detect(verdict, [pooled], unit)
    )
    decided = _decided(tasks, parts, comp)
    extra = {"pooled_label": "union of items", "decided_on": "pooled"}
    return ev.record(cid, claim, verdict, text, comp, decided, unit, missing, pooled=pooled, extra=extra)


def _middle_rows(al: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [r for r in al.get("layers", []) if r.get(ALIGNMENT_KEY) is not None and r.get("layer", 0) > 0]
    n = len(rows)
    return rows[n // 3 : max(n // 3 + 1, (2 * n) // 3)]


def tuning_raises_middle_alignment(doc: dict[str, Any], resamples: int = RESAMPLES) -> dict[str, Any]:
    """Every tuned arm's centred parallel cosine over the middle third of layers above the base's,
    paired by parallel pair (a bootstrap over pairs; Holm over the arms)."""
    claim, cid = "Tuning raises middle-layer alignment", "alignment"
    an = doc.get("analysis") or {}
    base = (an.get("base") or {}).get("alignment") or {}
    mid = _middle_rows(base)
    tuned = {n: a["alignment"] for n, a in (an.get("arms") or {}).items() if a.get("alignment")}
    if not mid or not tuned:
        return ev.record(cid, claim, "not measured", "(no base and tuned alignment by layer)")
    layers = [r["layer"] for r in mid]
    head = f"centred cosine en–{an.get('lang')}, layers {layers[0]}–{layers[-1]}"

    def per_pair(al: dict[str, Any]) -> list[float] | None:
        by = {r.get("layer"): r.get(PAIRS_KEY) for r in al.get("layers", [])}
        cols = [by.get(x) for x in layers]
        if any(not c for c in cols) or len({len(c) for c in cols}) != 1:
            return None
        return list(np.mean(np.asarray(cols, dtype=float), axis=0))

    base_pairs = per_pair(base)
    parts = {}
    for name, al in tuned.items():
        pairs = per_pair(al)
        if base_pairs is not None and pairs is not None and len(pairs) == len(base_pairs):
            parts[name] = (mean_measure(pairs, "centred cosine"), mean_measure(base_pairs, "centred cosine"))
    if not parts:
        point = mean(float(r[ALIGNMENT_KEY]) for r in mid)
        shown = ", ".join(
            f"{n} {mean(float(r[ALIGNMENT_KEY]) for r in _middle_rows(al) or mid) - point:+.3f}"
            for n, al in tuned.items()
        )
        return ev.record(
            cid,
            claim,
            "inconclusive",
            f"no per-pair values to pair ({head}: base {point:.3f}; point differences {shown})",
        )
    missing = [f"{n} (no per-pair values)" for n in tuned if n not in parts]
    missing += [f"{n} (no alignment.json)" for n in doc.get("arms", {}) if n not in tuned]
    comp = paired_bootstrap(parts, resamples, _seed(doc))
    verdict = _partial(decide.every_above(list(comp.parts.values())), missing)
    n_pairs = len(base_pairs or [])
    decided = f"{head}, {n_pairs} parallel pairs, {comp.resamples} paired resamples"
    text = (
        f"tuned − base, {'every arm above (Holm)' if len(parts) > 1 else 'paired by pair'}: "
        + ", ".join(f"{n} {ev.interval(e, 3)}" for n, e in comp.parts.items())
        + f"; decided on {decided}{_coverage(list(parts), missing)}"
        + _detect(verdict, list(comp.parts.values()), "cosine", 3, per_part=len(parts) > 1)
    )
    return ev.record(cid, claim, verdict, text, comp, decided, "centred cosine", missing, extra={"decided_on": "parts"})


def unseen(task: str, seen: set[str]) -> bool:
    """A task key names one language (``polyqa/fr``) or two (``mlqa/en-zh``): unseen only when no
    side of it was trained on (English always counts as trained)."""
    return not set(task.partition("/")[2].split("-")) & (seen | {"en"})


def qalign_transfers(doc: dict[str, Any], resamples: int = RESAMPLES) -> dict[str, Any]:
    """A question-alignment arm above the base on QA/classification in languages it never saw; each
    unseen task its own interval, the pooled effect decides."""
    claim, cid = "Question alignment transfers to languages it never saw", "qalign"
    arms = doc.get("arms", {})
    parts, points, metrics, missing, frozen = {}, [], set(), [], []
    family: dict[str, str] = {}  # part label -> its task (polyqa, polysent, mlqa)
    units: dict[str, str] = {}  # task -> its per-item metric
    for name in _expected_arms(doc, "qalign"):
        if name not in arms:
            missing.append(f"{name} (not run)")
            continue
        seen = set(arms[name].get("languages", []))
        tasks = set((doc.get("items") or {}).get("arms", {}).get(name) or {}) | set(arms[name].get("results") or {})
        for task in sorted(tasks):
            if task.partition("/")[0] in ev.TRANSLATION_FAMILIES or not unseen(task, seen):
                continue
            rows = ev.pair(ev.items(doc, name, task), ev.items(doc, None, task))
            metric = ev.item_metric(rows[0] + rows[1]) if rows else None
            if rows and metric:
                key, label, scale = metric
                metrics.add(label)
                ids = ev.item_ids(rows[0])
                family[f"{name} {task}"] = task.partition("/")[0]
                units[family[f"{name} {task}"]] = label
                constant = ev.results(doc, name).get(task, {}).get("constant_prediction")
                if constant is not None and constant == ev.results(doc, None).get(task, {}).get("constant_prediction"):
                    frozen.append(f"{name} {task}")
                parts[f"{name} {task}"] = (
                    mean_measure([scale * float(r[key]) for r in rows[0]], label, ids),
                    mean_measure([scale * float(r[key]) for r in rows[1]], label, ids),
                )
            elif task in (doc.get("base") or {}):
                points.append(f"{name} {task}")
    if not parts:
        if points:
            return _no_items(cid, claim, points)
        return ev.record(
            cid, claim, "not measured", "(no question-alignment arm evaluated on languages outside its training)"
        )
    missing += [f"{lab} (no per-item samples)" for lab in points]
    comp = paired_bootstrap(parts, resamples, _seed(doc))
    verdict = _partial(decide.above(comp.pooled), missing)
    unit = "/".join(sorted(metrics)) + " points"
    decided = (
        f"{len(parts)} unseen tasks, {'/'.join(sorted(metrics))} per item{_together(comp)}, "
        f"{comp.resamples} paired resamples"
    )
    by_task = _by_task(parts, family, resamples, _seed(doc)) if len(units) > 1 else {}
    shown = (
        "; by task, not deciding: " + ", ".join(f"{t} {ev.interval(e)} {units[t]}" for t, e in by_task.items())
        if by_task
        else ""
    )
    text = (
        f"pooled over unseen languages {ev.interval(comp.pooled)} {unit}: "
        + ", ".join(f"{n} {ev.interval(e)}" for n, e in comp.parts.items())
        + f"{shown}; decided on {decided}{_coverage(sorted(parts), missing)}"
        + _frozen(frozen, len(parts))
        + _detect(verdict, [comp.pooled], unit)
    )
    extra = {"decided_on": "pooled"} | ({"by_task": {t: e.to_json() for t, e in by_task.items()}} if by_task else {})
    return ev.record(cid, claim, verdict, text, comp, decided, unit, missing, extra=extra)


def _by_task(
    parts: dict[str, tuple[Measure, Measure]], family: dict[str, str], resamples: int, seed: int
) -> dict[str, Effect]:
    """Each task's own pooled effect over its unseen languages (``family``: each part's task): which task
    moved, beside the pooled effect over all that decides."""
    groups: dict[str, dict[str, tuple[Measure, Measure]]] = {}
    for n, m in parts.items():
        groups.setdefault(family[n], {})[n] = m
    return {t: paired_bootstrap(g, resamples, seed).pooled for t, g in sorted(groups.items())}


def _frozen(frozen: list[str], n: int) -> str:
    """Which parts could not move: base and arm gave every item the same one label (a classification task
    read at its majority rate). They stay in the pool, where they count as no change."""
    if not frozen:
        return ""
    return (
        f"; in {len(frozen)} of {n} parts base and arm gave every item one and the same label (a measurement "
        "that did not move)"
    )


CLAIMS = (
    coit_raises_translation,
    muit_matches_coit,
    quality_follows_law,
    planned_beats_uniform,
    tuning_raises_middle_alignment,
    qalign_transfers,
)


def judge_claims(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim, in the papers' order."""
    return [c(doc) for c in CLAIMS]


def run_claims(run_dir: Path | None) -> list[str]:
    """The claims judged from a run's artefacts as its report judges them, one line each (what a
    model card lists); none without a run, or for a broken run directory."""
    if run_dir is None:
        return []
    try:
        judged = judge_claims(collect(run_dir))
    except (InputError, ValueError, OSError):  # a broken run directory: the card judges no claim
        return []
    return [c.get("line") or c.get("claim") for c in judged]
