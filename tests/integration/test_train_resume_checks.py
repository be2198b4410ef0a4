"""`polyalign train` stopped and resumed as a user does it: the interrupt line says what to run, and a
resume says where it continues from (tiny Llama, CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def test_an_interrupted_train_names_resume_from_checkpoint_and_the_resume_says_where_it_continues(
    tmp_path, tiny_model_dir
):
    data = tmp_path / "a.jsonl"
    data.write_text(
        "".join(json.dumps({"instruction": "Say hi.", "input": str(i), "output": "hi " * 3}) + "\n" for i in range(8))
    )
    out = tmp_path / "out"
    argv = [
        sys.executable, "-m", "polyalign", "train", f"model_name_or_path={tiny_model_dir}", f"train_file={data}",
        f"output_dir={out}", "max_steps=100000", "save_steps=1", "per_device_train_batch_size=2",
        "max_seq_length=128", "lora_rank=4",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)
    try:  # any checkpoint: with save_steps=1 the first ones are rotated out (save_total_limit) within moments
        deadline = time.time() + 300
        while not any((out / "checkpoints").glob("step-*/trainer_state.json")):
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:  # never leave a training process behind a failed assertion
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert (
        err.strip().splitlines()[-1]
        == "interrupted; to resume, run the same command with resume_from_checkpoint=latest"
    )

    record = (out / "train_config.yaml").read_text()
    again = subprocess.run(
        [*argv, "learning_rate=1e-2", "resume_from_checkpoint=latest"], capture_output=True, text=True, env=ENV
    )
    assert again.returncode == 2 and "this command asks 0.01" in again.stderr, again.stderr
    assert (out / "train_config.yaml").read_text() == record

    proc = subprocess.Popen(
        [*argv, "resume_from_checkpoint=latest", "logging_steps=5"], stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        lines = []
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if "resuming from" in line:
                break
        proc.send_signal(signal.SIGTERM)
        err = "".join(lines) + proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert any(line.startswith("[polyalign] train: resuming from checkpoints/step-") for line in err.splitlines()), err
    assert err.strip().splitlines()[-1] == "interrupted; run the same command again to resume"
