"""Experiment arms: each arm's own run recipe, the checks made before any work, ``--quick`` and ``--dry-run``.

An arm is a data + training variant of the run's base model (``coit-es``, ``muit-uniform``,
``qalign-zh-de``); :func:`arm_recipes` turns each into a complete :class:`RunConfig` whose run
directory is ``runs/<run>/arms/<arm>``, so the ordinary stages (data, train, eval) serve it
unchanged. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyalign.config import ArmConfig, RunConfig, TrainConfig
from polyalign.io import InputError, read_json

# Measured with the bundled SmolLM2-135M on 2 quiet CPU cores (LoRA training, greedy generation at
# batch 8, forward passes); a run replaces the training rate with its own (``rates.json`` in the cache).
DEFAULT_RATES = {
    "train_tokens_per_second": 270.0,
    "generate_tokens_per_second": 80.0,
    "forward_tokens_per_second": 650.0,
    "model_load_seconds": 5.0,
    "source": "SmolLM2-135M on 2 CPU cores",
}
# Rough token counts per evaluated item, for the estimate: (prompt tokens, generated tokens at most).
ITEM_TOKENS = {
    "translation": (60, 40),
    "polyqa": (260, 16),
    "polysent": (70, 0),
    "polyinstruct": (50, None),
    "other": (150, 32),
}


def plan_path(cfg: RunConfig) -> Path:
    """The budget plan arms with ``allocation: plan`` read: the recipe's ``plan``, else the pilot's."""
    return Path(cfg.plan) if cfg.plan else cfg.run_dir / "scaling" / "plan.json"


def arm_train(cfg: RunConfig, arm: ArmConfig) -> TrainConfig:
    """The recipe's ``train`` section with the arm's overrides on top (unknown keys are an error)."""
    from polyalign.recipe import build

    merged = {**dataclasses.asdict(cfg.train), **arm.train}
    return build(TrainConfig, merged, {}, Path(f"<arm {arm.name}>"), f"arms.{arm.name}.train.")


def arm_recipe(cfg: RunConfig, arm: ArmConfig) -> RunConfig:
    """A complete run recipe for one arm, its run directory ``runs/<run>/arms/<arm>``."""
    allocation = str(plan_path(cfg)) if arm.allocation == "plan" else arm.allocation
    data = replace(
        cfg.data,
        builder=arm.builder,
        languages=list(arm.languages),
        allocation=allocation,
        pair_budget=arm.pair_budget,
        pool=str(cfg.pool_path),  # the run's frozen pool: an arm never reads the sources itself
    )
    return replace(
        cfg,
        name=arm.name,
        runs_dir=str(cfg.run_dir / "arms"),
        data=data,
        train=arm_train(cfg, arm),
        arms=[],
        plan=None,
        analysis_language=None,
    )


def eval_languages(cfg: RunConfig) -> list[str]:
    """Languages of the shared held-out translation tests: every CoIT/MuIT arm's, in recipe order."""
    out: list[str] = []
    for arm in cfg.arms:
        if arm.builder != "qalign":
            out += [x for x in arm.languages if x not in out]
    return out or list(cfg.data.languages)


def eval_recipe(cfg: RunConfig) -> RunConfig:
    """The recipe of the shared evaluation data (``runs/<run>/data``): a uniform MuIT build over
    :func:`eval_languages`, whose held-out tests every arm and the base are scored on."""
    data = replace(cfg.data, builder="muit", languages=eval_languages(cfg), allocation="uniform", pair_budget=None)
    return replace(cfg, data=data)


def pool_cover(cfg: RunConfig) -> dict[str, Any]:
    """What the run's frozen pool must hold: every language, source and filter of the shared tests,
    each arm and each pilot point (:func:`polyalign.data.pool.cover`)."""
    from polyalign.data.pool import cover

    datas = [eval_recipe(cfg).data, *(arm_recipe(cfg, a).data for a in cfg.arms)]
    if planned_arms(cfg) and not cfg.plan:
        from polyalign.scaling.pilot import pilot_points

        datas += [p.config.data for p in pilot_points(pilot_recipe(cfg))]
    return cover(datas)


def planned_arms(cfg: RunConfig) -> list[ArmConfig]:
    """The arms whose MuIT budget is split by a plan."""
    return [a for a in cfg.arms if a.allocation == "plan"]


