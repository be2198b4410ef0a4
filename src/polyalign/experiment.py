"""``polyalign run``: a plain recipe is one run (:func:`polyalign.stages.run_plain`); a recipe with
``arms`` is an experiment (:func:`run_arms`): shared tests, the base, the scaling pilot, every arm as
a grid point, the judge; ``polyalign scaling pilot`` runs the pilot on its own (:func:`run_pilot`).
Nothing imports this module but the command line.

The experiment's order: the shared held-out tests (``data/``), the untuned base (``eval/base/``, and the look
inside in ``analysis/base/``), the scaling pilot when an arm has ``allocation: plan`` and the
recipe gives no ``plan`` (``scaling/``: points are ordinary runs under ``points/``), then the
arms, each a point of the same grid of runs the pilot uses (:mod:`polyalign.grid`: local, or
submitit with ``scaling.launcher: slurm``), the judge of each arm against the base, and the
report. Every stage is skipped when its output is there: a finished arm (``arms/<arm>/summary.json``)
is never run again, a killed one resumes from its checkpoint. Light at import: no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyalign import arms as arms_mod
from polyalign.coerce import dump_recipe
from polyalign.data.filters import cover
from polyalign.eval.judge import Endpoint, compare
from polyalign.grid import GridPoint, choose_executor, executor_params, run_grid
from polyalign.http import require_key
from polyalign.io import InputError, atomic_write, iter_jsonl, read_json, sha256_file, write_json, write_jsonl
from polyalign.io import log as _log
from polyalign.pilot import fit_and_plan
from polyalign.run_config import PilotConfig, RunConfig
from polyalign.run_dir import check_refresh, freeze_model, prepare_run_dir
from polyalign.stages import (
    fresh_base,
    pilot_points,
    run_plain,
    stage,
    stage_data,
    stage_eval,
    stage_pool,
    stage_train,
    track_results,
    tuned_model,
)
from polyalign.tracking import track_into


def _differing_test(arm_manifest: dict[str, Any], arm_dir: Path, shared: dict[str, Any], run_dir: Path) -> Path | None:
    """A held-out test of a run that is not the shared one (else ``None``: none of its training pairs is scored on)."""

    for task, fname in arm_manifest.get("tasks", {}).items():
        mine = arm_dir / "data" / fname
        if (
            task in shared["tasks"]
            and mine.is_file()
            and sha256_file(mine) != sha256_file(run_dir / "data" / shared["tasks"][task])
        ):
            return mine
    return None


def _same_tests(arm: str, arm_manifest: dict[str, Any], arm_dir: Path, shared: dict[str, Any], run_dir: Path) -> bool:
    """Whether a run's held-out tests are the shared ones."""
    return _differing_test(arm_manifest, arm_dir, shared, run_dir) is None


def stage_analysis(
    cfg: RunConfig, out: Path, load: Callable[[], tuple[Any, Any]], pairs_dir: Path, lens: bool = True
) -> bool:
    """The look inside for ``cfg.analysis_language``: ``alignment.json`` (alignment by layer of the
    run's held-out En–X pairs) and, when ``lens``, ``lens.json`` (the logit lens) in ``out``;
    ``False`` when not asked."""
    if not cfg.analysis_language:
        return False
    from polyalign.analysis.align import align_report, read_pairs
    from polyalign.analysis.lens import run_lens

    lang, limit = cfg.analysis_language, arms_mod.analysis_pairs_limit(cfg)
    if not (out / "alignment.json").is_file():
        model, tok = load()
        pairs = read_pairs(pairs_dir, "en", lang, limit)
        if len(pairs["x"]) < cfg.analysis_pairs:
            _log(
                f"analysis: {len(pairs['x'])} held-out pairs in {pairs['file']}, fewer than analysis_pairs "
                f"({cfg.analysis_pairs})"
            )
        write_json(
            out / "alignment.json",
            {
                "model": cfg.model.model_name_or_path,
                "lang": lang,
                **align_report(model, tok, pairs, "mean", cfg.eval.batch_size, cfg.seed, 4),
            },
        )
    if lens and not (out / "lens.json").is_file():
        model, tok = load()
        write_json(
            out / "lens.json",
            {
                "model": cfg.model.model_name_or_path,
                "lang": lang,
                **run_lens(model, tok, lang, None, 3, limit, cfg.eval.batch_size, cfg.seed),
            },
        )
    return True


