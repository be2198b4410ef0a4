"""`polyalign run` trains through the one training job: several processes, stage times, reruns."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import spanish_locale

pytestmark = pytest.mark.slow


def run_cli(*args, cwd, env=None):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=900, env=env
    )


def recipe_text(tmp_path, model, sources: str = "gettext") -> str:
    return f"""
name: job
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {model}
data:
  languages: [es]
  sources: [{sources}]
  gettext_dirs: [{spanish_locale(tmp_path / "locale")}]
  instructions: []
  max_train_pairs: 32
  test_size: 4
train:
  lora_rank: 4
  per_device_train_batch_size: 4
  max_steps: 4
  max_seq_length: 96
  strategy: fsdp
eval:
  max_new_tokens: 4
"""


def test_run_trains_with_two_processes_like_train_does(tmp_path, tiny_model_dir):
    import os

    recipe = tmp_path / "job.yaml"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = run_cli("run", str(recipe), "--nproc", "2", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "job"
    info = json.loads((run_dir / "train_summary.json").read_text())
    assert info["processes"] == 2 and info["strategy"] == "fsdp" and info["steps"] == 4
    job = (run_dir / "train_config.yaml").read_text()
    assert f"train_file: {run_dir / 'data' / 'train.jsonl'}" in job and "strategy: fsdp" in job
    assert (run_dir / "model" / "adapter_model.safetensors").is_file()
    # a line per finished stage, with its time
    for name in ("data", "eval/before", "train", "eval/after"):
        assert f"[polyalign] {name}: finished in " in proc.stderr


def test_a_run_that_failed_at_the_data_stage_reruns_with_a_fixed_recipe(tmp_path, tiny_model_dir):
    recipe = tmp_path / "job.yaml"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir, sources=str(tmp_path / "missing.tsv")))
    bad = run_cli("run", str(recipe), cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir))
    good = run_cli("run", str(recipe), "train.max_steps=2", cwd=tmp_path)
    assert good.returncode == 0, good.stderr[-3000:]
    assert json.loads((tmp_path / "runs" / "job" / "train_summary.json").read_text())["steps"] == 2