def pilot_recipe(cfg: RunConfig) -> RunConfig:
    """The run's recipe with the pilot's languages: ``scaling.languages``, else the planned arms'."""
    codes: list[str] = []
    for arm in planned_arms(cfg):
        codes += [x for x in arm.languages if x not in codes]
    return replace(cfg, scaling=replace(cfg.scaling, languages=list(cfg.scaling.languages or codes)))


def check_arms(cfg: RunConfig, offline_sources: bool = True) -> None:
    """Refuse, before any work, an arm naming a language no source has and a plan that does not match."""
    from polyalign.data import resources

    pool_json = cfg.pool_path / "pool.json"
    if pool_json.is_file():  # a frozen pool: what it holds, not what the machine has now
        held = read_json(pool_json).get("languages", {})
        for code in eval_languages(cfg):
            if not held.get(code, {}).get("pairs"):
                arm = next(a.name for a in cfg.arms if code in a.languages)
                raise InputError(f"arm {arm!r} names {code}, for which the frozen pool has no pairs", pool_json)
    elif offline_sources and not any(s.startswith("hf:") or "/" in s or "." in s for s in cfg.data.sources):
        from polyalign.data.corpora import (
            available,  # offline corpora only: the hub is not asked here
        )

        for code in eval_languages(cfg):
            rows = [r for r in available(code, cfg.data.gettext_dirs) if r["source"] in cfg.data.sources]
            if not rows:
                arm = next(a.name for a in cfg.arms if code in a.languages)
                raise InputError(
                    f"arm {arm!r} names {code}, for which no source in data.sources "
                    f"({', '.join(cfg.data.sources)}) has parallel pairs (see polyalign data sources --lang {code})"
                )
    for arm in cfg.arms:
        if arm.builder == "qalign" and "polyinstruct" in cfg.data.instructions:
            missing = [x for x in arm.languages if x not in resources.POLYINSTRUCT_LANGUAGES]
            if missing:
                raise InputError(f"arm {arm.name!r} names {', '.join(missing)}, which polyinstruct has no questions in")
    planned = [a for a in cfg.arms if a.allocation == "plan"]
    if planned and (cfg.plan or plan_path(cfg).is_file()):
        check_plan(plan_path(cfg), planned)
    elif planned:  # the run's own scaling pilot will plan: its grid must be able to
        from polyalign.scaling.pilot import check_pilot, pilot_points

        pcfg = pilot_recipe(cfg)
        for arm in planned:
            if set(arm.languages) != set(pcfg.scaling.languages):
                raise InputError(
                    f"scaling.languages ({', '.join(pcfg.scaling.languages)}) differ from the languages "
                    f"of arm {arm.name!r} ({', '.join(arm.languages)}), which the pilot's plan is for"
                )
        check_pilot(pcfg, pilot_points(pcfg))


def check_plan(path: Path, arms: list[ArmConfig]) -> None:
    """The plan allocates exactly the languages of every arm that uses it."""
    plan = read_json(path)
    table = plan.get("allocation") if isinstance(plan, dict) else None
    if not isinstance(table, dict):
        raise InputError('a plan file must be {"allocation": {LANG: PAIRS}}', path)
    for arm in arms:
        if set(table) != set(arm.languages):
            raise InputError(
                f"the plan allocates {', '.join(sorted(table))} but arm {arm.name!r} tunes "
                f"{', '.join(sorted(arm.languages))}",
                path,
            )


def quick(cfg: RunConfig) -> RunConfig:
    """Every stage at toy size (``polyalign run --quick``): few pairs, a few steps, a few test items."""
    tiny = {"max_steps": 3, "save_steps": 0, "logging_steps": 1}
    arms = [replace(a, train={**a.train, **tiny}, pair_budget=min(a.pair_budget or 48, 48)) for a in cfg.arms]
    scaling = replace(
        cfg.scaling,
        sizes=[4, 8, 12],
        bootstrap=min(cfg.scaling.bootstrap, 20),
        budget=None,
        train={**cfg.scaling.train, "max_steps": 2, "save_steps": 0, "per_device_train_batch_size": 4},
    )
    judge = replace(cfg.judge, limit=min(cfg.judge.limit, 2), max_new_tokens=min(cfg.judge.max_new_tokens, 12))
    return replace(
        cfg,
        name=f"{cfg.name}-quick",
        scaling=scaling,
        judge=judge,
        data=replace(
            cfg.data, max_train_pairs=min(cfg.data.max_train_pairs or 24, 24), test_size=min(cfg.data.test_size, 6)
        ),
        train=replace(cfg.train, max_steps=3, save_steps=0, per_device_train_batch_size=4),
        eval=replace(cfg.eval, limit=min(cfg.eval.limit or 2, 2), max_new_tokens=min(cfg.eval.max_new_tokens, 12)),
        arms=arms,
    )


