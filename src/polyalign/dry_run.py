"""``polyalign run --dry-run``: the plan of a run as text, and its estimated seconds per stage.

The plan names every arm, its data, steps, tokens and evaluations, the scaling pilot, the launcher,
the smallest effect each claim can detect and the time per stage as ``timings.json`` will name it,
estimated from the rates this machine's last run measured (:mod:`polyalign.estimate`; before any run,
the shipped rates scaled by a half-second matmul probe of this machine). No model or data is loaded
and nothing is trained or scored. This module imports neither torch nor transformers (the probe
imports torch when it runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign.arms import (
    analysis_pairs_limit,
    arm_train,
    eval_languages,
    pilot_recipe,
    pilot_recipes,
    plan_path,
    planned_arms,
    suite_protocol,
)
from polyalign.config import TrainConfig
from polyalign.estimate import (
    arm_examples,
    estimate_plain,
    estimate_stages,
    eval_items,
    heldout_directions,
    measured_rates,
    suite_languages,
    train_steps,
)
from polyalign.eval.tasks import TASKS, parse_limits, specs_for
from polyalign.grid import choose_executor
from polyalign.hub import DEFAULT_MODEL
from polyalign.io import InputError, read_json
from polyalign.run_config import ArmConfig, RunConfig
from polyalign.stats.decide import MIN_ITEMS
from polyalign.stats.power import plan_line


def _point_steps(train: TrainConfig) -> str:
    return f"{train.max_steps} steps" if train.max_steps > 0 else f"{train.num_train_epochs:g} epoch(s)"


def _point_runs(point: RunConfig) -> str:
    """How the pilot's points are trained: plain runs, or one run per language kept at every size."""
    if point.train.keep_at_examples:
        return (
            f"snapshots: one run per language over {point.data.max_train_pairs} pairs, one epoch at a constant "
            "rate, its model kept at each size"
        )
    return f"plain runs: tune {_point_steps(point.train)}"