def analysis_pairs(run_dir: Path, lang: str) -> Path:
    """The shared held-out pairs of ``lang`` (``data/test_en-<lang>.jsonl``). Missing, it is an error:
    the run directory in its place had the look inside silently read the first language's pairs instead
    (:func:`polyalign.arms.check_arms` refuses such a recipe before any work)."""
    path = run_dir / "data" / f"test_en-{lang}.jsonl"
    if not path.is_file():
        raise InputError(f"no held-out En–{lang} pairs for analysis_language {lang}", path)
    return path


def stage_pilot(cfg: RunConfig, run_dir: Path, shared: dict[str, Any]) -> dict[str, Any] | None:
    """The scaling pilot inside a run: grid points → ``scaling/`` fits and the plan the planned arms use.

    The budget split is ``scaling.budget``, else the first planned arm's ``pair_budget``. Skipped
    (``None``) without a planned arm or with a ``plan`` file given; done once (``scaling/plan.json``).
    """
    planned = arms_mod.planned_arms(cfg)
    if not planned or cfg.plan:
        return None
    out = run_dir / "scaling"
    if (out / "plan.json").is_file() and (out / "fits.json").is_file():
        _log("scaling pilot: already done")
        return {"fits": read_json(out / "fits.json"), "plan": read_json(out / "plan.json")}
    pcfg = arms_mod.pilot_recipe(cfg)
    points = pilot_points(pcfg, cfg.pool_path)
    _log(
        f"scaling pilot: {len(pcfg.scaling.languages)} languages × {len(pcfg.scaling.sizes)} sizes = {len(points)} "
        f"points, launcher {pcfg.scaling.launcher}"
    )
    s = pcfg.scaling
    summaries = run_grid(
        points, s.launcher, nproc=s.nproc, folder=run_dir / "submitit", executor=executor_params(s), cluster=s.cluster
    )
    for p in points:
        manifest = read_json(p.config.run_dir / "data" / "manifest.json")
        if not _same_tests(p.name, manifest, p.config.run_dir, shared, run_dir):
            _log(f"scaling pilot: point {p.name}: its held-out test differs from the shared one (its own is used)")
    budget = s.budget if s.budget is not None else planned[0].pair_budget
    return fit_and_plan(pcfg, points, summaries, out, _log, budget)


def run_pilot(cfg: PilotConfig, log=_log) -> dict[str, Any]:
    """``polyalign scaling pilot``: run (or resume) the pilot's grid on its own, then fit, plan and plot
    (:func:`polyalign.pilot.fit_and_plan`); return ``{"fits": ..., "plan": ...}``.

    A recipe with planned arms (a run's own ``config.yaml``) runs the pilot ``polyalign run`` runs for
    it, its languages and budget those of the planned arms, so that it resumes that run's points and
    writes the fits and plan its arms were planned by (it had fitted ``data.languages`` alone over them)."""
    # --- setup ------------------------------------------------------------------------------
    run_dir = prepare_run_dir(cfg)
    freeze_model(cfg, run_dir)
    planned = arms_mod.planned_arms(cfg)
    budget = cfg.scaling.budget if cfg.scaling.budget is not None or not planned else planned[0].pair_budget
    cfg = arms_mod.pilot_recipe(cfg)
    points = pilot_points(cfg)
    arms_mod.check_pilot(cfg, [p.config for p in points])
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
    return fit_and_plan(cfg, points, summaries, out, log, budget)


