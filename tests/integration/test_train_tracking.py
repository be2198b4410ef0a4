"""``polyalign train report_to=mlflow,wandb`` as a user runs it (tiny Llama, CPU, offline): per-step
loss, learning rate, gradient norm and tokens/s reach MLflow and wandb, and the terminal stays polyalign's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("wandb")
pytestmark = pytest.mark.slow


def test_train_reports_every_step_to_mlflow_and_wandb(tmp_path, tiny_model_dir):
    import mlflow

    data = tmp_path / "es.jsonl"
    rows = [
        {"instruction": "Translate into Spanish.", "input": f"Open file {i}", "output": f"Abrir archivo {i}"}
        for i in range(16)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
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
            "max_steps=3",
            "per_device_train_batch_size=4",
            "report_to=mlflow,wandb",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.run_name == "out" and run.data.params["train.max_steps"] == "3"
    for key in ("loss", "lr", "grad_norm", "tokens_per_s"):
        history = client.get_metric_history(run.info.run_id, f"train/{key}")
        assert [(m.step, m.value) for m in history] == [(r["step"], float(r[key])) for r in log], key

    (offline,) = (out / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"train/loss" in offline.read_bytes()
    # The terminal: polyalign's lines and one saying where wandb logs offline; no library chatter.
    assert "wandb: no WANDB_API_KEY: logging offline into" in proc.stderr
    noise = [line for line in proc.stderr.splitlines() if "INFO mlflow" in line or line.startswith("wandb: ")]
    assert noise == [] and "Warning" not in proc.stderr, proc.stderr[-2000:]
