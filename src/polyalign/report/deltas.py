"""Every tuned number's delta against the untuned base, with its 95% paired interval (pure).

The results tables, the transfer table and each model card compare an arm with the base on the same
items, metric by metric. Each such delta gets the interval the claims use: a seeded paired bootstrap
over the items both were scored on (:func:`polyalign.stats.bootstrap.paired_bootstrap`), corpus
chrF++ and BLEU recomputed on every resample from sacrebleu's per-sentence statistics (chrF++ as the
mean of per-item scores where the samples hold no texts, as the claims read it), F1, exact
match, accuracy and COMET as means of the per-item scores, and language fidelity as the share of the
identified outputs in the asked language (per item: identified or not, and in that language or not;
outputs without a letter are in no language and count in neither, as the evaluation counts them).

An interval is given only where it belongs to the number shown: the delta recomputed from the samples
must equal the difference of the two results (to 1e-6); where the samples cannot give it (no per-item
rows, rows that do not pair, a BLEU tokenizer that needs its SentencePiece model) the delta is shown
without one, never with an interval of something else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from polyalign import langs
from polyalign.report.evidence import item_ids, items, pair, results, translation_measures
from polyalign.stats.bootstrap import RESAMPLES, Effect, Measure, corpus_measure, mean_measure, paired_bootstrap

METRICS = ("chrf", "bleu", "comet", "f1", "exact_match", "accuracy", "fidelity")
"""The metrics a delta is shown for (the tables' and the model card's), each with a paired interval."""
PER_ITEM = {
    "f1": ("f1", 100.0),
    "exact_match": ("exact_match", 100.0),
    "accuracy": ("correct", 100.0),
    "comet": ("comet", 1.0),
}
"""A mean metric's per-item field in the samples and its scale to the results' number."""
TOLERANCE = 1e-6


def target_language(task: str) -> str:
    """The language a task's outputs should be in: ``polymt/en-es`` → ``es``, ``polyqa/de`` → ``de``.

    >>> target_language("polymt/en-es"), target_language("polyqa/de")
    ('es', 'de')
    """
    return task.partition("/")[2].rpartition("-")[2]


def fidelity_measure(rows: list[dict[str, Any]], lang: str, ids: list[str] | None = None) -> Measure:
    """Fidelity as a ratio over items: stats ``(in lang, identified)``; score 100 × on-target / identified."""
    accept = langs.langid_codes_for(lang)
    found = [r.get("detected_lang") for r in rows]
    stats = np.array([[float(d in accept), float(d is not None)] for d in found], dtype=float)

    def score(s: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * s[:, 0] / s[:, 1]

    return Measure(stats, score, "fidelity %", tuple(ids) if ids is not None else None)


def measures(doc: dict[str, Any], arm: str, task: str, metric: str) -> tuple[Measure, Measure] | None:
    """Paired measures of ``arm`` and the base on ``task`` for ``metric``; ``None`` when the samples
    cannot give them."""
    rows = pair(items(doc, arm, task), items(doc, None, task))
    if rows is None:
        return None
    ra, rb = rows
    ids = item_ids(ra)
    texts = all(isinstance(r.get("output"), str) and isinstance(r.get("reference"), str) for r in ra + rb)
    if metric == "chrf":  # corpus chrF++ from the texts, else the mean of per-item chrF++, as the claims read it
        if not texts and not all(isinstance(r.get("chrf"), (int, float)) for r in ra + rb):
            return None
        return translation_measures(doc, arm, None, task, "chrf")
    if metric == "bleu":
        if not texts:
            return None
        sig = results(doc, arm).get(task, {}).get("bleu_signature")
        try:
            tuned = corpus_measure([r["output"] for r in ra], [r["reference"] for r in ra], "bleu", sig, ids)
            base = corpus_measure([r["output"] for r in rb], [r["reference"] for r in rb], "bleu", sig, ids)
        except ValueError:  # a tokenizer that needs its SentencePiece model
            return None
        return tuned, base
    if metric in PER_ITEM:
        key, scale = PER_ITEM[metric]
        if not all(isinstance(r.get(key), (int, float)) for r in ra + rb):
            return None
        return (
            mean_measure([scale * float(r[key]) for r in ra], metric, ids),
            mean_measure([scale * float(r[key]) for r in rb], metric, ids),
        )
    if metric == "fidelity":
        if not all("detected_lang" in r for r in ra + rb):
            return None
        lang = target_language(task)
        return fidelity_measure(ra, lang, ids), fidelity_measure(rb, lang, ids)
    return None


def delta_effect(
    doc: dict[str, Any], arm: str, task: str, metric: str, resamples: int = RESAMPLES, seed: int = 0
) -> Effect | None:
    """``arm`` − base on ``task`` in ``metric`` with its paired interval, or ``None`` (see the module)."""
    a = (results(doc, arm).get(task) or {}).get(metric)
    b = (results(doc, None).get(task) or {}).get(metric)
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return None
    m = measures(doc, arm, task, metric)
    if m is None:
        return None
    tuned, base = m
    if abs(tuned.total() - a) > TOLERANCE * max(1.0, abs(a)) or abs(base.total() - b) > TOLERANCE * max(1.0, abs(b)):
        return None  # the samples do not give the numbers shown: no interval rather than another one's
    return paired_bootstrap({task: (tuned, base)}, resamples, seed).parts[task]


def delta_effects(
    doc: dict[str, Any], arms: Iterable[str] | None = None, resamples: int = RESAMPLES, seed: int | None = None
) -> dict[str, dict[str, dict[str, Effect]]]:
    """``{arm: {task: {metric: Effect}}}`` for every delta the run's tables show that the samples can
    give an interval for (``arms``: only these). ``seed``: the recipe's, as the claims use."""
    if seed is None:
        seed = int((doc.get("recipe") or {}).get("seed") or 0)
    out: dict[str, dict[str, dict[str, Effect]]] = {}
    for arm in arms if arms is not None else list(doc.get("arms") or {}):
        for task in sorted(results(doc, arm)):
            for metric in METRICS:
                e = delta_effect(doc, arm, task, metric, resamples, seed)
                if e is not None:
                    out.setdefault(arm, {}).setdefault(task, {})[metric] = e
    return out


def deltas_json(effects: dict[str, dict[str, dict[str, Effect]]]) -> dict[str, Any]:
    """What ``summary.json`` records of :func:`delta_effects` (effect, interval, items, standard error)."""
    return {
        arm: {task: {metric: e.to_json() for metric, e in by_metric.items()} for task, by_metric in tasks.items()}
        for arm, tasks in effects.items()
    }


def with_interval(effect: Effect | None, delta: float) -> str:
    """``+0.02 [-1.53, +1.60]`` (the delta and its interval), or the delta alone when it has none."""
    if effect is None:
        return f"{delta:+.2f}"
    return f"{delta:+.2f} [{effect.low:+.2f}, {effect.high:+.2f}]"
