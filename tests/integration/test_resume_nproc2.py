"""A LoRA run of `polyalign train --nproc 2` resumes from its own checkpoints (and from those written
before the fix, which carried the frozen tied embedding): real torchrun, tiny Llama, CPU."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from helpers import spanish_ui_pairs

pytestmark = [pytest.mark.slow, pytest.mark.serial]

ENV = {
    **os.environ,
    "CUDA_VISIBLE_DEVICES": "",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def losses(out: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]


def keys(checkpoint: Path) -> set[str]:
    with safe_open(checkpoint / "weights.safetensors", "pt") as f:
        return set(f.keys())


def cut_back_to(out: Path, step: int) -> Path:
    """A copy of run ``out`` as if it had been stopped just after checkpoint ``step``."""
    copy = out.with_name(out.name + f"-at-{step}")
    shutil.copytree(out, copy)
    for later in copy.glob("checkpoints/step-*"):
        if int(later.name.split("-")[1]) > step:
            shutil.rmtree(later)
    shutil.rmtree(copy / "model")
    (copy / "train_summary.json").unlink(missing_ok=True)
    return copy


def test_two_process_lora_run_resumes_and_ends_where_an_uninterrupted_one_ends(tmp_path, tiny_model_dir):
    data = tmp_path / "es.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for en, es in list(spanish_ui_pairs().items())[:16]:
            f.write(json.dumps({"instruction": "Translate into Spanish.", "input": en, "output": es}) + "\n")
    base = [
        f"model_name_or_path={tiny_model_dir}",
        f"train_file={data}",
        "learning_rate=1e-2",
        "lora_rank=8",
        "warmup_steps=0",
        "max_steps=3",
        "save_steps=1",
        "save_total_limit=3",
        "max_seq_length=64",
    ]
    cli("train", *base, "per_device_train_batch_size=2", f"output_dir={tmp_path / 'one'}", cwd=tmp_path)
    two = tmp_path / "two"
    cli("train", "--nproc", 2, *base, "per_device_train_batch_size=1", f"output_dir={two}", cwd=tmp_path)

    # Only the adapter is stored (the tied embedding is frozen), by the same names on 1 and 2 processes.
    stored = keys(two / "checkpoints" / "step-1")
    assert stored == keys(tmp_path / "one" / "checkpoints" / "step-1")
    assert stored and all("lora_" in k for k in stored), sorted(k for k in stored if "lora_" not in k)

    # Stopped after step 1 and resumed on 2 processes: the same losses, the same adapter.
    resumed = cut_back_to(two, 1)
    proc = cli(
        "train", "--nproc", 2, *base, "per_device_train_batch_size=1", f"output_dir={resumed}",
        "resume_from_checkpoint=latest", cwd=tmp_path,
    )  # fmt: skip
    assert "resuming from checkpoints/step-1" in proc.stderr
    assert len(losses(resumed)) == 3 and max(abs(a - b) for a, b in zip(losses(resumed), losses(two))) <= 1e-6
    a = load_file(two / "model" / "adapter_model.safetensors")
    b = load_file(resumed / "model" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and a and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    # A checkpoint written before the fix also stored the frozen tied embedding as lm_head.weight: it resumes too.
    old = cut_back_to(two, 2)
    weights_file = old / "checkpoints" / "step-2" / "weights.safetensors"
    weights = load_file(weights_file)
    embedding = load_file(tiny_model_dir / "model.safetensors")["model.embed_tokens.weight"]
    save_file({**weights, "lm.base_model.model.lm_head.weight": embedding}, weights_file, metadata={"aliases": "{}"})
    cli(
        "train", "--nproc", 2, *base, "per_device_train_batch_size=1", f"output_dir={old}",
        "resume_from_checkpoint=latest", cwd=tmp_path,
    )  # fmt: skip
    assert max(abs(a - b) for a, b in zip(losses(old), losses(two))) <= 1e-6
    c = load_file(old / "model" / "adapter_model.safetensors")
    assert all(torch.allclose(a[k], c[k], atol=1e-6) for k in a)
