"""What a finished run measured, as rates for the next estimate, and the estimate beside the measured times.

:func:`record_rates` reads a run directory (``timings.json``, each evaluation's per-task seconds,
each training's summary) and derives the rates of :mod:`polyalign.estimate` so that
:func:`polyalign.estimate.estimate_stages` of the same recipe gives back the recorded stage times: the
per-item and per-token rates are measured, the fixed costs are what is left of each stage after them.
:func:`remember_rates` adds a finished experiment's rates to this machine's (after ``polyalign run``).
:func:`compare` puts this machine's estimate beside a run's measured times, per stage
(``python -m polyalign.calibrate RUN_DIR``). Light: no torch.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from polyalign import arms as A
from polyalign.estimate import (
    DEFAULT_RATES,
    RATE_DICTS,
    arm_examples,
    converted_during,
    estimate_plain,
    estimate_stages,
    examples_seen,
    item_seconds,
    measured_rates,
    merge_rates,
    pilot_core,
    rates_path,
    split_analysis,
    train_seconds,
)
from polyalign.hub import DEFAULT_MODEL
from polyalign.io import InputError, log, read_json, write_json
from polyalign.recipe import load_recipe
from polyalign.run_config import RunConfig


def _eval_docs(folder: Path) -> list[dict[str, Any]]:
    """A model's evaluation documents in the order they ran: held-out pairs, the suite, the judge's answers."""
    out = []
    for path in (folder / "results.json", folder / "suite" / "results.json", folder / "instruct" / "results.json"):
        if path.is_file():
            doc = read_json(path)
            if isinstance(doc, dict) and doc.get("seconds"):
                out.append(doc)
    return out


def _items(docs: list[dict[str, Any]]) -> list[tuple[str, str, int, float, bool]]:
    """``(task, kind, items, seconds, first)`` per task × language; ``first``: the load is in its seconds."""
    rows = []
    for i, doc in enumerate(docs):
        for j, (key, secs) in enumerate(doc["seconds"].items()):
            task = key.split("/", 1)[0]
            kind = (doc.get("configs", {}).get(key) or {}).get("kind", "")
            items = int((doc.get("n-samples", {}).get(key) or {}).get("effective", 0))
            rows.append((task, kind, items, float(secs), i == 0 and j == 0))
    return rows


def _load(rows: list[tuple[str, str, int, float, bool]], stage: float) -> float | None:
    """A model's load and what its stage spent outside its tasks: its first task's time beyond its
    items at the model's own rate for that task (from its other languages), plus the stage's time
    outside every task; ``None`` without another language of the first task to rate it by."""
    first = next((r for r in rows if r[4]), None)
    same = [r for r in rows if first and r[0] == first[0] and not r[4]]
    if first is None or not sum(r[2] for r in same):
        return None
    rate = sum(r[3] for r in same) / sum(r[2] for r in same)
    return first[3] - first[2] * rate + stage - sum(r[3] for r in rows)


def _scored(point: RunConfig, folder: Path) -> list[Path]:
    """A pilot point's evaluation folders: ``eval/after``, or a snapshot run's ``eval/after-<N>`` per size."""
    sizes = point.train.keep_at_examples
    return [folder / "eval" / f"after-{n}" for n in sizes] if sizes else [folder / "eval" / "after"]


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def analysis_rates(cfg: RunConfig, timings: dict[str, float]) -> dict[str, float]:
    """The look inside's two rates from its stage times: alignment seconds per pair (every model) and
    lens seconds per item (the base and the arms :func:`polyalign.arms.lens_reads`). With models of
    both kinds the two are solved for; with one kind, their sum is split as the defaults split it."""
    n = A.analysis_pairs_limit(cfg)
    stages = [("analysis/base", True)] + [(f"analysis/{a.name}", A.lens_reads(cfg, a)) for a in cfg.arms]
    with_lens = [timings[k] / n for k, lens in stages if lens and k in timings]
    without = [timings[k] / n for k, lens in stages if not lens and k in timings]
    if with_lens and without:
        align = _mean(without)
        return {"analysis_seconds_per_pair": align, "lens_seconds_per_item": max(0.0, _mean(with_lens) - align)}
    if with_lens:  # alignment + lens per item
        return split_analysis(_mean(with_lens))
    if without:
        return {"analysis_seconds_per_pair": _mean(without)}
    return {}


def record_rates(run_dir: Path, converted_here: bool = False) -> dict[str, Any]:
    """The rates an experiment run in ``run_dir`` measured (only those it measured), derived so that
    :func:`polyalign.estimate.estimate_stages` of the same recipe gives back its stage times.

    Per-item seconds per task and per task kind: every evaluation's per-task times pooled (the
    first task of each model left out: its time holds the model load). The load: a model's first
    task beyond its items at the model's own rate for that task, plus its stage's time outside its
    tasks, averaged over the arms (the base's, with no arm). Each model's factor: the rest of its
    stage over its items at the pooled rates. ``converted_here``: the run converted the bundled
    model, so the base's load beyond the arms' is the conversion. Training: tokens/s over every
    training, tokens per example per builder and per arm, the fixed cost as the mean rest; the pilot's
    held-out items at their own rate (every point's scoring, its load in it); the data builds, the look
    inside, the pilot's per-point overhead and the judge as what is left.
    """
    run_dir = Path(run_dir)
    cfg = load_recipe(run_dir / "config.yaml")
    timings = read_json(run_dir / "timings.json")
    models = {"base": run_dir / "eval" / "base"} | {a.name: run_dir / "arms" / a.name / "eval" for a in cfg.arms}
    points = []
    if A.planned_arms(cfg) and not cfg.plan:
        points = [(p, run_dir / "points" / p.name) for p in A.pilot_recipes(A.pilot_recipe(cfg))]
        points = [(p, d) for p, d in points if (d / "timings.json").is_file()]
    docs = {name: _eval_docs(folder) for name, folder in models.items()}
    rows = [r for d in docs.values() for r in _items(d)]
    rates: dict[str, Any] = {k: {} for k in RATE_DICTS}
    for key in sorted({r[0] for r in rows} | {r[1] for r in rows if r[1]}):
        got = [r for r in rows if key in (r[0], r[1]) and not r[4]]
        if sum(r[2] for r in got):
            rates["eval_seconds_per_item"][key] = sum(r[3] for r in got) / sum(r[2] for r in got)
    full = merge_rates(rates)

    def items_part(name: str) -> float:  # an evaluation's items at the pooled rates
        return sum(r[2] * item_seconds(r[0], full) for r in _items(docs[name]))

    stage = {name: "eval/base" if name == "base" else f"eval/{name}" for name in docs}
    timed = [name for name in docs if stage[name] in timings and docs[name]]
    loads = {name: _load(_items(docs[name]), timings[stage[name]]) for name in timed}
    loads = {name: x if x is not None else timings[stage[name]] - items_part(name) for name, x in loads.items()}
    arm_loads = [loads[a.name] for a in cfg.arms if a.name in loads]
    load = _mean(arm_loads) if arm_loads else loads.get("base")
    if load is not None:
        rates["model_load_seconds"] = load
        conversion = 0.0
        if converted_here and "base" in loads and arm_loads:
            rates["conversion_seconds"] = conversion = loads["base"] - load
        rates["model_eval_factor"] = {
            name: (timings[stage[name]] - load - (conversion if name == "base" else 0.0)) / items_part(name)
            for name in timed
            if items_part(name) > 0
        }

    summaries = {a.name: run_dir / "arms" / a.name / "train_summary.json" for a in cfg.arms}
    trained = [(a, read_json(summaries[a.name])) for a in cfg.arms if summaries[a.name].is_file()]
    pilot = [(p, read_json(d / "train_summary.json")) for p, d in points if (d / "train_summary.json").is_file()]
    if trained or pilot:
        everything = [s for _, s in trained + pilot]
        rates["train_tokens_per_second"] = sum(s["tokens"] for s in everything) / sum(s["seconds"] for s in everything)
        for builder in {a.builder for a, _ in trained}:
            mine = [(a, s) for a, s in trained if a.builder == builder]
            seen = sum(examples_seen(A.arm_train(cfg, a), s["examples"]) for a, s in mine)
            rates["train_tokens_per_example"][builder] = sum(s["tokens"] for _, s in mine) / seen
        for a, s in trained:
            rates["arm_tokens_per_example"][a.name] = s["tokens"] / examples_seen(A.arm_train(cfg, a), s["examples"])
        if pilot:
            seen = sum(examples_seen(p.train, s["examples"]) for p, s in pilot)
            rates["train_tokens_per_example"]["pilot"] = sum(s["tokens"] for _, s in pilot) / seen
        full = merge_rates(rates)
        over = [
            timings[f"train/{a.name}"]
            - (
                train_seconds(A.arm_train(cfg, a), arm_examples(cfg, a), a.builder, full, a.name)
                - full["train_overhead_seconds"]
            )
            for a, _ in trained
            if f"train/{a.name}" in timings
        ]
        if over:
            rates["train_overhead_seconds"] = full["train_overhead_seconds"] = _mean(over)

    if "data" in timings:
        rates["data_seconds"] = timings["data"]
    arm_data = [timings[f"data/{a.name}"] for a in cfg.arms if f"data/{a.name}" in timings]
    if arm_data:
        rates["arm_data_seconds"] = _mean(arm_data)
        rates["arm_data_seconds_by_builder"] = {
            b: _mean([timings[f"data/{a.name}"] for a in cfg.arms if a.builder == b and f"data/{a.name}" in timings])
            for b in {a.builder for a in cfg.arms if f"data/{a.name}" in timings}
        }
    if cfg.analysis_language:
        rates |= analysis_rates(cfg, timings)
    scored = [r for p, d in points for folder in _scored(p, d) for r in _items(_eval_docs(folder))]
    if sum(r[2] for r in scored):
        rates["pilot_seconds_per_item"] = sum(r[3] for r in scored) / sum(r[2] for r in scored)
    if "scaling pilot" in timings and A.planned_arms(cfg) and not cfg.plan:
        n, core = pilot_core(cfg, merge_rates(rates))
        rates["pilot_point_overhead_seconds"] = (timings["scaling pilot"] - core) / n
    if cfg.judge.endpoint and timings.get("judge") and cfg.arms:
        rates["judge_seconds_per_item"] = timings["judge"] / (
            len(cfg.arms) * len(cfg.judge.languages) * cfg.judge.limit
        )
    rates = {k: v for k, v in rates.items() if v != {}}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {**rates, "measured_at": now, "measured_run": str(run_dir), "model": cfg.model.model_name_or_path}


def remember_rates(cfg: RunConfig, run_dir: Path) -> None:
    """After a finished experiment (a recipe with ``arms``) on the bundled model, remember what it
    measured on this machine (per-item evaluation seconds per task, the model load, training
    tokens/s, the stages' fixed costs: :func:`record_rates`) for the next ``--dry-run``, on top of
    what earlier runs recorded. The estimate's rates are the bundled model's: another model, a plain
    run, or a ``--quick`` run (whose toy sizes say nothing about a real run's rates) records nothing.
    Never fails the run: ``polyalign run`` calls it once the experiment has returned."""

    if not cfg.arms or cfg.model.model_name_or_path != DEFAULT_MODEL:
        return
    if cfg.name.endswith("-quick"):  # arms.quick names the run <name>-quick
        return
    try:
        new = record_rates(run_dir, converted_during(run_dir))
        path = rates_path()
        old = read_json(path) if path.is_file() else {}
        old = old if isinstance(old, dict) else {}
        for k in RATE_DICTS:  # per-task, per-arm tables: merged key by key
            if isinstance(old.get(k), dict) and k in new:
                new[k] = {**old[k], **new[k]}
        write_json(path, {**{k: v for k, v in old.items() if k != "source"}, **new})
    except (OSError, InputError, KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        log(f"rates: not recorded ({e})")


def compare(
    run_dir: Path, rates: dict[str, Any] | None = None, converted: bool | None = None
) -> list[tuple[str, float, float | None]]:
    """``(stage, estimated seconds, measured seconds or None)`` for a finished run's recipe, with
    ``rates`` (default: this machine's), the last row the total of the stages. The bundled model's
    conversion is measured inside the first evaluation stage: its estimate is added there when
    ``converted`` (default: the run converted it, :func:`polyalign.estimate.converted_during`)."""
    run_dir = Path(run_dir)
    cfg = load_recipe(run_dir / "config.yaml")
    timings = read_json(run_dir / "timings.json")
    rates = merge_rates(rates) if rates is not None else measured_rates()
    est = (estimate_stages if cfg.arms else estimate_plain)(cfg, rates)
    est.pop("model conversion", None)
    if converted if converted is not None else converted_during(run_dir):
        first = "eval/base" if cfg.arms else ("eval/before" if "eval/before" in est else "eval/after")
        est[first] += rates["conversion_seconds"]
    rows: list[tuple[str, float, float | None]] = [(k, v, timings.get(k)) for k, v in est.items()]
    rows += [(k, 0.0, v) for k, v in timings.items() if k not in est]
    rows.append(("total", sum(r[1] for r in rows), sum(float(v) for v in timings.values())))
    return rows


def compare_text(run_dir: Path, rates: dict[str, Any] | None = None, converted: bool | None = None) -> str:
    """:func:`compare` as a table: stage, estimate, measured, error in percent of the measured time."""
    lines = [f"{'stage':<28} {'estimate':>9} {'measured':>9} {'error':>7}"]
    for stage, e, m in compare(run_dir, rates, converted):
        err = f"{round(100 * (e - m) / m):+d}%" if m else "-"  # an int: no "-0%"
        lines.append(f"{stage:<28} {e:>8.1f}s {'-' if m is None else f'{m:.1f}s':>9} {err:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m polyalign.calibrate RUN_DIR [--rates FILE | --defaults]``: the estimate beside a run's times."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m polyalign.calibrate",
        description="The dry run's estimate per stage beside the times a finished run measured.",
    )
    parser.add_argument("run_dir", type=Path)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--rates", type=Path, help="a rates.json to estimate with (default: this machine's)")
    which.add_argument(
        "--defaults",
        action="store_true",
        help="estimate with the default rates as shipped (the machine that measured them; not scaled to this one)",
    )
    args = parser.parse_args(argv)
    try:
        rates = DEFAULT_RATES if args.defaults else (read_json(args.rates) if args.rates else None)
        if rates is not None and not isinstance(rates, dict):
            raise InputError("expected a JSON object of rates", args.rates)
        print(compare_text(args.run_dir, rates))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
