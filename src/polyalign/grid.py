"""A grid of runs — scaling-pilot points, experiment arms — and its launcher: local or submitit.

Each point is a complete run recipe with its own run directory and the function that runs it (the
pilot's points :func:`polyalign.stages.run_plain`, an experiment's arms
:func:`polyalign.experiment.run_arm`; the grid imports neither), which skips finished stages and
resumes training from the latest checkpoint. So a grid resumes for free: a point with a
``summary.json`` is finished and never run again, a point killed mid-training restarts from its
checkpoint.

* ``local``: one point after another in this process.
* ``slurm``: one job per point through submitit (``AutoExecutor``; ``cluster="local"`` runs the
  jobs as local processes, to try the path on one machine). Jobs run at once, as the cluster allows.

With ``nproc`` > 1 a point's training runs under torchrun, through the same training job as
``polyalign train --nproc``. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyalign.io import InputError, read_json
from polyalign.io import log as io_log
from polyalign.run_config import RunConfig

Launcher = Literal["local", "slurm"]


@dataclass
class GridPoint:
    """One run of a grid: its recipe, the labels it stands for (``{"lang": "es", "size": 100}``) and
    what runs it: ``run(*args, nproc=N)``, a module-level function (picklable, so a submitit job can
    call it) that leaves the point's ``summary.json``. The grid knows nothing of what it launches."""

    config: RunConfig
    run: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def summary_path(self) -> Path:
        return self.config.run_dir / "summary.json"

    @property
    def done(self) -> bool:
        return self.summary_path.is_file()


def execute_point(point: GridPoint, nproc: int = 1) -> dict[str, Any]:
    """Run one point to its ``summary.json`` (the same call in this process or in a cluster job);
    with ``nproc`` > 1 its training runs under torchrun through the one training job.

    A process started in the background by a shell without job control inherits SIGINT ignored, and
    a submitit local job cancels with SIGINT: the point restores Python's handler so that a cancel
    stops it (else the "cancelled" job trains on to the end)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return point.run(*point.args, nproc=nproc)


def executor_params(scaling: Any) -> dict[str, Any]:
    """submitit parameters from a recipe's ``scaling`` section (its launcher settings)."""
    return {
        "timeout_min": scaling.timeout_min,
        "slurm_partition": scaling.slurm_partition,
        "gpus_per_node": scaling.gpus_per_node,
        "cpus_per_task": scaling.cpus_per_task,
        "mem_gb": scaling.mem_gb,
    }


def choose_executor(launcher: str, cluster: str = "auto") -> tuple[str, str]:
    """Which executor runs a grid, and why: ``("local", ...)`` (in this process), ``("slurm", ...)`` or
    ``("submitit-local", ...)``. ``launcher: slurm`` with no Slurm here (no ``sbatch`` on the PATH) is
    refused before any work, never run quietly on this machine instead."""
    import shutil

    if launcher == "local":
        return "local", "scaling.launcher: local: one point after another in this process"
    if cluster == "local":
        return "submitit-local", "scaling.cluster: local: one submitit job per point, as processes on this machine"
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise InputError(
            f"scaling.launcher: slurm (scaling.cluster: {cluster}), but there is no Slurm here (no sbatch on the "
            "PATH): set scaling.launcher=local, or scaling.cluster=local to run the jobs as local processes"
        )
    return "slurm", f"scaling.launcher: slurm: one Slurm job per point (sbatch: {sbatch})"


