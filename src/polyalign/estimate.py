"""The arithmetic of ``polyalign run --dry-run``'s time estimate, and the rates it uses.

A finished run records the rates it measured (:mod:`polyalign.calibrate`) into ``rates.json`` in
polyalign's cache: evaluation seconds per item of each task (and of each task kind, for tasks it did
not run), the time a model takes to load before its first item, tokens per training example per
builder and training tokens per second, and the fixed costs of the stages (data builds, training's
load and save, the look inside, a pilot point's overhead). With no ``rates.json`` the estimate uses
:data:`DEFAULT_RATES` and says it is uncalibrated. The stage plan that applies these functions to a
recipe is :func:`estimate_stages` (a run with arms) or :func:`estimate_plain`; ``--dry-run`` prints it
(:mod:`polyalign.dry_run`) and :mod:`polyalign.calibrate` fits the rates so it gives back a run's
measured times. Light: no torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyalign.arms import (
    analysis_pairs_limit,
    arm_eval,
    arm_train,
    eval_languages,
    lens_reads,
    pilot_recipe,
    pilot_recipes,
    planned_arms,
)
from polyalign.config import DataConfig, TrainConfig
from polyalign.eval.tasks import TASKS, parse_limits, specs_for
from polyalign.hub import DEFAULT_MODEL, bundled_gguf
from polyalign.io import InputError, cache_dir
from polyalign.run_config import ArmConfig, RunConfig

# The rates `make demo` recorded on 2 CPU cores of an AMD EPYC with AVX-512 (fresh clone at 84c3efd,
# 2026-12-07, the bundled SmolLM2-135M, the default recipe: the base on 60 polyqa, 80 polysent and 160
# polymt items, raw 2-shot prompts, batches of 64; each arm on what its claims read; the snapshot
# pilot, 2 languages × 5 sizes scored on 120 held-out pairs a point; five arms of 12 steps; the lens on
# the base and the question-alignment arm): its 17 min 31 s are what these give (BENCHMARKS.md,
# issue 22). On another machine they are scaled by its matmul probe (:func:`scaled_rates`) until
# its own run replaces them (``rates.json``).
DEFAULT_RATES: dict[str, Any] = {
    "train_tokens_per_second": 248.8,  # training throughput, tokens read per second (model load included)
    # tokens per example read, per builder ("pilot": the scaling pilot's points) and per arm's name
    "train_tokens_per_example": {"coit": 85.6, "muit": 84.7, "qalign": 76.2, "pilot": 78.8},
    "arm_tokens_per_example": {
        "coit-es": 75.6,
        "coit-ru": 95.6,
        "muit-uniform": 85.9,
        "muit-planned": 83.5,
        "qalign-zh-de": 76.2,
    },
    "train_overhead_seconds": 0.20,  # a training stage beyond its tokens: tokenising, saving
    # evaluation seconds per item, per task and per task kind (a task the last run did not score uses its
    # kind's); instructions and maths were not in the run: the AVX2 machine's guess of 2.5 s scaled as the
    # measured tasks scaled between the two machines (2.3-2.6x)
    "eval_seconds_per_item": {
        "translation": 0.456,
        "polymt": 0.456,
        "polyqa": 0.741,
        "polysent": 0.212,
        "polyinstruct": 1.0,
        "qa": 0.741,
        "classification": 0.212,
        "instruct": 1.0,
        "math": 1.0,
    },
    # per model ("base", an arm's name): its evaluation's item time over the pooled per-item rates' (an
    # arm scored into Russian writes 3.7 tokens per English token; one scored into Spanish, 1.9)
    "model_eval_factor": {
        "base": 1.05,
        "coit-es": 0.66,
        "coit-ru": 1.23,
        "muit-uniform": 0.89,
        "muit-planned": 1.32,
        "qalign-zh-de": 0.89,
    },
    "model_load_seconds": 2.71,  # an evaluation stage beyond its items: the load (and merge), writing results
    "conversion_seconds": 18.8,  # converting the bundled GGUF on first use (inside the first evaluation)
    "data_seconds": 5.7,  # the shared data stage (the pool frozen)
    "arm_data_seconds": 0.99,  # an arm's own data build, for a builder the next table does not hold
    "arm_data_seconds_by_builder": {"coit": 0.85, "muit": 1.61, "qalign": 0.03},  # a MuIT build mixes languages
    "analysis_seconds_per_pair": 0.085,  # the look inside: alignment by layer, per pair read, per model
    "lens_seconds_per_item": 0.137,  # the logit lens, per word item, per model it reads
    # a pilot point's held-out En→X pair (short 0-shot gettext strings, its model's load spread over them),
    # es and ru pooled: not the suite's 2-shot polymt sentences
    "pilot_seconds_per_item": 0.215,
    # a pilot point beyond its training and its items: a residual (writing its results, the fit and plan)
    "pilot_point_overhead_seconds": 0.83,
    "judge_seconds_per_item": 3.0,  # the judge endpoint, per comparison (not measured: a guess; not scaled)
    "probe_gflops": 188.0,  # :func:`matmul_gflops` on the machine that measured these, quiet (180-192 over six reads)
    "source": "uncalibrated defaults from make demo on 2 CPU cores (no run has recorded this machine's rates yet)",
}
SPEED_EXPONENT = 0.95
"""Stage times between machines go as (probe ratio) ** -0.95. The default was measured on two 2-core
machines: AVX2 (its rates in ``tests/fixtures/rates_avx2.json``; the probe read 67 and 79.6 GFLOP/s on
two days, 73 their mean) and AVX-512 (probe 188, :data:`DEFAULT_RATES`). The probe says 2.58x; the
stages moved 2.0x (the conversion) to 2.7x (training), 2.47x in all (the pilot left out: its form
changed between the two runs), and 2.47 = 2.58 ** 0.95. The day-to-day spread of the probe (±9% on
the AVX2 machine, 180-192 over six reads on the AVX-512 one) is the first estimate's error on a
machine that is not the default's."""
SECONDS_KEYS = (
    "train_overhead_seconds",
    "model_load_seconds",
    "conversion_seconds",
    "data_seconds",
    "arm_data_seconds",
    "analysis_seconds_per_pair",
    "lens_seconds_per_item",
    "pilot_seconds_per_item",
    "pilot_point_overhead_seconds",
)
"""Rates in seconds that a machine's speed scales (besides the per-item and per-builder tables); the
judge's are an endpoint's, the tokens per example and evaluation factors do not depend on the machine."""
RATE_DICTS = (
    "train_tokens_per_example",
    "eval_seconds_per_item",
    "model_eval_factor",
    "arm_tokens_per_example",
    "arm_data_seconds_by_builder",
)


