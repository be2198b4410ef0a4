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

# Assumed until this machine has measured its own (``rates.json`` in the cache, written by each run).
DEFAULT_RATES = {"train_tokens_per_second": 1500.0, "eval_seconds_per_item": 0.25, "source": "assumed"}


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
    data = replace(cfg.data, builder=arm.builder, languages=list(arm.languages), allocation=allocation,
                   pair_budget=arm.pair_budget)
    return replace(cfg, name=arm.name, output_dir=str(cfg.run_dir / "arms"), data=data, train=arm_train(cfg, arm),
                   arms=[], plan=None, analysis_language=None)


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


def check_arms(cfg: RunConfig, offline_sources: bool = True) -> None:
    """Refuse, before any work, an arm naming a language no source has and a plan that does not match."""
    from polyalign.data import resources

    if offline_sources:
        from polyalign.data.corpora import available

        for code in eval_languages(cfg):
            rows = [r for r in available(code, cfg.data.gettext_dirs) if r["source"] in cfg.data.sources]
            if not rows:
                arm = next(a.name for a in cfg.arms if code in a.languages)
                raise InputError(f"arm {arm!r} names {code}, for which no source in data.sources "
                                 f"({', '.join(cfg.data.sources)}) has parallel pairs (see polyalign data sources --lang {code})")
    for arm in cfg.arms:
        if arm.builder == "qalign" and "polyinstruct" in cfg.data.instructions:
            missing = [x for x in arm.languages if x not in resources.POLYINSTRUCT_LANGUAGES]
            if missing:
                raise InputError(f"arm {arm.name!r} names {', '.join(missing)}, which polyinstruct has no questions in")
    planned = [a for a in cfg.arms if a.allocation == "plan"]
    if planned and (cfg.plan or plan_path(cfg).is_file()):
        check_plan(plan_path(cfg), planned)


def check_plan(path: Path, arms: list[ArmConfig]) -> None:
    """The plan allocates exactly the languages of every arm that uses it."""
    plan = read_json(path)
    table = plan.get("allocation") if isinstance(plan, dict) else None
    if not isinstance(table, dict):
        raise InputError('a plan file must be {"allocation": {LANG: PAIRS}}', path)
    for arm in arms:
        if set(table) != set(arm.languages):
            raise InputError(f"the plan allocates {', '.join(sorted(table))} but arm {arm.name!r} tunes "
                             f"{', '.join(sorted(arm.languages))}", path)


def quick(cfg: RunConfig) -> RunConfig:
    """Every stage at toy size (``polyalign run --quick``): few pairs, a few steps, a few test items."""
    tiny = {"max_steps": 3, "save_steps": 0, "logging_steps": 1}
    arms = [replace(a, train={**a.train, **tiny}, pair_budget=min(a.pair_budget or 48, 48)) for a in cfg.arms]
    return replace(cfg, name=f"{cfg.name}-quick",
                   data=replace(cfg.data, max_train_pairs=min(cfg.data.max_train_pairs or 24, 24),
                                test_size=min(cfg.data.test_size, 6)),
                   train=replace(cfg.train, max_steps=3, save_steps=0, per_device_train_batch_size=4),
                   eval=replace(cfg.eval, limit=min(cfg.eval.limit or 6, 6), max_new_tokens=min(cfg.eval.max_new_tokens, 12)),
                   arms=arms)


def rates_path() -> Path:
    """``rates.json`` in polyalign's cache (``$POLYALIGN_CACHE``, as :func:`polyalign.models.cache_dir`)."""
    import os

    if os.environ.get("POLYALIGN_CACHE"):
        return Path(os.environ["POLYALIGN_CACHE"]) / "rates.json"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "polyalign" / "rates.json"


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


def dry_run(cfg: RunConfig) -> str:
    """The plan of a run as text: arms, data counts, steps, tokens, evaluations and an estimated time.

    Pair counts are the recipe's caps (``max_train_pairs`` per language, ``pair_budget`` per MuIT
    arm); tokens are steps × batch × ``max_seq_length`` (an upper bound with packing).
    """
    rates = measured_rates()
    d = cfg.data
    arms = cfg.arms or [ArmConfig(name=cfg.name, builder=d.builder, languages=list(d.languages),
                                  allocation="uniform" if d.allocation in ("uniform", "proportional") else "plan",
                                  pair_budget=d.pair_budget)]
    n_eval_langs = len(eval_languages(cfg)) if cfg.arms else len(d.languages)
    directions = 2 if d.direction == "both" else 1
    per_model = n_eval_langs * directions * min(d.test_size, cfg.eval.limit or d.test_size)
    suite = len(cfg.eval.suite) * max(1, len(cfg.eval.suite_langs)) * (cfg.eval.limit or 100)
    suite_text = f", suite {', '.join(cfg.eval.suite)} (~{suite} items)" if suite else ""
    lines = [f"run {cfg.name}: model {cfg.model.model_name_or_path}, {len(arms)} arm(s) + the untuned base",
             f"  evaluation per model: {per_model} translation items ({n_eval_langs} languages × {directions} "
             f"direction(s)){suite_text}"]
    total = (per_model + suite) * rates["eval_seconds_per_item"] * (len(arms) + 1)
    for arm in arms:
        train = arm_train(cfg, arm) if cfg.arms else cfg.train
        cap = d.max_train_pairs or 2000
        pairs = (arm.pair_budget or cap * len(arm.languages)) if arm.builder == "muit" else cap * len(arm.languages)
        if arm.builder == "qalign":
            pairs = 0
        steps = _steps(train, pairs + 200)
        tokens = steps * train.per_device_train_batch_size * train.gradient_accumulation_steps * train.max_seq_length
        secs = tokens / rates["train_tokens_per_second"]
        total += secs
        skip = (f" — not run without a plan ({plan_path(cfg)} is missing)"
                if cfg.arms and arm.allocation == "plan" and not plan_path(cfg).is_file() else "")
        lines.append(f"  arm {arm.name}: {arm.builder} {', '.join(arm.languages)}, allocation {arm.allocation}, "
                     f"≤{pairs} parallel pairs, {steps} steps, ≤{tokens} tokens, ~{secs / 60:.1f} min training{skip}")
    lines.append(f"  evaluations: {len(arms) + 1} models; estimated total ~{total / 60:.1f} min on this machine "
                 f"(rates: {rates['train_tokens_per_second']:.0f} train tokens/s, {rates['eval_seconds_per_item']:.2f} "
                 f"s per evaluation item, {rates['source']})")
    if cfg.analysis_language:
        import importlib.util

        there = importlib.util.find_spec("polyalign.analysis.align") is not None
        lines.append(f"  look inside: alignment by layer and logit lens for {cfg.analysis_language}, base and each arm"
                     + ("" if there else " — not run: this installation has no polyalign.analysis.align"))
    return "\n".join(lines)
