"""The scaling pilot's results: a grid of (language, size) runs → ``points.csv`` → fits → a budget plan.

Each point (:func:`polyalign.arms.pilot_recipes`, run by :func:`polyalign.stages.pilot_points`) is
the recipe's run with one language (CoIT) and ``max_train_pairs`` set to its size, under
``runs/<name>/points/<lang>-<size>/``; with ``scaling.points: snapshots`` a language's points are the
models one run over the largest size kept as it had seen each size (``runs/<name>/points/<lang>/``).
The pair selection ranks pairs by a seeded hash and takes the
held-out test first, then training pairs in rank order, so every size's training pairs are a prefix
of the larger sizes' (nested) and the test set is the same for every size. The untuned baseline is
not evaluated at each point (``eval.baseline: false``). Points run through :mod:`polyalign.grid`
(local, or submitit), so a finished point is never run again and a killed one resumes from its
checkpoint. Outputs in ``runs/<name>/scaling/``: ``points.csv``, ``fits.json``, ``plan.json``,
``fits.png``, ``plan.png``.

This module turns finished points into those files (:func:`fit_and_plan`); running the grid is the
experiment's (:func:`polyalign.experiment.run_pilot` for ``polyalign scaling pilot``,
:func:`polyalign.experiment.stage_pilot` inside a run), so nothing here launches or stages a run.
"""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.grid import GridPoint
from polyalign.io import InputError, atomic_write, write_json
from polyalign.io import log as io_log
from polyalign.report import plots
from polyalign.run_config import RunConfig
from polyalign.scaling.allocate import plan as make_plan
from polyalign.scaling.fits import fit_points
from polyalign.scaling.laws import Points


def finished_points(
    points: list[GridPoint], summaries: dict[str, dict[str, Any]]
) -> list[tuple[str, dict[str, Any], dict[str, Any], Path]]:
    """``(name, {"lang", "size"}, summary, summary path)`` of every pilot point, languages outer, sizes
    ascending: a plain run is one point, a snapshot run (``{"points": {"<N>": summary}}``) one per size."""
    out = []
    for p in points:
        s = summaries[p.name]
        if "points" not in s:
            out.append((p.name, p.labels, s, p.summary_path))
            continue
        for size in sorted(s["points"], key=int):
            out.append(
                (f"{p.name}@{size}", {"lang": p.labels["lang"], "size": int(size)}, s["points"][size], p.summary_path)
            )
    return out


def point_row(
    name: str, labels: dict[str, Any], summary: dict[str, Any], similarity: dict[str, float], where: Path | None = None
) -> dict[str, Any]:
    """A ``points.csv`` row: chrF++ of En→X after tuning as the score, its BLEU, the reverse if measured."""
    lang, after = labels["lang"], summary["after"]
    fwd, back = after.get(f"translation/en-{lang}"), after.get(f"translation/{lang}-en")
    main = fwd or back
    if main is None:
        raise InputError(f"point {name} has no translation result for {lang}", where)
    row = {"lang": lang, "size": labels["size"], "score": main["chrf"], "bleu": main["bleu"]}
    if fwd and back:
        row |= {"chrf_x_en": back["chrf"], "bleu_x_en": back["bleu"]}
    if lang in similarity:
        row["similarity"] = similarity[lang]
    return row


def write_points(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``points.csv`` atomically (rebuilt from every finished point, so never duplicated)."""
    cols = ["lang", "size", "score", "bleu"] + [
        c for c in ("chrf_x_en", "bleu_x_en", "similarity") if any(c in r for r in rows)
    ]
    buf = _io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def fit_and_plan(
    cfg: RunConfig,
    points: list[GridPoint],
    summaries: dict[str, dict[str, Any]],
    out: Path,
    log=io_log,
    budget: int | None = None,
) -> dict[str, Any]:
    """``points.csv``, ``fits.json``, ``plan.json`` and their figures in ``out`` from finished points.

    ``budget``: pairs to split (default ``scaling.budget``, else the largest size × languages).
    """

    s = cfg.scaling
    similarity = {langs.normalize(k): v for k, v in s.similarity_map().items()}
    codes = list(dict.fromkeys(p.labels["lang"] for p in points))
    rows = [
        point_row(name, lab, summ, similarity, where) for name, lab, summ, where in finished_points(points, summaries)
    ]
    write_points(out / "points.csv", rows)

    # --- fit, plan, plot ------------------------------------------------------------------------
    pts = {
        c: Points(
            [float(r["size"]) for r in rows if r["lang"] == c],
            [r["score"] for r in rows if r["lang"] == c],
            similarity.get(c),
        )
        for c in codes
    }
    fits = fit_points(pts, s.form, s.bootstrap, cfg.seed, similarity, str(out / "points.csv"), s.fit == "shared")
    fits["settings"]["score"] = "chrF++ of the held-out En→X test after tuning"
    for note in fits["notes"]:
        log(f"pilot: {note}")
    write_json(out / "fits.json", fits)
    budget = budget if budget is not None else s.budget if s.budget is not None else max(s.sizes) * len(codes)
    the_plan = make_plan(fits["fits"], budget, s.min_per_lang)
    the_plan["source"] = {"fits": str(out / "fits.json")}  # what produced this plan, written beside it
    write_json(out / "plan.json", the_plan)
    plots.scaling_plot(fits, out / "fits.png")
    plots.allocation_plot(the_plan, out / "plan.png")
    for c, f in fits["fits"].items():
        params = ", ".join(f"{k}={v:.4g}" for k, v in f["params"].items())
        params += f", γ={f['gamma']:.4g} ({f['gamma_source'].split(' ')[0]})" if f.get("fit") == "shared" else ""
        log(
            f"pilot: {c}: {f['form']} {params}, R² {f['r2']:.3f}; plan {the_plan['allocation'][c]} pairs "
            f"(uniform {the_plan['uniform']['allocation'][c]})"
            + (f", {the_plan['extrapolated_note'][c]}" if the_plan["extrapolated"].get(c) else "")
        )
    log(f"pilot: predicted gain over uniform {the_plan['gain_over_uniform']:+.3f}; outputs in {out}")
    return {"fits": fits, "plan": the_plan}