def analysis_pairs_limit(cfg: RunConfig) -> int:
    """Pairs (and lens words) the look inside reads: 8 × ``eval.limit``, at most 64."""
    return min(64, 8 * (cfg.eval.limit or 8))


def rates_path() -> Path:
    """``rates.json`` in polyalign's cache (:func:`polyalign.io.cache_dir`)."""
    from polyalign.io import cache_dir

    return cache_dir() / "rates.json"


def measured_rates() -> dict[str, Any]:
    """Training tokens/s and evaluation seconds per item measured by this machine's last run."""
    path = rates_path()
    if path.is_file():
        try:
            return {**DEFAULT_RATES, **json.loads(path.read_text(encoding="utf-8")), "source": str(path)}
        except (OSError, ValueError):
            pass
    return dict(DEFAULT_RATES)


def _steps(train: TrainConfig, examples: int) -> int:
    if train.max_steps > 0:
        return train.max_steps
    per_step = train.per_device_train_batch_size * train.gradient_accumulation_steps
    return max(1, math.ceil(train.num_train_epochs * examples / per_step))


def _eval_seconds(items: int, kind: str, max_new: int, rates: dict[str, Any]) -> float:
    """Seconds to evaluate ``items`` of a kind: prompts at the forward rate, answers at the generation rate."""
    prompt, answer = ITEM_TOKENS.get(kind, ITEM_TOKENS["other"])
    answer = max_new if answer is None else min(answer, max_new)
    return items * prompt / rates["forward_tokens_per_second"] + items * answer / rates["generate_tokens_per_second"]


def model_eval_plan(cfg: RunConfig, n_langs: int, rates: dict[str, Any]) -> tuple[list[str], float]:
    """What one model's evaluation runs (text parts) and its estimated seconds."""
    from polyalign.eval.tasks import TASKS

    e, d = cfg.eval, cfg.data
    directions = 2 if d.direction == "both" else 1
    per = min(d.test_size, e.limit or d.test_size)
    parts = [f"{n_langs * directions * per} translation items ({n_langs} languages × {directions} direction(s))"]
    secs = _eval_seconds(n_langs * directions * per, "translation", e.max_new_tokens, rates)
    for task in e.suite:
        n_l = len(e.suite_langs) or len(TASKS[task].languages)
        items = n_l * (e.limit or 100)
        parts.append(f"{task} {items} items ({n_l} languages)")
        secs += _eval_seconds(items, task, e.max_new_tokens, rates)
    if cfg.judge.endpoint:
        items = len(cfg.judge.languages) * cfg.judge.limit
        parts.append(f"polyinstruct {items} answers for the judge")
        secs += _eval_seconds(items, "polyinstruct", cfg.judge.max_new_tokens, rates)
    return parts, secs + rates["model_load_seconds"]


def _train_line(train: TrainConfig, examples: int, rates: dict[str, Any]) -> tuple[int, int, float]:
    steps = _steps(train, examples)
    tokens = steps * train.per_device_train_batch_size * train.gradient_accumulation_steps * train.max_seq_length
    return steps, tokens, tokens / rates["train_tokens_per_second"]


