"""Experiment arms: each arm's own run recipe, the checks made before any work, and ``--quick``.

An arm is a data + training variant of the run's base model (``coit-es``, ``muit-uniform``,
``qalign-zh-de``); :func:`arm_recipe` turns each into a complete :class:`RunConfig` whose run
directory is ``runs/<run>/arms/<arm>``, so the ordinary stages (data, train, eval) serve it
unchanged. The scaling pilot's points are run recipes too (:func:`pilot_recipes`: one plain run
per language and size, or one per language kept at every size), which
:func:`polyalign.stages.pilot_points` hands to the grid.
``--dry-run``'s plan is :mod:`polyalign.dry_run`'s, its time per stage :mod:`polyalign.estimate`'s.
This module imports neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.claim_arms import claim_arms
from polyalign.coerce import build
from polyalign.config import DataConfig, EvalConfig, TrainConfig
from polyalign.data import resources
from polyalign.data.corpora import available  # offline corpora only: the hub is not asked here
from polyalign.data.filters import cover
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.eval.tasks import TASKS, parse_limits
from polyalign.io import InputError, read_json
from polyalign.run_config import ArmConfig, RunConfig
from polyalign.scaling.laws import PARAMS

CHECKS = {DataConfig: DataConfig.check_pool}
"""What an override of a recipe section is checked for beyond its types (an arm's or the pilot's
``train`` / ``data``; the suite checks of :mod:`polyalign.recipe` need no override here)."""


def plan_path(cfg: RunConfig) -> Path:
    """The budget plan arms with ``allocation: plan`` read: the recipe's ``plan``, else the pilot's."""
    return Path(cfg.plan) if cfg.plan else cfg.run_dir / "scaling" / "plan.json"


def arm_train(cfg: RunConfig, arm: ArmConfig) -> TrainConfig:
    """The recipe's ``train`` section with the arm's overrides on top (unknown keys are an error)."""
    merged = {**dataclasses.asdict(cfg.train), **arm.train}
    return build(TrainConfig, merged, {}, Path(f"<arm {arm.name}>"), f"arms.{arm.name}.train.", CHECKS)


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
        eval=arm_eval(cfg, arm),
        arms=[],
        plan=None,
        analysis_language=None,
    )


def arm_eval(cfg: RunConfig, arm: ArmConfig) -> EvalConfig:
    """An arm's evaluation: the recipe's, with ``eval.arm_tasks: claims`` (the default) cut to what the
    arm's claims read, since the base is scored on everything they are compared with. A CoIT or MuIT
    arm keeps a shipped translation set named direction by direction (``polymt/en-es``) in the
    directions of its own languages only, and no QA or classification task (only question
    alignment's transfer claim reads those); a planned MuIT arm beside a uniform one keeps the
    En→X directions only (the plan claim reads En→X; the MuIT claim reads the uniform arm); a
    question-alignment arm keeps QA and classification and no translation direction. Evaluation
    time goes where the claims need it."""
    e = cfg.eval
    if e.arm_tasks == "all":
        return e
    qalign = arm.builder == "qalign"
    mine = set() if qalign else set(arm.languages)
    into_only = planned_beside_uniform(cfg, arm)
    keep, suite = [], []
    for task in e.suite:
        named = [x for x in e.suite_langs if x.startswith(f"{task}/")]
        if TASKS[task].kind != "translation":
            if qalign:
                suite.append(task)
            continue
        if not named:
            if not qalign:
                suite.append(task)
            continue
        own = [x for x in named if set(x.split("/", 1)[1].split("-")) & mine]
        if into_only:
            own = [x for x in own if x.split("/", 1)[1].split("-")[0] == "en"]
        keep += own
        if own:
            suite.append(task)
    langs = [x for x in e.suite_langs if "/" not in x or x in keep or x.split("/", 1)[0] not in e.suite]
    langs = [x for x in langs if "/" not in x or x.split("/", 1)[0] in suite]
    heldout = "from_en" if into_only and e.heldout == "both" else e.heldout
    return replace(e, suite=suite, suite_langs=langs, heldout=heldout)


def planned_beside_uniform(cfg: RunConfig, arm: ArmConfig) -> bool:
    """Whether ``arm`` is a planned MuIT arm the claims read En→X only: the plan claim compares it with a
    uniform MuIT arm sharing its languages, and the MuIT claim reads another arm (:func:`claim_arms`)."""
    if arm.builder != "muit" or arm.allocation != "plan":
        return False
    records = {a.name: {"builder": a.builder, "allocation": a.allocation, "languages": a.languages} for a in cfg.arms}
    muit, _ = claim_arms(records)
    uniform = [a for a in cfg.arms if a.builder == "muit" and a.allocation == "uniform"]
    return muit != arm.name and any(set(arm.languages) & set(a.languages) for a in uniform)


def suite_protocol(cfg: RunConfig) -> RunConfig:
    """``cfg`` with the suite's protocol for every model it evaluates: with a question-alignment arm
    (or a plain ``qalign`` run) and a suite, at least ``eval.qalign_fewshot`` demonstrations per
    prompt (the question-alignment paper's few-shot protocol). Applied to the whole run, so the
    base and every arm share one protocol on the same items; held-out translation stays 0-shot."""
    e = cfg.eval
    qalign = any(a.builder == "qalign" for a in cfg.arms) if cfg.arms else cfg.data.builder == "qalign"
    if not (qalign and e.suite and e.qalign_fewshot > e.num_fewshot):
        return cfg
    return replace(cfg, eval=replace(e, num_fewshot=e.qalign_fewshot))


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
    each arm and each pilot point (:func:`polyalign.data.filters.cover`)."""
    datas = [eval_recipe(cfg).data, *(arm_recipe(cfg, a).data for a in cfg.arms)]
    if planned_arms(cfg) and not cfg.plan:
        datas += [r.data for r in pilot_recipes(pilot_recipe(cfg))]
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


def _needing_pairs(cfg: RunConfig) -> list[tuple[str, str]]:
    """``(language, who names it)`` for every language the run builds parallel data for: each
    CoIT/MuIT arm's, or a plain run's ``data.languages`` (question alignment reads questions, not pairs)."""
    if not cfg.arms:
        return [] if cfg.data.builder == "qalign" else [(x, "data.languages") for x in cfg.data.languages]
    out: list[tuple[str, str]] = []
    for arm in cfg.arms:
        if arm.builder != "qalign":
            out += [(x, f"arm {arm.name!r}") for x in arm.languages if x not in {c for c, _ in out}]
    return out


def check_arms(cfg: RunConfig, offline_sources: bool = True) -> None:
    """Refuse, before any work, a language no source has, a plan that does not match and, for a run
    without arms, data no builder can make (``builder: coit`` over two languages: a pilot recipe's)."""
    if not cfg.arms:
        MixtureSpec.from_config(cfg.data)  # what the data stage would refuse after the run directory is made
    pool_json = cfg.pool_path / "pool.json"
    if pool_json.is_file():  # a frozen pool: what it holds, not what the machine has now
        held = read_json(pool_json).get("languages", {})
        for code, who in _needing_pairs(cfg):
            if not held.get(code, {}).get("pairs"):
                raise InputError(f"{who} names {code}, for which the frozen pool has no pairs", pool_json)
    elif offline_sources and not any(s.startswith("hf:") or "/" in s or "." in s for s in cfg.data.sources):
        for code, who in _needing_pairs(cfg):
            rows = [r for r in available(code, cfg.data.gettext_dirs) if r["source"] in cfg.data.sources]
            if not rows:
                raise InputError(
                    f"{who} names {code}, for which no source in data.sources "
                    f"({', '.join(cfg.data.sources)}) has parallel pairs (see polyalign data sources --lang {code})"
                )
    if not cfg.arms:
        return
    held_out = eval_languages(cfg)
    if cfg.analysis_language and langs.normalize(cfg.analysis_language) not in {langs.normalize(x) for x in held_out}:
        # the look inside reads the shared held-out En–X pairs, built for these languages only
        raise InputError(
            f"analysis_language: {cfg.analysis_language} has no held-out pairs in this run (it holds En–X pairs "
            f"for {', '.join(held_out)}, the CoIT/MuIT arms' languages): name one of them"
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
        pcfg = pilot_recipe(cfg)
        for arm in planned:
            if set(arm.languages) != set(pcfg.scaling.languages):
                raise InputError(
                    f"scaling.languages ({', '.join(pcfg.scaling.languages)}) differ from the languages "
                    f"of arm {arm.name!r} ({', '.join(arm.languages)}), which the pilot's plan is for"
                )
        check_pilot(pcfg, pilot_recipes(pcfg))


def check_plan(path: Path, arms: list[ArmConfig]) -> None:
    """The plan allocates exactly the languages of every arm that uses it."""
    plan = read_json(path)
    table = plan.get("allocation") if isinstance(plan, dict) else None
    if not isinstance(table, dict):
        raise InputError('a plan file must be {"allocation": {LANG: PAIRS}}', path)
    for code, n in table.items():  # what the data build would refuse, said before the base evaluation
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"allocation for {code!r} must be a non-negative integer, got {n!r}", path)
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
        train={  # snapshots: one epoch over 12 pairs, 3 steps, kept at each size
            **cfg.scaling.train,
            "max_steps": -1 if cfg.scaling.points == "snapshots" else 2,
            "save_steps": 0,
            "per_device_train_batch_size": 4,
        },
        eval={**cfg.scaling.eval, "limit": 2} if "limit" in cfg.scaling.eval else cfg.scaling.eval,
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
        eval=replace(
            cfg.eval,
            limit=min(cfg.eval.limit or 2, 2),
            task_limits=[f"{t}=2" for t in parse_limits(cfg.eval.task_limits)],
            max_new_tokens=min(cfg.eval.max_new_tokens, 12),
        ),
        arms=arms,
        analysis_pairs=min(cfg.analysis_pairs, 16),
    )


def quick_note(before: RunConfig, after: RunConfig) -> str:
    """What ``--quick`` changed, in one line (it changes settings the user may have chosen)."""
    steps = f"{after.train.max_steps} training steps per arm"
    if any(a.allocation == "plan" for a in after.arms):
        steps += (
            f", {after.scaling.train.get('max_steps')} per scaling-pilot point"
            if after.scaling.points == "runs"
            else f", one epoch over {max(after.scaling.sizes)} pairs per scaling-pilot language"
        )
    saves = [before.train.save_steps, *(a.train.get("save_steps") for a in before.arms)]
    was = sorted({s for s in saves if s}) if any(saves) else []
    ckpt = "no checkpoints (save_steps 0" + (f", was {', '.join(map(str, was))})" if was else ")")
    return (
        f"--quick: toy sizes into {after.run_dir}: {steps}, {ckpt}, at most {after.data.max_train_pairs} pairs per "
        f"language, {after.eval.limit} items per task and language, pilot sizes {after.scaling.sizes}"
    )


def analysis_pairs_limit(cfg: RunConfig) -> int:
    """Pairs (and lens words) the look inside reads: the recipe's ``analysis_pairs``, at most the
    ``data.test_size`` held-out pairs it reads them from (what the estimate and the power line count)."""
    return min(cfg.analysis_pairs, cfg.data.test_size)


def lens_reads(cfg: RunConfig, arm: ArmConfig) -> bool:
    """Does the logit lens read ``arm`` (it always reads the base)? ``analysis_lens``: every arm, or
    the question-alignment arms only."""
    return cfg.analysis_lens == "all" or arm.builder == "qalign"


# ---------------------------------------------------------------------------------------------
# The scaling pilot's points: plain runs of one language and size


def _overridden(cls: type, section: Any, extra: dict[str, Any], where: str) -> Any:
    """``section`` with the ``scaling.train`` / ``scaling.data`` / ``scaling.eval`` overrides on top
    (unknown keys are an error)."""
    if not extra:
        return section
    return build(cls, {**dataclasses.asdict(section), **extra}, {}, Path(f"<{where}>"), f"{where}.", CHECKS)


def pilot_recipes(cfg: RunConfig, pool: Path | None = None) -> list[RunConfig]:
    """The grid's run recipes, languages outer: one per language and size, sizes ascending
    (``scaling.points: runs``), or one per language whose model is kept at every size (``snapshots``).

    A point is an ordinary plain run: CoIT on one language, ``max_train_pairs`` = its size, the
    recipe's ``train`` and ``data`` with ``scaling.train`` / ``scaling.data`` on top, scored on
    its held-out English→X pairs only, with ``scaling.eval`` on top (no baseline, no suite, no judge, no
    look inside). A snapshot run trains over the largest size at a constant learning rate for one epoch
    and keeps its model as it has seen each size (``train.keep_at_examples``), each scored the same way.
    ``pool``: the run's frozen pool, which every point then reads (``data.pool``) instead of the
    sources (without it, each point freezes its own).
    """
    s = cfg.scaling
    codes = [langs.normalize(c) for c in (s.languages or cfg.data.languages)]
    snapshots = s.points == "snapshots"
    train0 = replace(cfg.train, lr_scheduler_type="constant", warmup_steps=0) if snapshots else cfg.train
    train = _overridden(TrainConfig, train0, s.train, "scaling.train")
    if snapshots:
        train = replace(train, keep_at_examples=sorted(s.sizes))
    data0 = _overridden(DataConfig, cfg.data, s.data, "scaling.data")
    point_eval = _overridden(EvalConfig, replace(cfg.eval, heldout="from_en"), s.eval, "scaling.eval")
    point_eval = replace(point_eval, baseline=False, suite=[])
    base = {"seed": cfg.seed, "model": cfg.model, "train": train, "translate": cfg.translate}
    out = []
    for code in codes:
        for size in [max(s.sizes)] if snapshots else sorted(s.sizes):
            data = replace(
                data0,
                builder="coit",
                languages=[code],
                max_train_pairs=size,
                allocation="uniform",
                pair_budget=None,
                pool=str(pool) if pool is not None else data0.pool,
            )
            out.append(
                RunConfig(
                    name=code if snapshots else f"{code}-{size}",
                    runs_dir=str(cfg.run_dir / "points"),
                    data=data,
                    eval=point_eval,
                    **base,
                )
            )
    return out


def point_labels(recipe: RunConfig) -> dict[str, Any]:
    """What a pilot point stands for: ``{"lang": "es", "size": 100}`` (a snapshot run: its largest size;
    its sizes are ``train.keep_at_examples``)."""
    return {"lang": recipe.data.languages[0], "size": recipe.data.max_train_pairs}


def check_pilot(cfg: RunConfig, recipes: list[RunConfig]) -> None:
    """Refuse, before any work, similarity for a language outside the grid (``recipes``:
    :func:`pilot_recipes`) and too few sizes for the form."""
    s = cfg.scaling
    similarity = {langs.normalize(k) for k in s.similarity_map()}
    unknown = sorted(similarity - {point_labels(r)["lang"] for r in recipes})
    if unknown:
        raise InputError(f"scaling.similarity names {', '.join(unknown)}, which the grid does not have")
    if s.fit == "shared" and s.form not in ("auto", "xllama"):
        raise InputError(f"scaling.fit: shared fits the xllama form; scaling.form is {s.form}")
    if s.points == "snapshots":
        check_snapshots(s, recipes[0])
    k_min = min(len(v) for v in PARAMS.values()) if s.form == "auto" else len(PARAMS[s.form])
    if len(s.sizes) < k_min:
        raise InputError(f"scaling.sizes has {len(s.sizes)} sizes; the {s.form} form needs at least {k_min}")


def check_snapshots(s: Any, recipe: RunConfig) -> None:
    """Refuse a snapshot pilot whose kept models would not be runs of their sizes: a decaying schedule,
    more or less than one epoch, both directions or instructions in the data (then N examples are not N
    pairs), a size that is not a multiple of the global batch."""
    t, d = recipe.train, recipe.data
    batch = t.per_device_train_batch_size * t.gradient_accumulation_steps * s.nproc
    why = []
    if t.lr_scheduler_type != "constant" or t.warmup_steps:
        why.append(f"a constant rate, no warmup (scaling.train: {t.lr_scheduler_type}, warmup {t.warmup_steps})")
    if t.max_steps > 0 or t.num_train_epochs != 1:
        why.append("one epoch (scaling.train: max_steps -1, num_train_epochs 1)")
    if d.direction == "both" or d.instructions:
        why.append("one direction and no instructions (scaling.data: direction en-x, instructions [])")
    off = [n for n in s.sizes if n % batch]
    if off:
        why.append(f"sizes that are multiples of the global batch {batch} ({', '.join(map(str, off))} are not)")
    if why:
        raise InputError("scaling.points: snapshots needs " + "; ".join(why))
