"""Experiment tracking: ``report_to`` TensorBoard, MLflow and Weights & Biases, as Hugging Face's Trainer does.

One :class:`Tracker` fans every call out to the backends a recipe names (``train.report_to: [mlflow,
wandb]``). Training logs the resolved recipe as parameters and per-step loss, learning rate, gradient
norm and tokens/s; ``polyalign run`` adds one more tracked run at its end with every model's evaluation
results, each claim's effect, interval and verdict, and the report, its figures and ``summary.json``
as artefacts (:func:`polyalign.stages.track_results`).

Where the records go, unless the standard environment variables say otherwise:

* TensorBoard: ``<folder>/runs``.
* MLflow: ``MLFLOW_TRACKING_URI``, else a SQLite store in the run directory (``mlflow.db``, artefacts in
  ``mlartifacts/``); the experiment is ``MLFLOW_EXPERIMENT_NAME``, else the run's name.
* wandb: ``WANDB_PROJECT`` (default ``polyalign``), grouped by the run's name; with no ``WANDB_API_KEY``
  and no ``WANDB_MODE`` it logs offline into ``<folder>/wandb`` (``wandb sync`` uploads it later) rather
  than asking for a login. Keys are read by wandb itself from the environment; polyalign never logs them.

A resumed job continues the tracked runs it started (their ids are kept in ``<folder>/tracking.json``).
Light at import: each backend is imported when asked for, and a missing one is one line naming its extra.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from polyalign.io import InputError, log, read_json, write_json

BACKENDS = ("tensorboard", "mlflow", "wandb")
IDS = "tracking.json"


def _need(module: str, backend: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"report_to={backend} needs {extra}: pip install 'polyalign[{backend}]'") from None


def flat_params(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train.learning_rate": "0.001", ...}``: a nested recipe as tracker parameters (strings).

    >>> flat_params({"seed": 0, "train": {"learning_rate": 0.001, "target": ["q", "v"]}})
    {'seed': '0', 'train.learning_rate': '0.001', 'train.target': 'q,v'}
    """
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat_params(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return out


class _TensorBoard:
    def __init__(self, folder: Path, name: str, group: str, params: dict[str, str], resume: dict, start: int):
        tb = _need("torch.utils.tensorboard", "tensorboard", "TensorBoard")
        self.writer = tb.SummaryWriter(str(folder / "runs"), purge_step=start + 1 if start else None)
        if params and not start:
            self.writer.add_text("params", "\n".join(f"    {k} = {v}" for k, v in sorted(params.items())))
        self.id = None

    def metrics(self, values: dict[str, float], step: int | None) -> None:
        for key, v in values.items():
            self.writer.add_scalar(key, v, step)

    def summary(self, values: dict[str, str]) -> None:
        for key, v in values.items():
            self.writer.add_text(key, v)

    def artifact(self, path: Path) -> None:  # TensorBoard keeps no files; the run directory has them
        pass

    def close(self) -> None:
        self.writer.close()


class _MLflow:
    def __init__(self, folder: Path, name: str, group: str, params: dict[str, str], resume: dict, start: int):
        mlflow = _need("mlflow", "mlflow", "MLflow")
        for noisy in ("mlflow", "alembic"):  # a clean terminal: its INFO lines are not polyalign's progress
            logging.getLogger(noisy).setLevel(logging.WARNING)
        root = Path(os.environ.get("POLYALIGN_TRACKING_DIR") or folder)
        uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / 'mlflow.db').resolve()}"
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or group
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            location = None if os.environ.get("MLFLOW_TRACKING_URI") else (root / "mlartifacts").resolve().as_uri()
            exp_id = self.client.create_experiment(experiment, artifact_location=location)
        else:
            exp_id = found.experiment_id
        if resume.get("mlflow"):
            self.id = resume["mlflow"]
        else:
            self.id = self.client.create_run(exp_id, run_name=name).info.run_id
            for k, v in params.items():
                self.client.log_param(self.id, k, v[:6000])
        self.uri = uri

    def metrics(self, values: dict[str, float], step: int | None) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.id, metrics=[Metric(k, float(v), now, step or 0) for k, v in values.items()])

    def summary(self, values: dict[str, str]) -> None:
        for k, v in values.items():
            self.client.set_tag(self.id, k, v[:5000])

    def artifact(self, path: Path) -> None:
        self.client.log_artifact(self.id, str(path))

    def close(self) -> None:
        self.client.set_terminated(self.id)


