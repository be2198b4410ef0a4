"""A grid of runs — scaling-pilot points, experiment arms — and its launcher: local or submitit.

Each point is a complete run recipe with its own run directory, executed by
:func:`polyalign.run.run`, which skips finished stages and resumes training from the latest
checkpoint. So a grid resumes for free: a point with a ``summary.json`` is finished and never run
again, a point killed mid-training restarts from its checkpoint.

* ``local``: one point after another in this process.
* ``slurm``: one job per point through submitit (``AutoExecutor``; ``cluster="local"`` runs the
  jobs as local processes, to try the path on one machine). Jobs run at once, as the cluster allows.

With ``nproc`` > 1 a point's training runs under torchrun (``polyalign train --nproc``) before
the run evaluates it. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from polyalign.config import RunConfig, TrainJobConfig
from polyalign.io import InputError, atomic_write, read_json

Launcher = Literal["local", "slurm"]


@dataclass
class GridPoint:
    """One run of a grid: its recipe and the labels it stands for (``{"lang": "es", "size": 100}``)."""

    config: RunConfig
    labels: dict[str, Any] = field(default_factory=dict)
    experiment: RunConfig | None = None
    """For an experiment arm: the whole experiment's recipe (the arm is run by
    :func:`polyalign.run.run_arm`, scored on the experiment's shared tests); ``None``: a plain run."""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def summary_path(self) -> Path:
        return self.config.run_dir / "summary.json"

    @property
    def done(self) -> bool:
        return self.summary_path.is_file()


def _log(msg: str) -> None:
    print(f"[polyalign] {msg}", file=sys.stderr, flush=True)


def execute_point(cfg: RunConfig, nproc: int = 1, experiment: RunConfig | None = None) -> dict[str, Any]:
    """Run one point to its ``summary.json`` (the same call in this process or in a cluster job)."""
    from polyalign.run import run

    if experiment is not None:
        from polyalign.experiment import run_arm

        return run_arm(experiment, cfg.name, nproc)
    if nproc > 1:
        _train_distributed(cfg, nproc)
    return run(cfg)


def _train_distributed(cfg: RunConfig, nproc: int) -> None:
    """Build the point's data, then train it under torchrun into ``run_dir/train``; the run then
    finds the trained model (``run_dir/model``) and goes on to evaluation."""
    import yaml

    from polyalign.recipe import config_to_dict
    from polyalign.run import prepare_run_dir, stage_data
    from polyalign.train.distributed import launch

    run_dir = prepare_run_dir(cfg)
    stage_data(cfg, run_dir)
    if (run_dir / "train_summary.json").is_file() and (run_dir / "model").is_dir():
        return
    out = run_dir / "train"
    job = TrainJobConfig(
        train_file=str(run_dir),
        output_dir=str(out),
        seed=cfg.seed,
        model=cfg.model,
        train=replace(cfg.train, resume_from_checkpoint="latest"),
    )
    recipe = out / "job.yaml"
    with atomic_write(recipe) as f:
        f.write(yaml.safe_dump(config_to_dict(job), sort_keys=False))
    if launch(nproc, ["train", str(recipe)]) != 0:
        raise RuntimeError(f"training {cfg.name} under torchrun failed; see its output above")
    shutil.copytree(out / "model", run_dir / ".model.tmp", dirs_exist_ok=True)
    (run_dir / ".model.tmp").rename(run_dir / "model")
    shutil.copyfile(out / "train_summary.json", run_dir / "train_summary.json")


def executor_params(scaling: Any) -> dict[str, Any]:
    """submitit parameters from a recipe's ``scaling`` section (its launcher settings)."""
    return {
        "timeout_min": scaling.timeout_min,
        "slurm_partition": scaling.slurm_partition,
        "gpus_per_node": scaling.gpus_per_node,
        "cpus_per_task": scaling.cpus_per_task,
        "mem_gb": scaling.mem_gb,
    }


def run_grid(
    points: list[GridPoint],
    launcher: Launcher = "local",
    *,
    nproc: int = 1,
    folder: Path | None = None,
    executor: dict[str, Any] | None = None,
    cluster: str = "auto",
    log: Callable[[str], None] = _log,
) -> dict[str, dict[str, Any]]:
    """Run every unfinished point; return ``{name: summary}`` of every point.

    ``executor``: submitit parameters for ``slurm`` (``timeout_min``, ``slurm_partition``,
    ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``...); ``folder``: where submitit keeps its
    job files and logs.
    """
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise InputError("two grid points share a name: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    n = len(points)
    todo = []
    for i, p in enumerate(points, 1):
        if p.done:
            log(f"point {i}/{n}: {p.name}: done")
        else:
            todo.append((i, p))
    if launcher == "local":
        for i, p in todo:
            log(f"point {i}/{n}: {p.name}: running")
            execute_point(p.config, nproc, p.experiment)
            log(f"point {i}/{n}: {p.name}: done")
    elif todo:
        _submit(todo, n, nproc, folder or Path("submitit"), executor or {}, cluster, log)
    return {p.name: read_json(p.summary_path) for p in points}


def _submit(
    todo: list[tuple[int, GridPoint]],
    n: int,
    nproc: int,
    folder: Path,
    params: dict[str, Any],
    cluster: str,
    log: Callable[[str], None],
) -> None:
    try:
        import submitit
    except ImportError:
        raise InputError("launcher: slurm needs submitit: pip install 'polyalign[cluster]'") from None
    ex = submitit.AutoExecutor(folder=folder, cluster=None if cluster == "auto" else cluster)
    params = {k: v for k, v in params.items() if v is not None}
    if ex.cluster != "slurm":  # the slurm_* keys mean nothing to other executors
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    ex.update_parameters(name="polyalign-grid", tasks_per_node=1, nodes=1, **params)
    jobs = []
    for i, p in todo:
        job = ex.submit(execute_point, p.config, nproc, p.experiment)
        log(f"point {i}/{n}: {p.name}: submitted as job {job.job_id} ({ex.cluster})")
        jobs.append((i, p, job))
    failed = []
    for i, p, job in jobs:
        try:
            job.result()
            log(f"point {i}/{n}: {p.name}: done")
        except Exception as e:  # a failed job is reported by name; the others still finish
            failed.append(p.name)
            log(
                f"point {i}/{n}: {p.name}: job {job.job_id} failed: "
                f"{str(e).strip().splitlines()[-1] if str(e).strip() else e}"
            )
    if failed:
        raise InputError(
            f"{len(failed)} of {len(jobs)} grid jobs failed ({', '.join(failed)}); their logs are under "
            f"{folder}; run the same command again to resume them"
        )
