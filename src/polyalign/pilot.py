"""The scaling pilot: a grid of (language, size) runs → ``points.csv`` → fits → a budget plan.

Each point is the recipe's run with one language (CoIT) and ``max_train_pairs`` set to its size,
under ``runs/<name>/points/<lang>-<size>/``. The pair selection ranks pairs by a seeded hash and
takes the held-out test first, then training pairs in rank order, so every size's training pairs
are a prefix of the larger sizes' (nested) and the test set is the same for every size. The
untuned baseline is not evaluated at each point (``eval.baseline: false``). Points run through
:mod:`polyalign.grid` (local, or submitit), so a finished point is never run again and a killed
one resumes from its checkpoint. Outputs in ``runs/<name>/scaling/``: ``points.csv``,
``fits.json``, ``plan.json``, ``fits.png``, ``plan.png``.
"""

from __future__ import annotations

import csv
import io as _io
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.config import DataConfig, TrainConfig
from polyalign.grid import GridPoint, executor_params, run_grid
from polyalign.io import InputError, atomic_write, write_json
from polyalign.io import log as io_log
from polyalign.recipe import build
from polyalign.report import plots
from polyalign.run_config import PilotConfig, RunConfig  # noqa: F401 (PilotConfig: the pilot recipe type)
from polyalign.scaling.allocate import plan as make_plan
from polyalign.scaling.fits import fit_points
from polyalign.scaling.laws import PARAMS, Points
from polyalign.stages import prepare_run_dir, run_plain, stage_pool


def _overridden(cls: type, section: Any, extra: dict[str, Any], where: str) -> Any:
    """``section`` with the ``scaling.train`` / ``scaling.data`` overrides on top (unknown keys are an error)."""
    import dataclasses

    if not extra:
        return section
    return build(cls, {**dataclasses.asdict(section), **extra}, {}, Path(f"<{where}>"), f"{where}.")


def pilot_points(cfg: RunConfig, pool: Path | None = None) -> list[GridPoint]:
    """The grid: one derived run recipe per language and size, languages outer, sizes ascending.

    A point is an ordinary plain run: CoIT on one language, ``max_train_pairs`` = its size, the
    recipe's ``train`` and ``data`` with ``scaling.train`` / ``scaling.data`` on top, scored on
    its held-out translation pairs only (no baseline, no suite, no judge, no look inside).
    ``pool``: the run's frozen pool, which every point then reads (``data.pool``) instead of the
    sources (without it, each point freezes its own).
    """

    s = cfg.scaling
    codes = [langs.normalize(c) for c in (s.languages or cfg.data.languages)]
    train = _overridden(TrainConfig, cfg.train, s.train, "scaling.train")
    data0 = _overridden(DataConfig, cfg.data, s.data, "scaling.data")
    base = {"seed": cfg.seed, "model": cfg.model, "train": train, "translate": cfg.translate}
    out = []
    for code in codes:
        for size in sorted(s.sizes):
            data = replace(
                data0,
                builder="coit",
                languages=[code],
                max_train_pairs=size,
                allocation="uniform",
                pair_budget=None,
                pool=str(pool) if pool is not None else data0.pool,
            )
            point = RunConfig(
                name=f"{code}-{size}",
                runs_dir=str(cfg.run_dir / "points"),
                data=data,
                eval=replace(cfg.eval, baseline=False, suite=[]),
                **base,
            )
            out.append(GridPoint(point, run_plain, (point,), {"lang": code, "size": size}))
    return out


def point_row(point: GridPoint, summary: dict[str, Any], similarity: dict[str, float]) -> dict[str, Any]:
    """A ``points.csv`` row: chrF++ of En→X after tuning as the score, its BLEU, the reverse if measured."""
    lang, after = point.labels["lang"], summary["after"]
    fwd, back = after.get(f"translation/en-{lang}"), after.get(f"translation/{lang}-en")
    main = fwd or back
    if main is None:
        raise InputError(f"point {point.name} has no translation result for {lang}", point.summary_path)
    row = {"lang": lang, "size": point.labels["size"], "score": main["chrf"], "bleu": main["bleu"]}
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


def check_pilot(cfg: RunConfig, points: list[GridPoint]) -> None:
    """Refuse, before any work, similarity for a language outside the grid and too few sizes for the form."""
    s = cfg.scaling
    similarity = {langs.normalize(k) for k in s.similarity_map()}
    unknown = sorted(similarity - {p.labels["lang"] for p in points})
    if unknown:
        raise InputError(f"scaling.similarity names {', '.join(unknown)}, which the grid does not have")
    if s.fit == "shared" and s.form not in ("auto", "xllama"):
        raise InputError(f"scaling.fit: shared fits the xllama form; scaling.form is {s.form}")
    k_min = min(len(v) for v in PARAMS.values()) if s.form == "auto" else len(PARAMS[s.form])
    if len(s.sizes) < k_min:
        raise InputError(f"scaling.sizes has {len(s.sizes)} sizes; the {s.form} form needs at least {k_min}")


def run_pilot(cfg: PilotConfig, log=io_log) -> dict[str, Any]:
    """Run (or resume) the grid, then fit, plan and plot; return ``{"fits": ..., "plan": ...}``."""
    from polyalign.data.pool import cover

    # --- setup ------------------------------------------------------------------------------
    run_dir = prepare_run_dir(cfg)
    points = pilot_points(cfg)
    check_pilot(cfg, points)
    pool = stage_pool(cfg, run_dir, cover([p.config.data for p in points]))
    points = pilot_points(cfg, pool.path)  # every point reads the pool frozen once, here
    out = run_dir / "scaling"
    log(
        f"pilot: {len({p.labels['lang'] for p in points})} languages × {len(cfg.scaling.sizes)} sizes = "
        f"{len(points)} points, launcher {cfg.scaling.launcher}"
    )

    # --- the grid -----------------------------------------------------------------------------
    summaries = run_grid(
        points,
        cfg.scaling.launcher,
        nproc=cfg.scaling.nproc,
        folder=run_dir / "submitit",
        executor=executor_params(cfg.scaling),
        cluster=cfg.scaling.cluster,
        log=log,
    )
    return fit_and_plan(cfg, points, summaries, out, log)


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
    rows = [point_row(p, summaries[p.name], similarity) for p in points]
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