class _Wandb:
    def __init__(self, folder: Path, name: str, group: str, params: dict[str, str], resume: dict, start: int):
        wandb = _need("wandb", "wandb", "Weights & Biases")
        root = Path(os.environ.get("POLYALIGN_TRACKING_DIR") or folder)
        mode = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
        if mode == "offline" and not os.environ.get("WANDB_MODE") and not resume.get("wandb"):
            log(f"wandb: no WANDB_API_KEY: logging offline into {root / 'wandb'} (`wandb sync` uploads it)")
        root.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or "polyalign",
            name=name,
            group=group,
            dir=str(root),
            mode=mode,
            config=params,
            id=resume.get("wandb"),
            resume="allow" if resume.get("wandb") else None,
            settings=wandb.Settings(silent=True, console="off"),
        )
        self.id = self.run.id
        self.wandb = wandb

    def metrics(self, values: dict[str, float], step: int | None) -> None:
        self.run.log(values, step=step)

    def summary(self, values: dict[str, str]) -> None:
        for k, v in values.items():
            self.run.summary[k] = v

    def artifact(self, path: Path) -> None:
        art = self.wandb.Artifact(path.stem.replace(".", "-") or "file", type="polyalign")
        art.add_file(str(path))
        self.run.log_artifact(art)

    def close(self) -> None:
        self.run.finish()


OPEN = {"tensorboard": _TensorBoard, "mlflow": _MLflow, "wandb": _Wandb}


class Tracker:
    """Every backend in ``report_to`` as one: ``metrics``, ``summary`` (text), ``artifact``, ``close``.

    ``folder`` is the job's own folder (its ids go to ``folder/tracking.json``); ``name`` the tracked
    run's name, ``group`` the experiment it belongs to; ``start`` > 0 continues a resumed job's runs.
    """

    def __init__(
        self,
        report_to: list[str] | tuple[str, ...],
        folder: str | Path,
        name: str,
        group: str,
        params: dict[str, Any] | None = None,
        start: int = 0,
    ):
        self.folder = Path(folder)
        wanted = [b for b in report_to if b != "none"]
        ids_path = self.folder / IDS
        resume = read_json(ids_path) if start and ids_path.is_file() else {}
        flat = flat_params(params or {})
        self.backends = {b: OPEN[b](self.folder, name, group, flat, resume, start) for b in wanted}
        ids = {b: t.id for b, t in self.backends.items() if t.id}
        if ids:
            write_json(ids_path, ids)

    def __bool__(self) -> bool:
        return bool(self.backends)

    def metrics(self, values: dict[str, float | None], step: int | None = None) -> None:
        clean = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and v == v}
        if clean:
            for t in self.backends.values():
                t.metrics(clean, step)

    def summary(self, values: dict[str, str]) -> None:
        for t in self.backends.values():
            t.summary(values)

    def artifact(self, path: str | Path) -> None:
        if Path(path).is_file():
            for t in self.backends.values():
                t.artifact(Path(path))

    def close(self) -> None:
        for t in self.backends.values():
            t.close()


def track_into(run_dir: str | Path, report_to: list[str] | tuple[str, ...]) -> None:
    """Make every job of a run (arms, pilot points; in this process or launched from it) track into
    the run directory's stores, as one experiment named after the run."""
    if [b for b in report_to if b != "none"]:
        os.environ["POLYALIGN_TRACKING_DIR"] = str(Path(run_dir).resolve())


def ids_of(folder: str | Path) -> dict[str, str]:
    """The tracked-run ids a job kept (``{}`` when it tracked nothing)."""
    path = Path(folder) / IDS
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