def rates_path() -> Path:
    """``rates.json`` in polyalign's cache (:func:`polyalign.io.cache_dir`)."""
    return cache_dir() / "rates.json"


def split_analysis(both: float) -> dict[str, float]:
    """A look-inside rate that holds alignment and lens together (per pair), split as the defaults split it."""
    align, lens = DEFAULT_RATES["analysis_seconds_per_pair"], DEFAULT_RATES["lens_seconds_per_item"]
    return {
        "analysis_seconds_per_pair": both * align / (align + lens),
        "lens_seconds_per_item": both * lens / (align + lens),
    }


def merge_rates(known: dict[str, Any]) -> dict[str, Any]:
    """:data:`DEFAULT_RATES` with ``known`` on top (its per-task and per-builder tables merged key by key).

    A ``rates.json`` from before the lens had its own rate holds the alignment and the lens together in
    ``analysis_seconds_per_pair``: it is split as the defaults split them."""
    if "analysis_seconds_per_pair" in known and "lens_seconds_per_item" not in known:
        known = {**known, **split_analysis(known["analysis_seconds_per_pair"])}
    out = {**DEFAULT_RATES, **known}
    for k in RATE_DICTS:
        out[k] = {**DEFAULT_RATES[k], **(known.get(k) if isinstance(known.get(k), dict) else {})}
    return out