def dry_run(cfg: RunConfig) -> str:
    """The plan of a run as text: arms, data counts, steps, tokens, evaluations and an estimated time
    per stage on this machine (:func:`estimate_stages`, from the rates this machine's last run
    measured, else :data:`~polyalign.estimate.DEFAULT_RATES`, which it says).

    Pair counts are the recipe's caps (``max_train_pairs`` per language, ``pair_budget`` per MuIT
    arm); tokens are steps × batch × ``max_seq_length`` (an upper bound with packing; the time uses
    the measured tokens per example); evaluation items are timed at each task's measured seconds per item.
    """
    rates = measured_rates()
    cfg = suite_protocol(cfg)
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
    est = estimate_stages(cfg, rates) if cfg.arms else estimate_plain(cfg, rates)
    n_eval_langs = len(eval_languages(cfg)) if cfg.arms else len(d.languages)
    items = eval_items(cfg, n_eval_langs)
    n_heldout = items.pop("translation")
    parts = [
        f"{n_heldout} held-out translation items ({n_eval_langs} languages × {heldout_directions(cfg)} direction(s))"
        if n_heldout
        else "no held-out translation items (eval.heldout: none)"
    ]
    for task in cfg.eval.suite:
        what = "directions" if TASKS[task].kind == "translation" else "languages"
        parts.append(f"{task} {items[task]} items ({suite_languages(task, cfg.eval.suite_langs)} {what})")
    if cfg.eval.suite:
        parts.append(f"suite prompts {cfg.eval.num_fewshot}-shot for the base and every arm")
    if cfg.judge.endpoint:
        parts.append(f"polyinstruct {len(cfg.judge.languages) * cfg.judge.limit} answers for the judge")
    per_model = est["eval/base"] if cfg.arms else est["eval/after"]
    lines = [
        f"run {cfg.name}: model {cfg.model.model_name_or_path}, {len(arms)} arm(s) + the untuned base",
        f"  evaluation of the base (an arm: what its claims read, below): {', '.join(parts)}; "
        f"~{per_model / 60:.1f} min (model load included)",
    ]
    if cfg.arms and planned_arms(cfg) and not cfg.plan:
        pcfg = pilot_recipe(cfg)
        points = pilot_recipes(pcfg)
        psecs = est["scaling pilot"]
        lines.append(
            f"  scaling pilot: {len(pcfg.scaling.languages)} languages × sizes {pcfg.scaling.sizes} = "
            f"{len(pcfg.scaling.languages) * len(pcfg.scaling.sizes)} points ({_point_runs(points[0])}, score "
            f"{eval_items(points[0], 1, suite=False)['translation']} held-out pairs a point), ~{psecs / 60:.1f} min; "
            f"then plan {planned_arms(cfg)[0].pair_budget} pairs over {', '.join(pcfg.scaling.languages)}"
        )
    for arm in arms:
        train = arm_train(cfg, arm) if cfg.arms else cfg.train
        cap = d.max_train_pairs or 2000
        pairs = (arm.pair_budget or cap * len(arm.languages)) if arm.builder == "muit" else cap * len(arm.languages)
        if arm.builder == "qalign":
            pairs = 0
        steps = train_steps(train, arm_examples(cfg, arm))
        tokens = steps * train.per_device_train_batch_size * train.gradient_accumulation_steps * train.max_seq_length
        secs = est[f"train/{arm.name}"] if cfg.arms else est["train"]
        skip = (
            f" — planned by the scaling pilot ({plan_path(cfg)})"
            if cfg.arms and arm.allocation == "plan" and not plan_path(cfg).is_file()
            else ""
        )
        data = (
            "polyinstruct questions → English (no parallel pairs)"
            if arm.builder == "qalign"
            else f"allocation {arm.allocation}, ≤{pairs} parallel pairs"
        )
        lines.append(
            f"  arm {arm.name}: {arm.builder} {', '.join(arm.languages)}, {data}, {steps} steps, ≤{tokens} tokens, "
            f"~{secs / 60:.1f} min training{skip}"
        )
    if cfg.analysis_language:
        looks = sum(v for k, v in est.items() if k.startswith("analysis/"))
        lines.append(
            f"  look inside: alignment by layer and logit lens for {cfg.analysis_language}, base and each "
            f"arm, ~{looks / 60:.1f} min"
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
    try:
        lines.append(f"  launcher: {choose_executor(cfg.scaling.launcher, cfg.scaling.cluster)[1]}")
    except InputError as e:
        lines.append(f"  launcher: refused before any work: {e}")
    lines.append(
        "  counts marked ≤ are upper bounds (the recipe's caps; the data build keeps what the sources and "
        "filters give); evaluation items are at most eval.limit per task, language and direction"
    )
    lines += detectable_lines(cfg, arms)
    lines += stage_lines(cfg, est)
    total = sum(est.values())
    per_item = rates["eval_seconds_per_item"]
    used = ", ".join(f"{t} {per_item[t]:.2f}" for t in ["translation", *cfg.eval.suite] if t in per_item)
    if "scaling pilot" in est:
        used += f", pilot held-out pair {rates['pilot_seconds_per_item']:.2f}"
    other = (
        f", measured with {rates['model']}"
        if rates.get("model", cfg.model.model_name_or_path) != cfg.model.model_name_or_path
        else ""
    )
    lines.append(
        f"  evaluations: {len(arms) + 1} models; estimated total ~{total / 60:.1f} min on this machine, the "
        f"report's few seconds not counted (rates: {rates['source']}{other}: training "
        f"{rates['train_tokens_per_second']:.0f} tokens/s, model load {rates['model_load_seconds']:.1f} s, "
        f"s/item {used})"
    )
    return "\n".join(lines)


def stage_lines(cfg: RunConfig, est: dict[str, float]) -> list[str]:
    """The estimate per stage, as the run's ``timings.json`` will name them: one line for the shared
    stages, one per arm."""

    def minutes(keys: list[str]) -> str:
        return ", ".join(f"{k.split('/')[0]} {est[k] / 60:.1f}" for k in keys if k in est)

    shared = [k for k in est if not cfg.arms or "/" not in k or k.endswith("/base")]
    out = [f"  time per stage (min): {', '.join(f'{k} {est[k] / 60:.1f}' for k in shared)}"]
    for arm in cfg.arms:
        keys = [f"{s}/{arm.name}" for s in ("data", "train", "eval", "analysis")]
        out.append(f"    arm {arm.name} {sum(est.get(k, 0.0) for k in keys) / 60:.1f}: {minutes(keys)}")
    return out


# Per-item σ of each claim's deciding difference as the default recipe measured it on the bundled model
# (`make demo`, 2026-12-07, 40 polymt sentences a direction, 40 pairs, 10 distinct unseen items; the
# report's "could detect" 2.97, 3.15, 1.61, 0.008 and 7.99): the plan of a first run of that model, before
# this machine has run one. Other models start from :data:`polyalign.stats.power.DEFAULT_SD`.
DEFAULT_MODEL_SD = {"coit": 6.70, "muit": 7.10, "plan": 3.62, "alignment": 0.0185, "qalign": 9.02}
DEFAULT_MODEL_SD_SOURCE = "the default run of this model, measured 2026-12-07"


def _enough(effect: Any) -> bool:
    """An effect's σ is worth planning with when it rests on at least :data:`~polyalign.stats.decide.MIN_ITEMS`
    items (a summary written before effects recorded ``n`` is taken as it is)."""
    n = effect.get("n") if isinstance(effect, dict) else None
    return n is None or n >= MIN_ITEMS


def claim_spread(claim: dict[str, Any]) -> tuple[float, int | None] | None:
    """The per-item σ that decided a recorded claim, and the items it rests on: its pooled effect's
    when the pooled effect decides, else its widest part's (every part must hold, so the noisiest one
    sets what the claim can detect); the parts' median for a summary written before claims recorded
    ``decided_on``. None when the claim rests on fewer than :data:`~polyalign.stats.decide.MIN_ITEMS`
    items (a ``--quick`` run's two): a σ from so few says nothing of a run with forty.

    >>> parts = [{"sd_item": 4.0, "n": 40}, {"sd_item": 7.0, "n": 40}, {"sd_item": 5.0, "n": 40}]
    >>> claim_spread({"decided_on": "parts", "parts": parts, "pooled": {"sd_item": 9.0, "n": 40}})
    (7.0, 40)
    >>> claim_spread({"decided_on": "pooled", "parts": parts, "pooled": {"sd_item": 9.0, "n": 40}})
    (9.0, 40)
    >>> claim_spread({"parts": [{"sd_item": 4.0}, {"sd_item": 7.0}, {"sd_item": 5.0}]})
    (5.0, None)
    >>> claim_spread({"decided_on": "parts", "parts": [{"sd_item": 2.4, "n": 2}]}) is None
    True
    """
    if claim.get("decided_on") == "pooled":
        pooled = claim.get("pooled") or {}
        return (pooled["sd_item"], pooled.get("n")) if pooled.get("sd_item") and _enough(pooled) else None
    parts = [p for p in claim.get("parts") or [] if isinstance(p, dict) and p.get("sd_item")]
    if not parts or not all(_enough(p) for p in parts):
        return None
    parts.sort(key=lambda p: p["sd_item"])
    chosen = parts[-1] if claim.get("decided_on") == "parts" else parts[len(parts) // 2]
    return chosen["sd_item"], chosen.get("n")


def earlier_spread(cfg: RunConfig) -> dict[str, tuple[float, str]]:
    """``{claim id: (per-item σ of the paired difference, where it came from)}``, each claim's from the
    newest finished run of the same model under ``runs_dir`` that measured it on enough items (the
    claims record ``sd_item`` and ``n`` per part and pooled; :func:`claim_spread` picks the one that
    decided). A ``--quick`` run, newer but with two items a part, does not set the default run's plan."""
    found: dict[str, tuple[float, float, str]] = {}
    for path in Path(cfg.runs_dir).glob("*/summary.json"):
        try:
            doc = read_json(path)
            when = path.stat().st_mtime
        except (InputError, OSError):
            continue
        if not isinstance(doc, dict) or doc.get("model") != cfg.model.model_name_or_path:
            continue
        for c in doc.get("claims") or []:
            if not isinstance(c, dict) or not (spread := claim_spread(c)):
                continue
            sd, n = spread
            if c["id"] not in found or when > found[c["id"]][0]:
                found[c["id"]] = (when, sd, f"{path}" + (f", {n} items" if n else ""))
    return {cid: (sd, src) for cid, (_, sd, src) in found.items()}


def detectable_lines(cfg: RunConfig, arms: list[ArmConfig]) -> list[str]:
    """Per claim the run can decide, the smallest effect its planned items detect (80% power, 95%
    two-sided), from the per-item σ of an earlier run of the same model, else a stated default."""
    known = earlier_spread(cfg)
    if cfg.model.model_name_or_path == DEFAULT_MODEL:
        known = {cid: (sd, DEFAULT_MODEL_SD_SOURCE) for cid, sd in DEFAULT_MODEL_SD.items()} | known
    d, e = cfg.data, cfg.eval
    per = min(d.test_size, e.limit or d.test_size)  # the held-out pairs, unless a shipped set decides
    limits = parse_limits(e.task_limits)
    parallel = False  # a parallel set: the same sentences in every language, one resampling unit each
    for family in ("flores", "polymt"):  # the translation claims' order of preference
        if family in e.suite:
            per, parallel = limits.get(family, e.limit or 100), True
            break
    builders = {a.builder for a in arms}

    def line(cid: str, label: str, n: int, unit: str, metric: str) -> str:
        sd, src = known.get(cid, (None, ""))
        return "  detectable: " + plan_line(label, n, unit, metric, sd, src)

    out = []
    if cfg.arms and planned_arms(cfg) and not cfg.plan:
        sizes = sorted(set(pilot_recipe(cfg).scaling.sizes))
        out.append(
            f"  detectable: scaling law: {len(sizes)} pilot sizes {sizes}; a verdict needs a rising fit from ≥ k + 2 "
            "sizes (k the form's parameters: log and xllama 2, power 3)"
        )
    if "coit" in builders:
        out.append(line("coit", "CoIT", per, "items per direction", "chrF++"))
    if "muit" in builders and "coit" in builders:
        out.append(line("muit", "MuIT vs CoIT (equivalence, ±1)", per, "items per direction", "chrF++"))
    planned = [a for a in arms if a.builder == "muit" and a.allocation == "plan"]
    uniform = [a for a in arms if a.builder == "muit" and a.allocation == "uniform"]
    if planned and uniform:
        shared = [x for x in planned[0].languages if x in uniform[0].languages]
        n, unit = (per, "distinct En→X items (union)") if parallel else (per * len(shared), "En→X items (union)")
        out.append(line("plan", "planned vs uniform", n, unit, "chrF++"))
    if cfg.analysis_language and cfg.arms:
        out.append(line("alignment", "middle-layer alignment", analysis_pairs_limit(cfg), "pairs", "cosine"))
    if "qalign" in builders and e.suite:
        seen = {x for a in arms if a.builder == "qalign" for x in a.languages} | {"en"}
        # the transfer claim reads QA and classification only; their sets are parallel (the same items in every
        # language, drawn by id), so each task's items count once however many unseen languages score them
        n = sum(
            limits.get(t, e.limit or 100)
            for t in e.suite
            if TASKS[t].kind != "translation" and any(x not in seen for x in specs_for(TASKS[t], e.suite_langs))
        )
        out.append(line("qalign", "question-alignment transfer", n, "distinct unseen items", "accuracy"))
    return out
