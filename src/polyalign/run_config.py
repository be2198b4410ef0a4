"""The run recipe: :class:`RunConfig`, every section of ``polyalign run``, with the experiment's own
sections (arms, the scaling pilot and its launcher, the judge) and :class:`PilotConfig`.

The sections a single job reads (model, data, train, eval, translate) are in :mod:`polyalign.config`;
:mod:`polyalign.recipe` reads YAML and ``key=value`` overrides into these. Checks live in each
class's ``__post_init__``. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from polyalign.config import DataConfig, EvalConfig, ModelConfig, TrainConfig, TranslateConfig, check_langs


@dataclass
class ArmConfig:
    """One arm of an experiment: a data + training variant of the run's base model."""

    name: str = ""
    """Arm name; its outputs go to ``runs/<run>/arms/<name>``."""
    builder: Literal["coit", "muit", "qalign"] = "coit"
    """Data: ``coit`` (one language), ``muit`` (several, one budget) or ``qalign`` (questions, no answers)."""
    languages: list[str] = field(default_factory=list)
    """Languages the arm is tuned on."""
    allocation: Literal["uniform", "proportional", "plan"] = "uniform"
    """MuIT pairs per language; ``plan``: the run's ``plan`` file (or the scaling pilot's ``scaling/plan.json``)."""
    pair_budget: int | None = None
    """MuIT total of training pairs over the arm's languages; ``null``: ``data.max_train_pairs`` each."""
    train: dict = field(default_factory=dict)
    """Training settings that differ from the recipe's ``train`` section (e.g. ``{max_steps: 60}``)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name or ""):
            raise ValueError(f"arm name {self.name!r} must be letters, digits, '.', '_' or '-'")
        if not self.languages:
            raise ValueError(f"arm {self.name!r} names no languages")
        if self.builder == "coit" and len(self.languages) != 1:
            raise ValueError(f"arm {self.name!r}: builder 'coit' tunes one language (use muit for several)")
        check_langs(self.languages, f"arms.{self.name}.languages")


@dataclass
class ScalingConfig:
    """The scaling pilot's grid, the law fitted to it and the budget planned from it."""

    languages: list[str] = field(default_factory=list)
    """Languages of the grid; empty: ``data.languages``."""
    sizes: list[int] = field(default_factory=lambda: [100, 200, 400, 800])
    """Parallel training pairs per point (nested: each smaller set is inside the larger)."""
    points: Literal["runs", "snapshots"] = "runs"
    """``runs``: each (language, size) point is its own run over its nested pairs; ``snapshots``: one run per
    language over the largest size, one epoch at a constant learning rate, its model kept as it has seen each
    size's pairs (each size a multiple of the pilot's global batch; one direction, no instructions)."""
    form: Literal["auto", "xllama", "power", "log"] = "auto"
    """Law to fit; ``auto`` picks per language by AICc where it is defined (n ≥ k + 3), else says what it took."""
    fit: Literal["per_language", "shared"] = "per_language"
    """``per_language``: a law per language (γ absorbed into α); ``shared``: the xllama form with one α, β
    for every language and γ per language (``similarity`` where given, else fitted)."""
    similarity: list[str] = field(default_factory=list)
    """γ of the ``xllama`` form per language, as ``LANG=VALUE`` (1 for a language not named)."""
    bootstrap: int = 1000
    """Bootstrap resamples for the 95% intervals (0: none)."""
    budget: int | None = None
    """Pairs to split across the languages in ``plan.json``; ``null``: the largest size × languages."""
    min_per_lang: int = 1
    """Fewest pairs the plan gives any language."""
    train: dict = field(default_factory=dict)
    """Training settings of every pilot point that differ from the recipe's ``train`` (e.g. ``{max_steps: 8}``)."""
    data: dict = field(default_factory=dict)
    """Data settings of every pilot point that differ from the recipe's ``data`` (e.g. ``{instructions: []}``)."""
    eval: dict = field(default_factory=dict)
    """Evaluation settings of every pilot point that differ from the recipe's ``eval`` (e.g. ``{limit: 40}``:
    held-out items per point). A point is scored on its held-out English→X pairs only (what the law
    reads; ``{heldout: both}`` adds X→English), with no baseline and no suite."""
    launcher: Literal["local", "slurm"] = "local"
    """``local``: grid points (pilot points and a run's experiment arms) one after another in this process;
    ``slurm``: one job per point through submitit."""
    nproc: int = 1
    """Processes per point: more than 1 trains each point under torchrun (DDP, or FSDP2 with train.strategy)."""
    cluster: Literal["auto", "slurm", "local"] = "auto"
    """submitit's executor for ``launcher: slurm``: ``auto`` finds Slurm, ``local`` runs the jobs as
    local processes (for trying the path on one machine)."""
    slurm_partition: str | None = None
    """Slurm partition (``--partition``); ``null``: the cluster's default."""
    timeout_min: int = 120
    """Time limit of each point's job, in minutes."""
    gpus_per_node: int = 0
    """GPUs per point's job (set it to ``nproc`` for multi-GPU points)."""
    cpus_per_task: int = 8
    """CPU cores per point's job."""
    mem_gb: int | None = None
    """Memory per point's job; ``null``: the cluster's default."""

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError("scaling.sizes must name at least one size, each at least 1")
        if len(set(self.sizes)) != len(self.sizes):
            raise ValueError("scaling.sizes has a size twice")
        if self.nproc < 1 or self.min_per_lang < 1 or self.bootstrap < 0:
            raise ValueError("need scaling.nproc >= 1, scaling.min_per_lang >= 1 and scaling.bootstrap >= 0")
        if self.budget is not None and not 1 <= self.budget <= 10**15:  # checked before the pilot trains
            raise ValueError(f"scaling.budget must be between 1 and 10^15 parallel pairs, got {self.budget}")
        for item in self.similarity:
            lang, sep, value = item.partition("=")
            try:
                ok = bool(sep and lang.strip()) and float(value) > 0
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"scaling.similarity item {item!r} must be LANG=VALUE with VALUE > 0")
        check_langs(self.languages, "scaling.languages")
        check_langs([k for k in self.similarity_map()], "scaling.similarity")

    def similarity_map(self) -> dict[str, float]:
        return {k.strip(): float(v) for k, _, v in (s.partition("=") for s in self.similarity)}


