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
:func:`check_trackers` finds, before any work, what would stop a backend from starting (a missing
package, an unreachable tracking server, a store MLflow refuses); an error a backend raises when it
starts anyway is one line too, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from polyalign.io import InputError, log, read_json, write_json

BACKENDS = ("tensorboard", "mlflow", "wandb")
IDS = "tracking.json"
ENV = "<environment>"  # where a bad tracking variable is reported: ``error: <environment>: VAR=value: ...``
TIMEOUT = 5  # seconds a check waits for a tracking server before calling it unreachable
WANDB_MODES = {"online": True, "run": True, "shared": True, "offline": False, "dryrun": False, "disabled": False}


def _need(module: str, backend: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"report_to={backend} needs {extra}: pip install 'polyalign[{backend}]'") from None


def check_trackers(report_to: list[str] | tuple[str, ...]) -> None:
    """Before any work: every backend of ``report_to`` imports, and the store it will write to answers.

    Raises the one-line :class:`InputError` a user sees (``error: <environment>:
    MLFLOW_TRACKING_URI=http://...: nothing answers there ...``, exit 2) for a missing package, a
    tracking server that does not answer within ``TIMEOUT`` seconds, or a store MLflow refuses (its
    file store, in maintenance mode since MLflow 3). Writes nothing of polyalign's; an MLflow store
    named by ``MLFLOW_TRACKING_URI`` may be created, as the run would create it. Run it where the
    tracking will happen (rank 0).
    """
    for backend in dict.fromkeys(b for b in report_to if b != "none"):
        CHECK[backend]()


def _check_tensorboard() -> None:
    _need("torch.utils.tensorboard", "tensorboard", "TensorBoard")


def _check_mlflow() -> None:
    mlflow = _need("mlflow", "mlflow", "MLflow")
    from mlflow.exceptions import MlflowException

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:  # the run folder's own SQLite store, made when tracking starts
        return
    if urlsplit(uri).scheme in ("http", "https"):
        what = f"MLFLOW_TRACKING_URI={_shown(uri)}"
        _reach(uri, what, "start the server (mlflow server --port N), or unset MLFLOW_TRACKING_URI")
    # One try with a short timeout: the client's own retries would wait minutes on a server that went away.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(TIMEOUT))
    try:
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except MlflowException as e:
        raise _mlflow_error(e) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_wandb() -> None:
    _need("wandb", "wandb", "Weights & Biases")
    mode = os.environ.get("WANDB_MODE")
    if mode and mode not in WANDB_MODES:
        raise InputError(f"WANDB_MODE={mode}: expected one of {', '.join(WANDB_MODES)}", ENV)
    if WANDB_MODES.get(mode or "", bool(os.environ.get("WANDB_API_KEY"))):
        base = os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"
        what = f"WANDB_BASE_URL={_shown(base)}" if os.environ.get("WANDB_BASE_URL") else f"wandb online ({base})"
        _reach(base, what, "check the network, or set WANDB_MODE=offline (`wandb sync` uploads the run later)")


CHECK = {"tensorboard": _check_tensorboard, "mlflow": _check_mlflow, "wandb": _check_wandb}


def _reach(url: str, what: str, advice: str) -> None:
    """A server answers at ``url`` (any HTTP status, or a TLS handshake the backend's client judges itself)."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    parts = urlsplit(url)  # urllib takes no user:password@ in a URL; reaching the host needs none
    try:
        urllib.request.urlopen(parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl(), timeout=TIMEOUT).close()
    except urllib.error.HTTPError:  # it answered: the backend's own call says whether it is the right server
        return
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ssl.SSLError):  # something listens; certificates are the backend's business
            return
        if isinstance(reason, TimeoutError):
            why = f"no answer within {TIMEOUT} s"
        else:
            why = f"nothing answers there ({getattr(reason, 'strerror', None) or reason or type(reason).__name__})"
        raise InputError(f"{what}: {why}: {advice}", ENV) from None


def _shown(url: str) -> str:
    """``url`` without a password it may carry (``http://me:***@host``): error lines get copied into issues.

    >>> _shown("https://me:s3cret@mlflow.example.org/x")
    'https://me:***@mlflow.example.org/x'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}").geturl()


def _oneline(err: BaseException, limit: int = 300) -> str:
    """A library's message, as one line of at most ``limit`` characters."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _mlflow_error(err: Exception, store: str | None = None) -> InputError:
    """The one line for an error MLflow raised on the store ``MLFLOW_TRACKING_URI`` names (or ``store``)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if "MLFLOW_ALLOW_FILE_STORE" in str(err):
        why = (
            "MLflow refuses a file store (in maintenance mode since MLflow 3): set "
            "MLFLOW_TRACKING_URI=sqlite:///PATH/mlflow.db, or unset it (a SQLite store in the run folder), "
            "or set MLFLOW_ALLOW_FILE_STORE=true"
        )
    else:
        why = f"MLflow cannot use it: {_oneline(err)}"
        if uri:
            why = why.replace(uri, _shown(uri))
    if uri:
        return InputError(f"MLFLOW_TRACKING_URI={_shown(uri)}: {why}", ENV)
    return InputError(f"report_to=mlflow: {why}", store)


def _start_error(backend: str, err: Exception, folder: Path) -> InputError | None:
    """The one line for a backend's own error when it starts; ``None`` for any other (a bug: its traceback)."""
    if backend == "mlflow":
        from mlflow.exceptions import MlflowException

        if isinstance(err, MlflowException):
            root = Path(os.environ.get("POLYALIGN_TRACKING_DIR") or folder)
            return _mlflow_error(err, str(root / "mlflow.db"))
    if backend == "wandb":
        import wandb

        if isinstance(err, (wandb.errors.Error, ValueError)):  # ValueError: a setting its pydantic refused
            return InputError(f"report_to=wandb: wandb did not start: {_oneline(err)}")
    return None


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
        self.backends: dict[str, Any] = {}
        for b in wanted:
            try:
                self.backends[b] = OPEN[b](self.folder, name, group, flat, resume, start)
            except Exception as e:
                failed = e if isinstance(e, InputError) else _start_error(b, e, self.folder)
                if failed is None:
                    raise
                self.close()  # the ones already started
                raise failed from None
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