def matmul_gflops(n: int = 2048, repeats: int = 4) -> float:
    """This machine's speed: the best fp32 GFLOP/s of ``repeats`` ``n``×``n`` products, with torch's threads
    (about 0.5 s on 2 cores; the training benchmark's peak too)."""
    import time

    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up: thread pool, caches
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def scaled_rates(rates: dict[str, Any], gflops: float) -> dict[str, Any]:
    """``rates`` (measured where the probe read ``rates["probe_gflops"]``) for a machine whose probe reads
    ``gflops``: every time divided, the training throughput multiplied, by ``(gflops / probe) **``
    :data:`SPEED_EXPONENT`."""
    speed = (gflops / rates["probe_gflops"]) ** SPEED_EXPONENT
    out = dict(rates)
    for k in SECONDS_KEYS:
        out[k] = rates[k] / speed
    for k in ("eval_seconds_per_item", "arm_data_seconds_by_builder"):
        out[k] = {t: v / speed for t, v in rates[k].items()}
    out["train_tokens_per_second"] = rates["train_tokens_per_second"] * speed
    out["probe_gflops"] = gflops
    return out


def measured_rates(probe: Callable[[], float] | None = matmul_gflops) -> dict[str, Any]:
    """The rates this machine's last run recorded (``rates.json``, older files included), else the defaults
    scaled to this machine by ``probe`` (:func:`matmul_gflops`; ``None``: the defaults as they are)."""
    path = rates_path()
    if path.is_file():
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = None
        if isinstance(known, dict):
            when = f" at {known['measured_at']}" if known.get("measured_at") else ""
            run = f" from {known['measured_run']}" if known.get("measured_run") else ""
            return {**merge_rates(known), "source": f"measured on this machine{when}{run} ({path})"}
    if probe is None:
        return dict(DEFAULT_RATES)
    here = probe()
    return {
        **scaled_rates(DEFAULT_RATES, here),
        "source": (
            f"uncalibrated defaults from make demo on 2 CPU cores at a matmul probe of "
            f"{DEFAULT_RATES['probe_gflops']:.0f} GFLOP/s, scaled to this machine's {here:.0f} (no run has "
            "recorded this machine's rates yet)"
        ),
    }


# --- the arithmetic -------------------------------------------------------------------------------


def train_steps(train: TrainConfig, examples: int) -> int:
    """Optimizer steps: ``max_steps``, else the epochs over ``examples``."""
    if train.max_steps > 0:
        return train.max_steps
    per_step = train.per_device_train_batch_size * train.gradient_accumulation_steps
    return max(1, math.ceil(train.num_train_epochs * examples / per_step))


def examples_seen(train: TrainConfig, examples: int) -> float:
    """Examples one training reads: steps × batch with ``max_steps``, else epochs × examples."""
    if train.max_steps > 0:
        return float(train.max_steps * train.per_device_train_batch_size * train.gradient_accumulation_steps)
    return float(train.num_train_epochs * examples)


def train_seconds(
    train: TrainConfig, examples: int, builder: str, rates: dict[str, Any], arm: str | None = None
) -> float:
    """A training stage: the fixed cost (model load, tokenising, saving) plus tokens at the measured
    rate, the tokens per example the arm's last run read (its language's script counts), else its builder's."""
    per = rates["arm_tokens_per_example"].get(arm) or rates["train_tokens_per_example"].get(
        builder, DEFAULT_RATES["train_tokens_per_example"]["coit"]
    )
    return rates["train_overhead_seconds"] + examples_seen(train, examples) * per / rates["train_tokens_per_second"]