def run_arm(cfg: RunConfig, name: str, nproc: int = 1) -> dict[str, Any]:
    """One arm of experiment ``cfg`` to its ``arms/<arm>/summary.json``: its own data, tuning, the
    shared evaluation and the look inside (each skipped when done). A grid point's work."""
    run_dir = cfg.run_dir
    arm = next(a for a in cfg.arms if a.name == name)
    acfg = arms_mod.arm_recipe(cfg, arm)
    arm_dir = acfg.run_dir
    shared = read_json(run_dir / "data" / "manifest.json")
    tests = {"tasks": {t: str((run_dir / "data" / f).resolve()) for t, f in shared["tasks"].items()}}
    if not (arm_dir / "config.yaml").is_file():  # the arm's own resolved recipe: what produced its numbers
        with atomic_write(arm_dir / "config.yaml") as f:
            f.write(dump_recipe(acfg))
    with stage(f"data/{name}", run_dir):
        manifest = stage_data(acfg, arm_dir)
    differs = _differing_test(manifest, arm_dir, shared, run_dir)
    if differs is not None:  # built from other inputs than the shared tests (e.g. by an older polyalign)
        raise InputError(
            f"arm {name}'s held-out test differs from the shared one in {run_dir / 'data'}: remove {arm_dir} "
            "to build the arm again from the run's frozen pool",
            differs,
        )
    with stage(f"train/{name}", run_dir):
        train = stage_train(acfg, arm_dir, nproc)
    tuned: dict[str, Any] = {}

    def load_tuned() -> tuple[Any, Any]:
        if not tuned:
            tuned["m"] = tuned_model(acfg, arm_dir / "model", lambda: fresh_base(cfg))
        return tuned["m"]

    with stage(f"eval/{name}", run_dir):
        doc = stage_eval(acfg, arm_dir, ".", load_tuned, tests, tuned=arm_dir / "model", tests_dir=run_dir)
    if cfg.analysis_language:
        with stage(f"analysis/{name}", run_dir):
            pairs = analysis_pairs(run_dir, cfg.analysis_language)
            stage_analysis(cfg, arm_dir / "analysis", load_tuned, pairs, arms_mod.lens_reads(cfg, arm))
    summary = {
        "arm": name,
        "results": doc["results"],
        "train": {k: train.get(k) for k in ("steps", "tokens_per_second", "first_loss", "last_loss")},
    }
    write_json(arm_dir / "summary.json", summary)
    return summary


def stage_judge(cfg: RunConfig, run_dir: Path, names: list[str]) -> dict[str, Any] | None:
    """Each arm against the base, pairwise, on polyinstruct's test items: ``judge/results.json``.

    ``None`` without ``judge.endpoint``. Arms already judged are not asked again."""

    j = cfg.judge
    if not j.endpoint:
        return None
    path = run_dir / "judge" / "results.json"
    done = read_json(path) if path.is_file() else {"judge_model": j.model, "endpoint": j.endpoint, "arms": {}}
    endpoint = Endpoint(j.endpoint, j.model, j.api_key_env, timeout=j.timeout)

    def answers(folder: Path) -> dict[str, dict[str, Any]]:
        out = {}
        for lang in j.languages:
            f = folder / f"samples_polyinstruct_{lang}.jsonl"
            for _, r in iter_jsonl(f) if f.is_file() else []:
                out[f"{lang}:{r['instruction']}\n{r.get('input') or ''}"] = r
        return out

    base = answers(run_dir / "eval" / "base" / "instruct")
    for name in names:
        if name in done["arms"]:
            continue
        arm = answers(run_dir / "arms" / name / "eval" / "instruct")
        items = [
            {
                "id": k,
                "instruction": b["instruction"] + (f"\n\n{b['input']}" if b.get("input") else ""),
                "a": arm[k]["output"],
                "b": b["output"],
            }
            for k, b in base.items()
            if k in arm
        ]
        if not items:
            continue
        summary, verdicts = compare(endpoint, items)
        _log(f"judge: {name} vs base: win rate {summary['win_rate']}, {summary['judged']}/{summary['n']} judged")
        done["arms"][name] = summary
        write_json(path, done)

        write_jsonl(run_dir / "judge" / f"verdicts_{name}.jsonl", verdicts)
    return done


