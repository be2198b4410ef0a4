"""``polyalign train report_to=...`` with a tracker that cannot start: one line, exit 2, before any work.

Each case would otherwise load the model and write ``output_dir`` first, then end in a traceback (an
MLflow file store), hang on retries (a tracking server that is not there) or fail late (a missing package).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _file_store(tmp_path):
    pytest.importorskip("mlflow")
    uri = (tmp_path / "mlstore").as_uri()
    return "mlflow", {"MLFLOW_TRACKING_URI": uri}, f"error: <environment>: MLFLOW_TRACKING_URI={uri}: MLflow refuses"


def _no_server(tmp_path):
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{_free_port()}"
    return "mlflow", {"MLFLOW_TRACKING_URI": uri}, f"error: <environment>: MLFLOW_TRACKING_URI={uri}: nothing answers"


def _no_wandb(tmp_path):
    shadow = tmp_path / "shadow" / "wandb"  # a wandb that cannot be imported, first on the path
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("No module named wandb (simulated)")\n')
    path = os.pathsep.join(p for p in (str(shadow.parent), os.environ.get("PYTHONPATH")) if p)
    return (
        "wandb",
        {"PYTHONPATH": path},
        "error: report_to=wandb needs Weights & Biases: pip install 'polyalign[wandb]'",
    )


@pytest.mark.parametrize("case", [_file_store, _no_server, _no_wandb], ids=["file-store", "no-server", "no-wandb"])
def test_a_tracker_that_cannot_start_is_one_line_before_any_work(tmp_path, tiny_model_dir, case):
    backend, extra, line = case(tmp_path)
    data = tmp_path / "es.jsonl"
    data.write_text(
        "".join(f'{{"instruction": "Translate.", "input": "file {i}", "output": "archivo {i}"}}\n' for i in range(8)),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_", "POLYALIGN_TRACKING"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "polyalign",
            "train",
            f"model_name_or_path={tiny_model_dir}",
            f"train_file={data}",
            f"output_dir={out}",
            "max_steps=2",
            "per_device_train_batch_size=2",
            "max_seq_length=128",
            f"report_to={backend}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, **extra},
        timeout=300,  # without the check, an absent server is retried for minutes
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(line), proc.stderr[-3000:]
    assert not out.exists()  # nothing written: not even train_config.yaml


def test_run_checks_its_trackers_before_any_work(tmp_path):
    """``polyalign run`` tracks every stage: a tracker that cannot start stops it before the data stage,
    with no run folder (not even its lock) left behind."""
    backend, extra, line = _file_store(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_", "POLYALIGN_TRACKING"))}
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", "--quick", f"report_to={backend}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, **extra},
        timeout=300,
    )
    lines = [x for x in proc.stderr.strip().splitlines() if not x.startswith("[polyalign]")]  # --quick's note
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(line), proc.stderr[-3000:]
    assert not (tmp_path / "runs").exists()
