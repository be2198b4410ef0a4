"""The report's tables as plain rows, from :func:`polyalign.report.collect.collect`'s document (pure)."""

from __future__ import annotations

from typing import Any

from polyalign.report.deltas import with_interval
from polyalign.stats.bootstrap import Effect

Effects = dict[str, dict[str, dict[str, Effect]]]

LABELS = {
    "chrf": "chrF++",
    "bleu": "BLEU",
    "accuracy": "accuracy %",
    "majority_baseline": "majority baseline %",
    "exact_match": "EM",
    "f1": "F1",
    "fidelity": "fidelity %",
}
TRANSFER_FAMILIES = ("polysent", "polyqa")


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def cell(value: float | None, base: float | None, effect: Effect | None = None) -> str:
    """``25.30 (+5.20 [+2.10, +8.30])``: a tuned number with its delta against the base and the delta's
    95% paired interval (:mod:`polyalign.report.deltas`; the delta alone where the samples give none)."""
    if value is None:
        return "—"
    return f"{value:.2f} ({with_interval(effect, value - base)})" if base is not None else f"{value:.2f}"


def families(doc: dict[str, Any]) -> list[str]:
    """Task families measured anywhere in the run (``translation``, ``polysent``...), translation first."""
    tasks = set(doc.get("base") or {})
    for arm in doc.get("arms", {}).values():
        tasks |= set(arm.get("results") or {})
    fams = sorted({t.partition("/")[0] for t in tasks})
    return sorted(fams, key=lambda f: (f != "translation", f))


def constant_mark(result: dict[str, Any] | None) -> str:
    """`` [constant: LABEL]`` when the model gave every item the same label (its accuracy cannot
    move: it is that label's share of the items), else ``""``."""
    label = (result or {}).get("constant_prediction")
    return f" [constant: {label}]" if label is not None else ""


def results_table(doc: dict[str, Any], family: str, effects: Effects | None = None) -> dict[str, Any]:
    """One table for a task family: a row per task and metric, the base, then every arm with its delta
    and the delta's interval from ``effects`` (:func:`polyalign.report.deltas.delta_effects`); ``unpaired``
    counts the deltas shown without one (the samples could not give it).

    Classification shows the majority-label baseline of the items in the row under accuracy, and
    marks an accuracy cell whose model predicted one label for every item (:func:`constant_mark`).
    """
    arms = list(doc.get("arms", {}))
    base = doc.get("base") or {}
    tasks = set(t for t in base if t.startswith(family + "/"))
    for a in arms:
        tasks |= {t for t in (doc["arms"][a].get("results") or {}) if t.startswith(family + "/")}
    rows, unpaired = [], 0
    for task in sorted(tasks):
        for key, label in LABELS.items():
            b = base.get(task, {}).get(key)
            vals = [(doc["arms"][a].get("results") or {}).get(task, {}).get(key) for a in arms]
            if b is None and all(v is None for v in vals):
                continue
            same_items = key == "majority_baseline"  # a property of the items, not of the model: no delta
            found = [((effects or {}).get(a) or {}).get(task, {}).get(key) for a in arms]
            if not same_items:
                unpaired += sum(1 for v, e in zip(vals, found) if v is not None and b is not None and e is None)
            row = [
                task.partition("/")[2],
                label,
                fmt(b),
                *[fmt(v) if same_items else cell(v, b, e) for v, e in zip(vals, found)],
            ]
            if key == "accuracy":
                results = [base.get(task), *[(doc["arms"][a].get("results") or {}).get(task) for a in arms]]
                row[2:] = [c + constant_mark(r) if c != "—" else c for c, r in zip(row[2:], results)]
            rows.append(row)
    return {"title": family, "header": ["language", "metric", "base", *arms], "rows": rows, "unpaired": unpaired}


def _main(m: dict[str, Any]) -> tuple[str, float] | None:
    return next(((k, float(m[k])) for k in ("accuracy", "f1", "exact_match", "chrf") if m.get(k) is not None), None)