def dry_run(cfg: RunConfig) -> str:
    """The plan of a run as text: arms, data counts, steps, tokens, evaluations and an estimated time
    per stage on this machine (:data:`DEFAULT_RATES`, or the rates its last run measured).

    Pair counts are the recipe's caps (``max_train_pairs`` per language, ``pair_budget`` per MuIT
    arm); tokens are steps × batch × ``max_seq_length`` (an upper bound with packing); evaluation
    prompts are read at the forward rate and answers written at the generation rate.
    """
    rates = measured_rates()
    d = cfg.data
    arms = cfg.arms or [
        ArmConfig(
            name=cfg.name,
            builder=d.builder,
            languages=list(d.languages),
            allocation="uniform" if d.allocation in ("uniform", "proportional") else "plan",
            pair_budget=d.pair_budget,
        )
    ]
    n_eval_langs = len(eval_languages(cfg)) if cfg.arms else len(d.languages)
    parts, per_model = model_eval_plan(cfg, n_eval_langs, rates)
    lines = [
        f"run {cfg.name}: model {cfg.model.model_name_or_path}, {len(arms)} arm(s) + the untuned base",
        f"  evaluation per model: {', '.join(parts)}; ~{per_model / 60:.1f} min",
    ]
    stages: dict[str, float] = {"evaluation": per_model * (len(arms) + 1)}
    if cfg.arms and planned_arms(cfg) and not cfg.plan:
        from polyalign.scaling.pilot import pilot_points

        pcfg = pilot_recipe(cfg)
        points = pilot_points(pcfg)
        psecs = 0.0
        for p in points:
            _, _, t = _train_line(p.config.train, p.labels["size"] + (200 if p.config.data.instructions else 0), rates)
            ev = _eval_seconds(
                (2 if d.direction == "both" else 1) * min(d.test_size, cfg.eval.limit or d.test_size),
                "translation",
                cfg.eval.max_new_tokens,
                rates,
            )
            psecs += t + ev + rates["model_load_seconds"]
        stages["scaling pilot"] = psecs
        lines.append(
            f"  scaling pilot: {len(pcfg.scaling.languages)} languages × sizes {pcfg.scaling.sizes} = "
            f"{len(points)} points (plain runs: tune, score the held-out pairs), ~{psecs / 60:.1f} min; "
            f"then plan {planned_arms(cfg)[0].pair_budget} pairs over {', '.join(pcfg.scaling.languages)}"
        )
    train_total = 0.0
    for arm in arms:
        train = arm_train(cfg, arm) if cfg.arms else cfg.train
        cap = d.max_train_pairs or 2000
        pairs = (arm.pair_budget or cap * len(arm.languages)) if arm.builder == "muit" else cap * len(arm.languages)
        if arm.builder == "qalign":
            pairs = 0
        steps, tokens, secs = _train_line(train, pairs + (200 if d.instructions else 0), rates)
        train_total += secs
        skip = (
            f" — planned by the scaling pilot ({plan_path(cfg)})"
            if cfg.arms and arm.allocation == "plan" and not plan_path(cfg).is_file()
            else ""
        )
        lines.append(
            f"  arm {arm.name}: {arm.builder} {', '.join(arm.languages)}, allocation {arm.allocation}, "
            f"≤{pairs} parallel pairs, {steps} steps, ≤{tokens} tokens, ~{secs / 60:.1f} min training{skip}"
        )
    stages["training"] = train_total
    if cfg.analysis_language:
        n = analysis_pairs_limit(cfg)
        per = (2 * n * 30 + n * 60) / rates["forward_tokens_per_second"]
        stages["look inside"] = per * (len(arms) + 1)
        lines.append(
            f"  look inside: alignment by layer and logit lens for {cfg.analysis_language}, base and each "
            f"arm, ~{stages['look inside'] / 60:.1f} min"
        )
    lines.append(
        "  judge: "
        + (
            f"{cfg.judge.model} at {cfg.judge.endpoint}, each arm against the base on "
            f"{len(cfg.judge.languages) * cfg.judge.limit} polyinstruct test items"
            if cfg.judge.endpoint
            else "not run (no judge.endpoint)"
        )
    )
    total = sum(stages.values())
    each = ", ".join(f"{k} {v / 60:.1f}" for k, v in stages.items())
    lines.append(
        f"  evaluations: {len(arms) + 1} models; estimated total ~{total / 60:.1f} min on this machine "
        f"({each} min; rates: {rates['train_tokens_per_second']:.0f} train tokens/s, "
        f"{rates['generate_tokens_per_second']:.0f} generated tokens/s, {rates['forward_tokens_per_second']:.0f} "
        f"forward tokens/s, {rates['source']})"
    )
    return "\n".join(lines)
