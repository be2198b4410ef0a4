"""The stages every run shares — data, evaluation, tuning — the plain run, and the pilot's points.

Each stage writes into the run directory (:mod:`polyalign.run_dir`) and is skipped when its output
is already there, so an interrupted run, started again with the same recipe, resumes where it
stopped (training resumes from its latest checkpoint). ``polyalign run``
(:func:`polyalign.experiment.run`), the experiment's arms and the grid's points all go through
these functions; the scaling pilot's points (:func:`pilot_points`) are plain runs of one language
and size, each carrying :func:`run_plain` for the grid, or one run per language kept at every size
(:func:`run_snapshots`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyalign.arms import pilot_recipes, point_labels
from polyalign.config import EvalConfig, TrainJobConfig
from polyalign.data import mixtures
from polyalign.data.filters import PairFilter, cover, serves
from polyalign.data.frozen import Pool, open_pool
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.pool import changed_since, freeze
from polyalign.eval.request import build_request, heldout_request, request_from_recipe
from polyalign.grid import GridPoint
from polyalign.io import InputError, log, read_json, write_json
from polyalign.report import markdown
from polyalign.report.collect import collect
from polyalign.run_config import RunConfig
from polyalign.run_dir import check_refresh, freeze_model, prepare_run_dir
from polyalign.tracking import Tracker, track_into
from polyalign.train.job import launch_or_train


@contextlib.contextmanager
def stage(name: str, run_dir: Path | None = None) -> Iterator[None]:
    """Log a line when a stage ends, with the time it took; with ``run_dir``, record the time in
    ``timings.json`` (the first time a stage did its work: a resumed run keeps the real times)."""
    t0 = time.perf_counter()
    yield
    secs = time.perf_counter() - t0
    log(f"{name}: finished in {_duration(secs)}")
    if run_dir is not None:
        path = run_dir / "timings.json"
        timings = read_json(path) if path.is_file() else {}
        if secs > timings.get(name, 0.0):
            write_json(path, {**timings, name: round(secs, 2)})


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _log_changes(pool: Pool) -> None:
    changes = changed_since(pool)
    if changes:
        log(f"data: sources changed since this run started ({'; '.join(changes)}); using the frozen pool")


def _covers(pool: Pool, want: dict[str, Any]) -> bool:
    d = pool.doc
    return (
        all(c in d["languages"] for c in want["languages"])
        and all(s in d["sources"] for s in want["sources"])
        and serves(d["filter"], PairFilter(**want["filter"]))
    )


def stage_pool(cfg: RunConfig, run_dir: Path, want: dict[str, Any] | None = None) -> Pool:
    """The frozen pool a run's builds read: the recipe's ``data.pool``, else ``run_dir/data/pool``,
    frozen from the sources when the run has none (``want``: what it must hold, see
    :func:`polyalign.data.filters.cover`). On a rerun whose sources changed, one line says so."""
    if cfg.data.pool:
        return open_pool(cfg.data.pool)
    want = want or cover([cfg.data])
    path = run_dir / "data" / "pool"
    started = (run_dir / "data" / "manifest.json").is_file()
    if (path / "pool.json").is_file():
        pool = open_pool(path)
        if started or _covers(pool, want):
            _log_changes(pool)
            return pool
    if started:
        log("data: this run has no frozen pool (an older polyalign made it); freezing its sources as they are now")
    _freeze(path, want)
    return open_pool(path)


def _freeze(path: Path, want: dict[str, Any]) -> None:
    log(
        f"data: freezing the candidate pool: {', '.join(want['languages']) or 'no language'} from "
        f"{', '.join(want['sources'])}"
    )
    doc = freeze(path, want)
    for code, info in doc["languages"].items():
        log(f"data: pool: {code}: {info['pairs']} pairs from {len(info['sources'])} sources")


def _check_built_as(manifest_path: Path, manifest: dict[str, Any], wanted: MixtureSpec) -> None:
    """A build found in place is the one asked for: same builder, languages, direction, held-out size and
    split (a folder built from another data section, say, is not taken as this one's)."""
    built = MixtureSpec.from_manifest(manifest, manifest_path)
    if built is None:  # written before manifests recorded their spec
        return

    def key(s: MixtureSpec) -> tuple[Any, ...]:
        return s.builder, sorted(s.languages), s.direction, s.test_size, s.seed

    if key(built) != key(wanted):
        where = manifest_path.parent
        raise InputError(
            f"holds {built.builder} data for {', '.join(built.languages)} ({built.direction}, {built.test_size} "
            f"held out), but this stage builds {wanted.builder} data for {', '.join(wanted.languages)} "
            f"({wanted.direction}, {wanted.test_size} held out; a recipe with arms builds its shared data over their "
            f"languages, `data build` the data section alone): remove {where} to build it again, or use another "
            "name=...",
            manifest_path,
        )


def _check_built_from(manifest_path: Path, manifest: dict[str, Any], pool: Pool) -> None:
    """A build records the pool it read; the pool there now must be that one."""
    rec = manifest.get("pool")
    if rec and rec["sha256"] != pool.sha256:
        where = manifest_path.parent.parent
        raise InputError(
            f"was built from the frozen pool {rec['path']} (sha256 {rec['sha256'][:12]}), but {pool.path} now holds "
            f"another (sha256 {pool.sha256[:12]}): restore that pool, or remove {where} to build it again from "
            "this one (for a whole run: a new name=...)",
            manifest_path,
        )


def stage_data(
    cfg: RunConfig, run_dir: Path, want: dict[str, Any] | None = None, refresh: bool = False
) -> dict[str, Any]:
    """Build the recipe's alignment data into ``run_dir/data`` (skipped when already built).

    The pairs come from the run's frozen pool (:func:`stage_pool`): ``data.pool`` when the recipe
    names one (an arm, a pilot point, a shared snapshot), else the pool this first data stage
    freezes into ``data/pool`` from the sources (``want``: what it must hold for every later
    build). ``refresh``: read the sources again and build afresh (``polyalign run --refresh-data``).
    """
    manifest_path = run_dir / "data" / "manifest.json"
    if manifest_path.is_file() and not refresh:
        manifest = read_json(manifest_path)
        _check_built_as(manifest_path, manifest, MixtureSpec.from_config(cfg.data))
        _check_built_from(manifest_path, manifest, stage_pool(cfg, run_dir, want))
        log("data: already built")
        return manifest
    d = cfg.data
    spec = MixtureSpec.from_config(d)  # before anything is frozen: a recipe no builder can make stops here
    log(
        f"data: building {d.builder} data for {', '.join(d.languages)} from "
        f"{'the frozen pool ' + d.pool if d.pool else ', '.join(d.sources)} "
        f"+ instructions {', '.join(d.instructions) or 'none'}"
    )
    # The run's own pool is frozen (or kept) beside the build and moved into data/ once the build
    # is there: a build that fails leaves no data/ behind, and the builder replaces data/ whole.
    own = run_dir / "data" / "pool"
    staging = run_dir / ".data-pool"
    kept = False
    if d.pool:
        pool = open_pool(d.pool)
    else:
        shutil.rmtree(staging, ignore_errors=True)  # what a build killed before its end left
        want = want or cover([d])
        if (own / "pool.json").is_file() and not refresh and _covers(open_pool(own), want):
            os.replace(own, staging)
            kept = True
            _log_changes(open_pool(staging))
        else:
            _freeze(staging, want)
        pool = open_pool(staging)
    try:
        manifest = mixtures.build(run_dir / "data", spec, pool)
    except BaseException:
        if kept:
            os.replace(staging, own)
        elif not d.pool:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if not d.pool:
        os.replace(staging, own)
        if "pool" in manifest:
            manifest["pool"]["path"] = str(own)
            write_json(manifest_path, manifest)
    for code, info in manifest["languages"].items():
        c = info["counts"]
        dropped = {k.removeprefix("dropped_"): v for k, v in c.items() if k.startswith("dropped_") and v}
        log(
            f"data: {code}: read {c.get('read', 0)} pairs from {len(info['sources'])} sources, kept "
            f"{c.get('kept', 0)}, "
            f"train {info['train_pairs']}, test {info['test_pairs']}; dropped {dropped}"
        )
    log(f"data: {manifest['files']['train.jsonl']['rows']} training examples: {manifest['parts']}")
    return manifest


def stage_eval(
    cfg: RunConfig,
    run_dir: Path,
    stage: str,
    load: Callable[[], tuple[Any, Any]],
    manifest: dict,
    tuned: Path | None = None,
    tests_dir: Path | None = None,
) -> dict[str, Any]:
    """Evaluate the held-out translation pairs, the ``eval.suite`` when the recipe names one, and
    the judge's polyinstruct items when the recipe names a judge endpoint.

    Both go through the one evaluation path (:func:`polyalign.eval.runner.run_eval`): the held-out
    pairs as ``local_translation`` tasks keyed ``translation/<src>-<tgt>`` into ``eval/<stage>/``,
    the suite into ``eval/<stage>/suite/``. Returns the held-out results document with the suite's
    results merged into its ``results``. Finished parts are not run again. ``tuned``: the saved
    result of tuning (a LoRA adapter or a full model), recorded in the requests. ``load()`` gives
    the ``(model, tokenizer)`` to evaluate; it is called only when something is left to evaluate.
    ``tests_dir``: the run directory whose ``data/test_*.jsonl`` are scored (an experiment's shared
    tests); default ``run_dir``.
    """
    from polyalign.eval.runner import run_eval

    lora = cfg.train.finetuning_type == "lora"
    adapter = str(tuned) if tuned and lora else None
    model = str(tuned) if tuned and not lora else None
    pair: list[tuple[Any, Any]] = []

    def load_once() -> tuple[Any, Any]:  # one model for both requests (tuning merges an adapter once)
        if not pair:
            pair.append(load())
        return pair[0]

    specs = heldout_specs(manifest["tasks"], cfg.eval)
    label = f"eval/{run_dir.name}" if stage == "." else f"eval/{stage}"  # an arm evaluates into its own eval/
    doc: dict[str, Any] = {"results": {}}
    if specs:
        log(f"{label}: {', '.join('translation/' + x for x in specs)}")
        doc = run_eval(
            heldout_request(cfg, tests_dir or run_dir, specs, run_dir / "eval" / stage, adapter, model), load=load_once
        )
    if cfg.eval.suite:
        log(f"{label}: suite {', '.join(cfg.eval.suite)}")
        suite = run_eval(
            request_from_recipe(cfg, run_dir / "eval" / stage / "suite", adapter=adapter, model=model), load=load_once
        )
        doc = {**doc, "results": {**doc["results"], **suite["results"]}}
    if cfg.judge.endpoint:  # answers only: the judge compares them with the base's after every arm
        j = cfg.judge
        log(f"{label}: polyinstruct answers for the judge ({', '.join(j.languages)})")
        run_eval(
            build_request(
                cfg,
                tasks=["polyinstruct"],
                langs=list(j.languages),
                limit=j.limit,
                max_new_tokens=j.max_new_tokens,
                output=str(run_dir / "eval" / stage / "instruct"),
                adapter=adapter,
                model=model,
                backend="hf",
            ),
            load=load_once,
        )
    return doc


def heldout_specs(tasks: list[str], e: EvalConfig) -> list[str]:
    """The held-out directions ``eval.heldout`` scores, of a manifest's ``translation/<src>-<tgt>`` tasks.

    >>> heldout_specs(["translation/en-es", "translation/es-en"], EvalConfig(heldout="from_en"))
    ['en-es']
    """
    specs = [task.split("/", 1)[1] for task in tasks]
    return [x for x in specs if e.scores_heldout(x.split("-", 1)[0])]


def stage_train(cfg: RunConfig, run_dir: Path, nproc: int = 1) -> dict[str, Any]:
    """Tune with the one training job (``polyalign train``'s), in this process or ``nproc``
    under torchrun; its output folder is the run directory. Skipped when already done."""

    info_path = run_dir / "train_summary.json"
    if info_path.is_file() and (run_dir / "model").is_dir():
        log("train: already done")
        return read_json(info_path)
    job = TrainJobConfig(
        train_file=str(run_dir / "data" / "train.jsonl"),
        output_dir=str(run_dir),
        seed=cfg.seed,
        model=cfg.model,
        train=replace(cfg.train, resume_from_checkpoint=cfg.train.resume_from_checkpoint or "latest"),
    )
    return launch_or_train(job, nproc)


def fresh_base(cfg: RunConfig) -> tuple[Any, Any]:
    """A freshly loaded base ``(model, tokenizer)``, seeded: folding an adapter in changes the model, so
    each tuned model gets its own copy."""
    import torch

    from polyalign.models import load_model

    torch.manual_seed(cfg.seed)
    log(f"model: loading {cfg.model.model_name_or_path}")
    return load_model(cfg.model.model_name_or_path, cfg.model.dtype, cfg.model.trust_remote_code)


def tuned_model(cfg: RunConfig, model_dir: Path, base: Callable[[], tuple[Any, Any]]) -> tuple[Any, Any]:
    """The tuned model in ``model_dir`` and the base's tokenizer, for evaluation: with LoRA, ``base()``'s
    model with the adapter folded in (that model changes); a fully tuned model is loaded alone, never
    the base's weights beside it (twice the memory and load time for a 7B)."""
    if cfg.train.finetuning_type == "lora":
        from polyalign.models import load_adapter

        model, tok = base()
        log(f"model: folding in the adapter {model_dir}")
        return load_adapter(model, model_dir).merge_and_unload(), tok  # merged: faster generation
    import torch

    from polyalign.models import load_model, load_tokenizer

    torch.manual_seed(cfg.seed)
    log(f"model: loading the tuned model {model_dir}")
    tok = load_tokenizer(cfg.model.model_name_or_path, cfg.model.trust_remote_code)
    return load_model(str(model_dir), cfg.model.dtype)[0], tok


SUMMARY_METRICS = ("chrf", "bleu", "accuracy", "exact_match", "f1", "fidelity")


def before_after_summary(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"before": {TASK: {"chrf", "bleu", "fidelity"}}, "after": {...}}`` from two results documents.

    Translation tasks carry ``chrf``, ``bleu`` and ``fidelity`` (the percent of outputs written in
    the target language; ``None`` when the language identifier is not installed); suite tasks
    carry whichever of ``accuracy``, ``exact_match``, ``f1`` and ``fidelity`` they measure.
    """

    def pick(doc: dict[str, Any]) -> dict[str, dict[str, float | None]]:
        out = {}
        for task, m in doc["results"].items():
            keys = ("chrf", "bleu", "fidelity") if task.startswith("translation/") else SUMMARY_METRICS
            out[task] = {k: m.get(k) for k in keys if k in m or k == "fidelity"}
        return out

    return {"before": pick(before), "after": pick(after)}


def run_plain(cfg: RunConfig, nproc: int = 1, refresh_data: bool = False) -> dict[str, Any]:
    """Every stage of a recipe without arms; return the summary (also written to ``summary.json``).

    ``refresh_data``: freeze the sources again (refused once anything was built on the old data)."""
    # --- setup ------------------------------------------------------------------------------
    if refresh_data:
        check_refresh(cfg.run_dir)
    run_dir = prepare_run_dir(cfg)
    track_into(run_dir, cfg.train.report_to)
    log(f"run: {run_dir}")
    freeze_model(cfg, run_dir)
    with stage("data", run_dir):
        manifest = stage_data(cfg, run_dir, refresh=refresh_data)

    # --- baseline, tuning, evaluation ---------------------------------------------------------
    loaded: dict[str, Any] = {}

    def base() -> tuple[Any, Any]:  # loaded on first need: nothing to load when every stage is done
        if not loaded:
            loaded["model"], loaded["tokenizer"] = fresh_base(cfg)
        return loaded["model"], loaded["tokenizer"]

    with stage("eval/before", run_dir):
        before = stage_eval(cfg, run_dir, "before", base, manifest) if cfg.eval.baseline else {"results": {}}
    with stage("train", run_dir):
        stage_train(cfg, run_dir, nproc)
    with stage("eval/after", run_dir):
        after = stage_eval(
            cfg,
            run_dir,
            "after",
            lambda: tuned_model(cfg, run_dir / "model", base),
            manifest,
            tuned=run_dir / "model",
        )

    # --- report -------------------------------------------------------------------------------
    summary = before_after_summary(before, after)
    write_json(run_dir / "summary.json", summary)
    from polyalign.report.build import build_report

    report = build_report(run_dir)
    summary["claims"] = report["judged"]  # each claim's effect, interval, verdict, method
    summary["deltas"] = report["summary"]["deltas"]  # each tuned number's delta with its paired interval
    write_json(run_dir / "summary.json", summary)
    track_results(run_dir, cfg.train.report_to)
    print(markdown.table_text(summary))
    print(f"\nreport: {run_dir / 'report.html'}\n        {run_dir / 'report.md'}")
    return summary


def track_results(run_dir: str | Path, report_to: list[str] | tuple[str, ...]) -> None:
    """One tracked run, ``<name>/results``, with a finished run's numbers, claims and report files."""
    if not [b for b in report_to if b != "none"]:
        return
    from polyalign.report.claims import judge_claims

    run_dir = Path(run_dir)
    doc = collect(run_dir)
    tracker = Tracker(report_to, run_dir, f"{doc['name']}/results", doc["name"], doc.get("recipe"))
    try:
        values: dict[str, float | None] = {}
        for model, results in [("base", doc.get("base") or {})] + [
            (arm, a.get("results") or {}) for arm, a in (doc.get("arms") or {}).items()
        ]:
            for task, m in results.items():
                values.update({f"eval/{model}/{task}/{k}": v for k, v in m.items() if isinstance(v, (int, float))})
        claims = judge_claims(doc)
        texts = {}
        for c in claims:
            cid = c.get("id", c.get("claim", "claim"))
            texts[f"claim/{cid}"] = str(c.get("line") or c.get("verdict"))
            for key in ("effect", "low", "high"):
                if isinstance(c.get(key), (int, float)):
                    values[f"claim/{cid}/{key}"] = c[key]
        tracker.metrics(values)
        tracker.summary(texts)
        for name in ("report.html", "report.md", "summary.json", "config.yaml"):
            tracker.artifact(run_dir / name)
        for png in sorted(run_dir.glob("*.png")):
            tracker.artifact(png)
    finally:
        tracker.close()
    log(f"tracking: results, claims and report sent to {', '.join(b for b in report_to if b != 'none')}")


# ---------------------------------------------------------------------------------------------
# The scaling pilot's points: plain runs of one language and size, or snapshots of one run, for the grid


def pilot_points(cfg: RunConfig, pool: Path | None = None) -> list[GridPoint]:
    """The scaling pilot's grid: each of :func:`polyalign.arms.pilot_recipes` as a plain run
    (:func:`run_plain`) or, with ``scaling.points: snapshots``, a snapshot run (:func:`run_snapshots`),
    labelled with its language and size(s)."""
    return [
        GridPoint(r, run_snapshots if r.train.keep_at_examples else run_plain, (r,), point_labels(r))
        for r in pilot_recipes(cfg, pool)
    ]


def run_snapshots(cfg: RunConfig, nproc: int = 1) -> dict[str, Any]:
    """A language's pilot points as snapshots of one run (``scaling.points: snapshots``): the data of
    the largest size, one training run that keeps its model as it has seen each size
    (``train.keep_at_examples``), and each kept model scored as a plain run's tuned model is, into
    ``eval/after-<N>/``. Returns (and writes to ``summary.json``) ``{"points": {"<N>": summary}}``,
    one before/after summary (:func:`before_after_summary`, no baseline) per size."""
    from polyalign.train.loop import kept_model_dir

    run_dir = prepare_run_dir(cfg)
    log(f"run: {run_dir}")
    freeze_model(cfg, run_dir)
    with stage("data", run_dir):
        manifest = stage_data(cfg, run_dir)
    with stage("train", run_dir):
        stage_train(cfg, run_dir, nproc)
    points = {}
    for n in cfg.train.keep_at_examples:
        kept = kept_model_dir(run_dir, n)

        def load(kept: Path = kept) -> tuple[Any, Any]:
            return tuned_model(cfg, kept, lambda: fresh_base(cfg))

        with stage(f"eval/after-{n}", run_dir):
            after = stage_eval(cfg, run_dir, f"after-{n}", load, manifest, tuned=kept)
        points[str(n)] = before_after_summary({"results": {}}, after)
    summary = {"points": points}
    write_json(run_dir / "summary.json", summary)
    return summary