@dataclass
class JudgeConfig:
    """The pairwise LLM judge of each arm against the base (MI-Eval style) on polyinstruct's test items."""

    endpoint: str | None = None
    """Base URL of an OpenAI-compatible server (``http://127.0.0.1:8000/v1``); ``null``: the judge is not run."""
    model: str = ""
    """Model name the endpoint serves."""
    api_key_env: str | None = None
    """NAME of the environment variable holding the API key (the key itself never goes in a recipe)."""
    languages: list[str] = field(default_factory=lambda: ["es", "zh"])
    """polyinstruct languages whose test items are answered by the base and each arm, then judged."""
    limit: int = 8
    """Items per language."""
    max_new_tokens: int = 96
    """Longest answer, in tokens."""
    timeout: float = 60.0
    """Seconds to wait for one judge reply."""

    def __post_init__(self) -> None:
        if self.endpoint and not self.model:
            raise ValueError("judge.endpoint needs judge.model (the model name the endpoint serves)")
        if self.limit < 1:
            raise ValueError("judge.limit must be at least 1")
        check_langs(self.languages, "judge.languages")


@dataclass
class RunConfig:
    name: str = "default"
    """Run name; the run directory is ``runs_dir/name``."""
    runs_dir: str = "runs"
    """The folder that holds run directories (``output_dir`` elsewhere in polyalign always names the
    folder a job writes into: ``polyalign train``'s training output)."""
    seed: int = 0
    """Seed for data order, initialisation and sampling."""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    arms: list[ArmConfig] = field(default_factory=list)
    """Experiment arms, each tuned from the base and evaluated by the same suite as the untuned base
    (``eval/base/``, ``arms/<arm>/``). Empty: one tuned model in the run directory root, as before."""
    plan: str | None = None
    """Budget plan file (``{"allocation": {LANG: PAIRS}}``) for arms with ``allocation: plan``;
    ``null``: the run's own ``scaling/plan.json`` (written by the scaling pilot)."""
    analysis_language: str | None = None
    """The look inside for this language: alignment by layer (the base and every tuned arm) and the
    logit lens (the base and the arms ``analysis_lens`` names); ``null``: not run."""
    analysis_lens: Literal["qalign", "all"] = "qalign"
    """Which arms the logit lens reads beside the base: ``qalign``, the question-alignment arms (the
    paper the lens comes from reads it there, and no claim reads it elsewhere: on 2 CPU cores it is
    14 s a model); ``all``, every arm."""
    analysis_pairs: int = 64
    """Held-out En-X pairs the look inside reads (the first ones of ``data/test_en-X.jsonl``, the
    same for the base and every arm, so its claim is paired by pair), and words the logit lens
    reads. At most the held-out set's size (``data.test_size``); the real-scale recipes read
    1,000 or more, so that an interval over pairs decides the alignment claim."""
    scaling: ScalingConfig = field(default_factory=ScalingConfig)
    """The scaling pilot (``polyalign scaling pilot``; in ``polyalign run``, before the arms when an
    arm has ``allocation: plan`` and no ``plan`` is given) and the launcher of grid points."""
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    """The pairwise judge of every arm against the base; off without ``judge.endpoint``."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
            raise ValueError("name must be letters, digits, '.', '_' or '-'")
        names = [a.name for a in self.arms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"arms: two arms share the name {', '.join(twice)}")
        if self.analysis_language:
            check_langs([self.analysis_language], "analysis_language")
        if self.analysis_pairs < 2:
            raise ValueError("analysis_pairs must be at least 2 (a mismatched pair needs two)")
        if self.seed < 0:
            raise ValueError(
                f"seed must be at least 0 (numpy's and torch's generators take no negative seed), got {self.seed}"
            )

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name

    @property
    def pool_path(self) -> Path:
        """The frozen pool every build of this run reads: ``data.pool``, else the run's own ``data/pool``."""
        return Path(self.data.pool) if self.data.pool else self.run_dir / "data" / "pool"


@dataclass
class PilotConfig(RunConfig):
    """What ``polyalign scaling pilot`` reads: a run recipe whose ``scaling`` section it runs."""
