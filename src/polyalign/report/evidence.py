"""What the claims compare: paired per-item measures of two systems on one task, chosen in a stated
order of preference, and the words and numbers a claim's line is made of (pure functions).

Systems are ``None`` (the untuned base) or an arm's name; their items are the rows of the
samples (``doc["items"]``, see :mod:`polyalign.report.collect`), paired by item id.
"""

from __future__ import annotations

from typing import Any

from polyalign.stats.bootstrap import Comparison, Effect, Measure, corpus_measure, mean_measure

# Translation claims read the first of these that both systems measured for a direction: FLORES (the
# papers' set), the shipped general-domain polymt, then the run's held-out pairs.
TRANSLATION_FAMILIES = ("flores", "polymt", "translation")
# Per-item score of a QA / classification task, in order of preference, with its scale to percent.
ITEM_METRIC = (("f1", 100.0, "F1"), ("correct", 100.0, "accuracy"), ("exact_match", 100.0, "EM"))


def items(doc: dict[str, Any], system: str | None, task: str) -> list[dict[str, Any]]:
    """The per-item rows of ``system`` (``None``: the base) on ``task``; empty when not kept."""
    it = doc.get("items") or {}
    rows = (it.get("base") or {}) if system is None else (it.get("arms") or {}).get(system) or {}
    return rows.get(task) or []


def results(doc: dict[str, Any], system: str | None) -> dict[str, Any]:
    return (doc.get("base") if system is None else (doc.get("arms", {}).get(system) or {}).get("results")) or {}


def pair(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[list[dict], list[dict]] | None:
    """The rows of ``a`` and ``b`` on the same items, in ``a``'s order: by ``id`` when every row has
    one, else by position when both hold as many rows; ``None`` when they cannot be paired."""
    if not a or not b:
        return None
    if all("id" in r for r in a) and all("id" in r for r in b):
        by_id = {str(r["id"]): r for r in b}
        both = [(r, by_id[str(r["id"])]) for r in a if str(r["id"]) in by_id]
        return ([x for x, _ in both], [y for _, y in both]) if both else None
    return (a, b) if len(a) == len(b) else None


def translation_task(doc: dict[str, Any], a: str | None, b: str | None, src: str, tgt: str) -> str | None:
    """The first task of :data:`TRANSLATION_FAMILIES` for ``src→tgt`` with paired items of both."""
    for fam in TRANSLATION_FAMILIES:
        task = f"{fam}/{src}-{tgt}"
        rows = pair(items(doc, a, task), items(doc, b, task))
        if rows and all(_scorable(r) for side in rows for r in side):
            return task
    return None


def _scorable(row: dict[str, Any]) -> bool:
    """A translation item a metric can be read from: its text, or a per-item chrF++."""
    return ("output" in row and isinstance(row.get("reference"), str)) or "chrf" in row


def point_only(doc: dict[str, Any], a: str | None, b: str | None, src: str, tgt: str) -> tuple[str, float] | None:
    """``(task, A − B chrF++)`` when both systems have a corpus score but no items to pair."""
    for fam in TRANSLATION_FAMILIES:
        task = f"{fam}/{src}-{tgt}"
        va, vb = results(doc, a).get(task, {}).get("chrf"), results(doc, b).get(task, {}).get("chrf")
        if va is not None and vb is not None:
            return task, float(va) - float(vb)
    return None


def has_comet(doc: dict[str, Any], a: str | None, b: str | None, task: str) -> bool:
    rows = pair(items(doc, a, task), items(doc, b, task))
    return bool(rows) and all("comet" in r for side in rows for r in side)


def translation_measures(
    doc: dict[str, Any], a: str | None, b: str | None, task: str, metric: str
) -> tuple[Measure, Measure]:
    """Paired measures of ``a`` and ``b`` on ``task``: COMET (mean of segment scores), or corpus chrF++
    recomputed from the outputs with the signature the results carry (sentence chrF++ means when the
    samples hold no text)."""
    ra, rb = pair(items(doc, a, task), items(doc, b, task)) or ([], [])
    ids = item_ids(ra)
    if metric == "comet":
        comet = [mean_measure([r["comet"] for r in rows], "COMET", ids) for rows in (ra, rb)]
        return comet[0], comet[1]
    if all("output" in r and isinstance(r.get("reference"), str) for r in ra + rb):
        sig = results(doc, a).get(task, {}).get("chrf_signature") or results(doc, b).get(task, {}).get("chrf_signature")
        return (
            corpus_measure([r["output"] for r in ra], [r["reference"] for r in ra], "chrf", sig, ids),
            corpus_measure([r["output"] for r in rb], [r["reference"] for r in rb], "chrf", sig, ids),
        )
    return mean_measure([r["chrf"] for r in ra], "sentence chrF++", ids), mean_measure(
        [r["chrf"] for r in rb], "sentence chrF++", ids
    )


def item_ids(rows: list[dict[str, Any]]) -> list[str] | None:
    """The rows' item ids (paired rows: the same on both sides), when every row has one."""
    return [str(r["id"]) for r in rows] if rows and all("id" in r for r in rows) else None


def item_metric(rows: list[dict[str, Any]]) -> tuple[str, str, float] | None:
    """``(field, label, scale)`` of the first per-item score every row carries."""
    for key, scale, label in ITEM_METRIC:
        if rows and all(key in r for r in rows):
            return key, label, scale
    return None


def signed(x: float, prec: int = 2) -> str:
    return f"{x:+.{prec}f}"


def interval(e: Effect, prec: int = 2) -> str:
    """``+5.00 [+2.10, +7.90]``: the effect and its 95% interval."""
    return f"{signed(e.effect, prec)} [{signed(e.low, prec)}, {signed(e.high, prec)}]"


def part_rows(comp: Comparison, verdicts: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The parts of a comparison as JSON rows (for summary.json and the forest plot)."""
    return [{"name": n, **e.to_json(), **({"verdict": verdicts[n]} if verdicts else {})} for n, e in comp.parts.items()]


def record(
    cid: str,
    claim: str,
    verdict: str,
    evidence: str,
    comp: Comparison | None = None,
    decided_by: str | None = None,
    unit: str | None = None,
    missing: list[str] | None = None,
    pooled: Effect | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One judged claim: its line and everything summary.json records about it (``extra``: a claim's
    own fields, e.g. ``decided_on``: ``parts`` when every part must hold, ``pooled`` when the pooled
    effect decides)."""
    sep = " " if evidence.startswith("(") else " — "
    out: dict[str, Any] = {
        "id": cid,
        "claim": claim,
        "verdict": verdict,
        "line": f"{claim}: {verdict}{sep}{evidence}",
        "decided_by": decided_by,
        "unit": unit,
        "missing": missing or [],
    }
    if comp is not None:
        pool = pooled or comp.pooled
        out |= {
            "effect": round(pool.effect, 6),
            "low": round(pool.low, 6),
            "high": round(pool.high, 6),
            "pooled": pool.to_json(),
            "parts": part_rows(comp),
            "method": comp.method(),
        }
    return out | (extra or {})