def run_arms(cfg: RunConfig, nproc: int = 1, refresh_data: bool = False) -> dict[str, Any]:
    """Run an experiment (see the module docstring); return the summary (also ``summary.json``).

    ``refresh_data``: freeze the sources again (refused once anything was built on the old data)."""
    from polyalign.report.build import build_report

    # --- setup: every check before any work ------------------------------------------------------
    if refresh_data:
        check_refresh(cfg.run_dir)
    arms_mod.check_arms(cfg)
    choose_executor(cfg.scaling.launcher, cfg.scaling.cluster)  # no Slurm for launcher: slurm: said now
    run_dir = prepare_run_dir(cfg)
    track_into(run_dir, cfg.train.report_to)
    _log(f"run: {run_dir}: {len(cfg.arms)} arms ({', '.join(a.name for a in cfg.arms)}) and the base")
    freeze_model(cfg, run_dir)
    with stage("data", run_dir):
        shared = stage_data(arms_mod.eval_recipe(cfg), run_dir, arms_mod.pool_cover(cfg), refresh_data)
    tests = {"tasks": {t: str((run_dir / "data" / f).resolve()) for t, f in shared["tasks"].items()}}

    # --- the base ---------------------------------------------------------------------------------
    loaded: dict[str, Any] = {}

    def base() -> tuple[Any, Any]:
        if not loaded:
            loaded["m"] = fresh_base(cfg)
        return loaded["m"]

    with stage("eval/base", run_dir):
        stage_eval(cfg, run_dir, "base", base, tests)
    if cfg.analysis_language:
        with stage("analysis/base", run_dir):
            stage_analysis(cfg, run_dir / "analysis" / "base", base, analysis_pairs(run_dir, cfg.analysis_language))
    loaded.clear()

    # --- the scaling pilot, then the arms: one grid of runs ---------------------------------------
    if arms_mod.planned_arms(cfg) and not cfg.plan:
        with stage("scaling pilot", run_dir):
            stage_pilot(cfg, run_dir, shared)
        arms_mod.check_plan(arms_mod.plan_path(cfg), arms_mod.planned_arms(cfg))
    points = []
    for arm in cfg.arms:
        if arm.allocation == "plan" and not arms_mod.plan_path(cfg).is_file():
            why = f"no budget plan: {arms_mod.plan_path(cfg)} is missing"
            _log(f"arm {arm.name}: not run ({why})")
            write_json(cfg.run_dir / "arms" / arm.name / "not_run.json", {"reason": why})
            continue
        points.append(GridPoint(arms_mod.arm_recipe(cfg, arm), run_arm, (cfg, arm.name), {"arm": arm.name}))
    s = cfg.scaling
    run_grid(
        points,
        s.launcher,
        nproc=nproc,
        folder=run_dir / "submitit",
        executor=executor_params(s),
        cluster=s.cluster,
        what="arm",
    )
    with stage("judge", run_dir):
        stage_judge(cfg, run_dir, [p.name for p in points])

    # --- summary and report ------------------------------------------------------------------------
    out = build_report(run_dir)
    summary = {
        **out["summary"],  # the report document less the per-item rows, and each claim's effect, interval, verdict
        "produced_by": {
            "recipe": str(run_dir / "config.yaml"),
            "results": "eval/base/results.json, arms/<arm>/eval/results.json "
            "(each carrying its metric signatures, model and seed)",
        },
    }
    write_json(run_dir / "summary.json", summary)
    track_results(run_dir, cfg.train.report_to)
    print("\n".join(out["claims"]))
    print(f"\nreport: {out['html']}\n        {out['markdown']}")
    return summary


def run(cfg: RunConfig, nproc: int = 1, refresh_data: bool = False) -> dict[str, Any]:
    """Run every stage of a recipe; return the summary (also written to ``summary.json``).

    The suite's protocol is settled first (:func:`polyalign.arms.suite_protocol`: few-shot for a
    question-alignment run), so the resolved ``config.yaml`` records what every model was given.
    ``refresh_data``: read the sources again instead of the run's frozen pool (refused once
    anything was built on it; see :func:`polyalign.run_dir.check_refresh`).
    """
    cfg = arms_mod.suite_protocol(cfg)
    if cfg.judge.endpoint:  # the judge runs last: its key is checked first
        require_key(cfg.judge.api_key_env, "judge.api_key_env")
    if cfg.arms:
        return run_arms(cfg, nproc, refresh_data)
    arms_mod.check_arms(cfg)  # before the run directory is made
    return run_plain(cfg, nproc, refresh_data)