def transfer_matrix(doc: dict[str, Any], effects: Effects | None = None) -> dict[str, Any] | None:
    """Arms × languages of the transfer task (``polysent``, else ``polyqa``, else any suite task with the
    most languages, else En→X chrF++): values are deltas against the base, ``effects`` their intervals
    where ``effects`` holds one (else ``None``); ``None`` with no arms. ``constant`` marks the cells
    where the arm or the base predicted one label for every item."""
    arms = doc.get("arms", {})
    base = doc.get("base") or {}
    if not arms or not base:
        return None
    fams = [f for f in families(doc) if f != "translation"]
    fams.sort(
        key=lambda f: (
            f not in TRANSFER_FAMILIES,
            TRANSFER_FAMILIES.index(f) if f in TRANSFER_FAMILIES else 0,
            -sum(t.startswith(f + "/") for t in base),
        )
    )
    family = fams[0] if fams else "translation"
    tasks = sorted(
        t for t in base if t.startswith(family + "/") and (family != "translation" or t.startswith("translation/en-"))
    )
    if not tasks:
        return None
    cols = [t.partition("/")[2].removeprefix("en-") if family == "translation" else t.partition("/")[2] for t in tasks]
    metric = None
    values, constant, intervals = [], [], []
    for name, arm in arms.items():
        row, flags, found = [], [], []
        for task in tasks:
            a, b = _main((arm.get("results") or {}).get(task, {})), _main(base.get(task, {}))
            metric = metric or (b[0] if b else None)
            row.append(a[1] - b[1] if a and b and a[0] == b[0] else None)
            mine = ((effects or {}).get(name) or {}).get(task, {})
            found.append(mine.get(a[0]) if a and row[-1] is not None else None)
            flags.append(bool(constant_mark((arm.get("results") or {}).get(task)) or constant_mark(base.get(task))))
        values.append(row)
        constant.append(flags)
        intervals.append(found)
    return {
        "family": family,
        "metric": LABELS.get(metric or "", metric),
        "rows": list(arms),
        "cols": cols,
        "values": values,
        "effects": intervals,
        "constant": constant,
        "tuned": [set(a.get("languages", [])) for a in arms.values()],
    }


def what_ran(doc: dict[str, Any]) -> dict[str, Any]:
    """One row per arm: builder, languages, allocation, training examples, steps, tokens, losses."""
    rows = []
    for name, arm in doc.get("arms", {}).items():
        data, train = arm.get("data") or {}, arm.get("train") or {}
        loss = (
            f"{train['first_loss']:.3f} → {train['last_loss']:.3f}"
            if train.get("first_loss") is not None and train.get("last_loss") is not None
            else "—"
        )
        pairs = sum(v.get("train_pairs", 0) for v in (data.get("languages") or {}).values())
        rows.append(
            [
                name,
                arm.get("builder") or "—",
                ", ".join(arm.get("languages", [])),
                arm.get("allocation") or "—",
                str(data.get("train_examples", "—")),
                str(pairs),
                str(train.get("steps", "—")),
                str(train.get("supervised_tokens", "—")),
                loss,
            ]
        )
    return {
        "title": "arms",
        "header": [
            "arm",
            "builder",
            "languages",
            "allocation",
            "examples",
            "parallel pairs",
            "steps",
            "supervised tokens",
            "loss first → last",
        ],
        "rows": rows,
    }


def timings_table(doc: dict[str, Any]) -> dict[str, Any] | None:
    t = doc.get("timings") or {}
    if not t:
        return None
    rows = [[stage, f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.1f} min"] for stage, secs in t.items()]
    rows.append(["total", f"{sum(t.values()) / 60:.1f} min"])
    return {"title": "time per stage", "header": ["stage", "time"], "rows": rows}


def scaling_tables(doc: dict[str, Any]) -> list[dict[str, Any]]:
    sc = doc.get("scaling") or {}
    out = []
    fits = (sc.get("fits") or {}).get("fits") or {}
    if fits:
        out.append(
            {
                "title": "scaling fits",
                "header": ["language", "form", "R²", "sizes"],
                "rows": [
                    [lang, f.get("form", "?"), fmt(f.get("r2")), ", ".join(str(s) for s in f.get("sizes", []))]
                    for lang, f in fits.items()
                ],
            }
        )
    plan = sc.get("plan") or {}
    if plan.get("allocation"):
        uni = (plan.get("uniform") or {}).get("allocation", {})
        out.append(
            {
                "title": "budget allocation",
                "header": ["language", "planned pairs", "uniform pairs"],
                "rows": [[lang, str(n), str(uni.get(lang, "—"))] for lang, n in plan["allocation"].items()],
            }
        )
    return out