def run_grid(
    points: list[GridPoint],
    launcher: Launcher = "local",
    *,
    nproc: int = 1,
    folder: Path | None = None,
    executor: dict[str, Any] | None = None,
    cluster: str = "auto",
    log: Callable[[str], None] = io_log,
    what: str = "point",
) -> dict[str, dict[str, Any]]:
    """Run every unfinished point; return ``{name: summary}`` of every point.

    ``executor``: submitit parameters for ``slurm`` (``timeout_min``, ``slurm_partition``,
    ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``...); ``folder``: where submitit keeps its
    job files and logs. ``what`` names a point in the log lines (``point 1/9``, ``arm 1/6``).
    """
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise InputError("two grid points share a name: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    n = len(points)
    todo = []
    for i, p in enumerate(points, 1):
        if p.done:
            log(f"{what} {i}/{n}: {p.name}: done")
        else:
            todo.append((i, p))
    kind, why = choose_executor(launcher, cluster)
    if todo:
        log(f"launcher: {why}")
    if kind == "local":
        for i, p in todo:
            log(f"{what} {i}/{n}: {p.name}: running")
            execute_point(p, nproc)
            log(f"{what} {i}/{n}: {p.name}: done")
    elif todo:
        _submit(todo, n, nproc, folder or Path("submitit"), executor or {}, kind, log, what)
    return {p.name: read_json(p.summary_path) for p in points}


def _submit(
    todo: list[tuple[int, GridPoint]],
    n: int,
    nproc: int,
    folder: Path,
    params: dict[str, Any],
    kind: str,
    log: Callable[[str], None],
    what: str = "point",
) -> None:
    try:
        import submitit
    except ImportError:
        raise InputError("launcher: slurm needs submitit: pip install 'polyalign[cluster]'") from None
    ex = submitit.AutoExecutor(folder=folder, cluster="local" if kind == "submitit-local" else "slurm")
    params = {k: v for k, v in params.items() if v is not None}
    if ex.cluster != "slurm":  # the slurm_* keys mean nothing to other executors
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    ex.update_parameters(name="polyalign-grid", tasks_per_node=1, nodes=1, **params)
    job_word = "Slurm job" if ex.cluster == "slurm" else "local process"
    jobs: list[tuple[int, GridPoint, Any]] = []
    failed = []
    with _stop_on_sigterm():
        try:
            quiet = ex.cluster == "local"  # a local job's controller would write on this terminal
            for i, p in todo:
                with _child_stderr(folder / "local_controllers.log") if quiet else contextlib.nullcontext():
                    job = ex.submit(execute_point, p, nproc)
                log(f"{what} {i}/{n}: {p.name}: submitted as {job_word} {job.job_id}")
                jobs.append((i, p, job))
            for i, p, job in jobs:
                try:
                    job.result()
                    log(f"{what} {i}/{n}: {p.name}: done")
                except Exception as e:  # a failed job is reported by name; the others still finish
                    failed.append(p.name)
                    log(
                        f"{what} {i}/{n}: {p.name}: job {job.job_id} failed: "
                        f"{str(e).strip().splitlines()[-1] if str(e).strip() else e}"
                    )
        except BaseException:  # Ctrl-C or SIGTERM: the jobs this command started stop with it
            cancelled = _cancel([job for _, _, job in jobs])
            if cancelled:
                log(f"stopped: cancelled {len(cancelled)} {job_word}(es) ({', '.join(cancelled)})")
            raise
    if failed:
        raise InputError(
            f"{len(failed)} of {len(jobs)} grid jobs failed ({', '.join(failed)}); their logs are under "
            f"{folder}; run the same command again to resume them"
        )


def _cancel(jobs: list[Any]) -> list[str]:
    """Cancel every unfinished job; wait (briefly) for local ones to end. The ids of those cancelled."""
    cancelled = []
    for job in jobs:
        if job.done():
            continue
        job.cancel(check=False)
        cancelled.append(str(job.job_id))
    for job in jobs:
        process = getattr(job, "_process", None)  # a local job: its controller process
        if process is not None:
            try:
                process.wait(timeout=15)
            except Exception:  # it ignored the cancel: kill it, and reap it so it is gone when we return
                process.kill()
                process.wait(timeout=15)
    return cancelled


@contextlib.contextmanager
def _child_stderr(path: Path) -> Iterator[None]:
    """Processes started inside write their stderr to ``path``, not to this terminal: a local submitit
    job's controller inherits it, and a cancel (SIGINT) made it print a ``KeyboardInterrupt`` traceback
    there. The job's own output goes to its log files as before."""
    sys.stderr.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    try:
        with open(path, "ab") as f:
            os.dup2(f.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM to this process raises ``KeyboardInterrupt`` while jobs run, so they are cancelled too."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