def item_seconds(task: str, rates: dict[str, Any]) -> float:
    """Seconds per evaluated item of ``task``: its own measured rate, else its kind's."""
    table = rates["eval_seconds_per_item"]
    if task in table:
        return float(table[task])

    kind = TASKS[task].kind if task in TASKS else "qa"
    return float(table.get(kind, table["qa"]))


def eval_items(cfg: RunConfig, n_langs: int, translation: bool = True, suite: bool = True) -> dict[str, int]:
    """Items one model's evaluation scores, per task: held-out translation, the suite, the judge's answers."""

    e, d = cfg.eval, cfg.data
    out: dict[str, int] = {}
    if translation:
        out["translation"] = n_langs * heldout_directions(cfg) * min(d.test_size, e.limit or d.test_size)
    limits = parse_limits(e.task_limits)
    for task in e.suite if suite else []:
        out[task] = suite_languages(task, e.suite_langs) * limits.get(task, e.limit or 100)
    if suite and cfg.judge.endpoint:
        out["polyinstruct"] = out.get("polyinstruct", 0) + len(cfg.judge.languages) * cfg.judge.limit
    return out


def heldout_directions(cfg: RunConfig) -> int:
    """Held-out directions scored per language: those the data builds that ``eval.heldout`` keeps."""
    sources = {"both": ["en", "x"], "en-x": ["en"], "x-en": ["x"]}[cfg.data.direction]
    return sum(cfg.eval.scores_heldout(src) for src in sources)


def suite_languages(task: str, suite_langs: list[str]) -> int:
    """Languages (directions, for a pair task) a suite task runs: those named for it, else all it has;
    none for a task whose languages must be named (flores) when none are."""

    try:
        return len(specs_for(TASKS[task], suite_langs))
    except (ImportError, InputError):
        return 0


def eval_seconds(items: dict[str, int], rates: dict[str, Any], model: str | None = None) -> float:
    """One model's evaluation stage: the load, then every item at its task's rate, times the model's
    own factor when its last run measured one (a tuned model that stops early answers faster)."""
    factor = rates["model_eval_factor"].get(model, 1.0) if model else 1.0
    return rates["model_load_seconds"] + factor * sum(n * item_seconds(t, rates) for t, n in items.items())


def arm_examples(cfg: RunConfig, arm: ArmConfig | DataConfig) -> int:
    """Training examples an arm (or a plain run's ``data``) builds, from the recipe's caps: pairs ×
    directions, plus instructions."""
    d = cfg.data
    cap = d.max_train_pairs or 2000
    pairs = (arm.pair_budget or cap * len(arm.languages)) if arm.builder == "muit" else cap * len(arm.languages)
    if arm.builder == "qalign":
        pairs = 0
    return pairs * (2 if d.direction == "both" else 1) + (200 if d.instructions else 0)


def point_examples(recipe: RunConfig) -> int:
    """Training examples of a pilot point (:func:`polyalign.arms.pilot_recipes`): its size ×
    directions, plus instructions when it has any."""
    d = recipe.data
    return d.max_train_pairs * (2 if d.direction == "both" else 1) + (200 if d.instructions else 0)


def converted_dir() -> Path | None:
    """Where the bundled GGUF's conversion is cached (:func:`polyalign.hub.bundled_default`); ``None``
    without the bundled copy."""
    try:
        gguf = bundled_gguf()
    except InputError:
        return None
    return cache_dir() / "models" / f"SmolLM2-135M-Instruct-{gguf.stat().st_size:x}"


def converted_during(run_dir: Path) -> bool:
    """Whether the bundled model was converted after the run in ``run_dir`` began (its ``config.yaml``)."""
    out = converted_dir()
    stamp, start = (out / "polyalign_source.json") if out else None, Path(run_dir) / "config.yaml"
    return bool(stamp and stamp.is_file() and start.is_file() and stamp.stat().st_mtime >= start.stat().st_mtime)


def needs_conversion(cfg: RunConfig) -> bool:
    """Whether the first load converts the bundled GGUF: the default model, not in the hub cache, not converted."""
    if cfg.model.model_name_or_path != DEFAULT_MODEL:
        return False
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(DEFAULT_MODEL, "config.json"), str):
            return False
    except ImportError:
        pass
    out = converted_dir()
    return out is not None and not (out / "polyalign_source.json").is_file()


# ---------------------------------------------------------------------------------------------
# The plan of a run: seconds per stage, keyed as its ``timings.json``


def pilot_core(cfg: RunConfig, rates: dict[str, Any]) -> tuple[int, float]:
    """The pilot's points and their seconds without the per-point overhead: training, load, held-out items."""
    points = pilot_recipes(pilot_recipe(cfg))
    secs, n = 0.0, 0
    for p in points:  # a plain run scores one model; a snapshot run one per size it keeps
        scored = len(p.train.keep_at_examples) or 1
        secs += train_seconds(p.train, point_examples(p), "pilot", rates)
        secs += scored * sum(eval_items(p, 1, suite=False).values()) * rates["pilot_seconds_per_item"]
        n += scored
    return n, secs


def estimate_stages(cfg: RunConfig, rates: dict[str, Any]) -> dict[str, float]:
    """Seconds per stage of an experiment run, keyed as its ``timings.json`` (``model conversion``,
    when the first load will convert the bundled model, is measured inside ``eval/base``)."""
    out: dict[str, float] = {}
    if needs_conversion(cfg):
        out["model conversion"] = rates["conversion_seconds"]
    n_eval = len(eval_languages(cfg))
    items = eval_items(cfg, n_eval)
    pairs = analysis_pairs_limit(cfg)

    def analysis(lens: bool) -> float:  # alignment by layer, and the logit lens where it reads the model
        return pairs * (rates["analysis_seconds_per_pair"] + (rates["lens_seconds_per_item"] if lens else 0.0))

    out["data"] = rates["data_seconds"]
    out["eval/base"] = eval_seconds(items, rates, "base")
    if cfg.analysis_language:
        out["analysis/base"] = analysis(True)
    if planned_arms(cfg) and not cfg.plan:
        n, core = pilot_core(cfg, rates)
        out["scaling pilot"] = core + n * rates["pilot_point_overhead_seconds"]
    for arm in cfg.arms:
        out[f"data/{arm.name}"] = rates["arm_data_seconds_by_builder"].get(arm.builder, rates["arm_data_seconds"])
        examples = arm_examples(cfg, arm)
        out[f"train/{arm.name}"] = train_seconds(arm_train(cfg, arm), examples, arm.builder, rates, arm.name)
        mine = eval_items(replace(cfg, eval=arm_eval(cfg, arm)), n_eval)  # an arm's own translation directions
        out[f"eval/{arm.name}"] = eval_seconds(mine, rates, arm.name)
        if cfg.analysis_language:
            out[f"analysis/{arm.name}"] = analysis(lens_reads(cfg, arm))
    if cfg.judge.endpoint:
        out["judge"] = len(cfg.arms) * len(cfg.judge.languages) * cfg.judge.limit * rates["judge_seconds_per_item"]
    return out


def estimate_plain(cfg: RunConfig, rates: dict[str, Any]) -> dict[str, float]:
    """Seconds per stage of a plain run (no arms), keyed as its ``timings.json``."""
    per_model = eval_seconds(eval_items(cfg, len(cfg.data.languages)), rates)
    out = {"model conversion": rates["conversion_seconds"]} if needs_conversion(cfg) else {}
    out["data"] = rates["data_seconds"]
    if cfg.eval.baseline:
        out["eval/before"] = per_model
    out["train"] = train_seconds(cfg.train, arm_examples(cfg, cfg.data), cfg.data.builder, rates)
    out["eval/after"] = per_model
    return out
