"""`polyalign train` and `polyalign export` as a user runs them: real subprocesses, tiny Llama, CPU."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers import processes_naming, spanish_ui_pairs

pytestmark = pytest.mark.slow

# one thread a process: a tiny model gains nothing from more, and a shared CI box loses a lot
ENV = {
    **os.environ,
    "CUDA_VISIBLE_DEVICES": "",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


def cli(*args, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or ENV,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    """120 English→Spanish alpaca records (JSONL)."""
    path = tmp_path_factory.mktemp("data") / "es.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for en, es in list(spanish_ui_pairs().items())[:120]:
            f.write(json.dumps({"instruction": "Translate into Spanish.", "input": en, "output": es}) + "\n")
    return path


def losses(out: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]


def common(model: Path, data: Path) -> list[str]:
    return [f"model_name_or_path={model}", f"train_file={data}", "learning_rate=1e-2", "lora_rank=8", "warmup_steps=0"]


def test_train_saves_adapter_and_export_merged_and_adapter_give_the_same_logits(tmp_path, tiny_model_dir, train_file):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "out"
    proc = cli(
        "train",
        *common(tiny_model_dir, train_file),
        f"output_dir={out}",
        "max_steps=8",
        "per_device_train_batch_size=8",
        "report_to=tensorboard",
        "save_steps=4",
        "logging_steps=1",
        cwd=tmp_path,
    )
    assert "120 of 120 examples kept" in proc.stderr
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 9))
    # stderr is a pipe here: plain progress lines (no carriage returns), each with that step's own loss
    assert "\r" not in proc.stderr
    for step in (1, 2, 3, 4, 5, 6, 7, 8):
        line = f"train: step {step}/8 loss {log[step - 1]['loss']:.4f} lr "
        assert line in proc.stderr
    assert all(r["supervised_tokens"] > 0 and r["tokens_per_s"] > 0 for r in log)
    assert list((out / "runs").glob("events.out.tfevents.*"))  # TensorBoard
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["last_loss"] < summary["first_loss"]

    merged, adapter = tmp_path / "merged", tmp_path / "adapter"
    exported = cli("export", out, merged, cwd=tmp_path)
    assert "Writing model shards" not in exported.stderr, exported.stderr  # transformers' bar: polyalign prints
    cli("export", out, adapter, "--mode", "adapter", cwd=tmp_path)
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_model_dir)

    ids = torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 28, 7018, 411]])
    with torch.no_grad():
        trained = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(out / "model")
        ).eval()
        reference = trained(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(merged).eval()  # plain transformers, no peft
        assert not hasattr(plain, "peft_config")
        assert torch.allclose(plain(ids).logits, reference, atol=1e-4)
        with_adapter = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter)
        ).eval()
        assert torch.allclose(with_adapter(ids).logits, reference, atol=1e-6)
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
        assert not torch.allclose(base(ids).logits, reference, atol=1e-3)  # training changed something

    # Checkpoints export too: the last one is the final model; an earlier one is another model.
    for step in (8, 4):
        cli("export", out / "checkpoints" / f"step-{step}", tmp_path / f"merged-{step}", cwd=tmp_path)
        cli(
            "export",
            out / "checkpoints" / f"step-{step}",
            tmp_path / f"adapter-{step}",
            "--mode",
            "adapter",
            cwd=tmp_path,
        )
    with torch.no_grad():
        assert torch.allclose(
            AutoModelForCausalLM.from_pretrained(tmp_path / "merged-8").eval()(ids).logits, reference, atol=1e-4
        )
        late = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(tmp_path / "adapter-8")
        ).eval()
        assert torch.allclose(late(ids).logits, reference, atol=1e-6)
        early = AutoModelForCausalLM.from_pretrained(tmp_path / "merged-4").eval()(ids).logits
        assert not torch.allclose(early, reference, atol=1e-3) and not torch.allclose(
            early, base(ids).logits, atol=1e-3
        )
        early_adapter = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(tmp_path / "adapter-4")
        ).eval()
        assert torch.allclose(early_adapter(ids).logits, early, atol=1e-4)


def test_full_fine_tune_checkpoint_exports_as_a_transformers_model(tmp_path, tiny_model_dir, train_file):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "full"
    trained = cli(
        "train",
        f"model_name_or_path={tiny_model_dir}",
        f"train_file={train_file}",
        "finetuning_type=full",
        "learning_rate=1e-3",
        "max_steps=2",
        "save_steps=1",
        "per_device_train_batch_size=4",
        f"output_dir={out}",
        cwd=tmp_path,
    )
    assert "Writing model shards" not in trained.stderr, trained.stderr  # a full checkpoint's save, every step
    cli("export", out / "checkpoints" / "step-2", tmp_path / "exported", cwd=tmp_path)
    refused = cli(
        "export", out / "checkpoints" / "step-2", tmp_path / "nope", "--mode", "adapter", cwd=tmp_path, check=False
    )
    assert refused.returncode == 2 and "has no adapter" in refused.stderr and not (tmp_path / "nope").exists()
    stray = tmp_path / "elsewhere" / "step-2"
    shutil.copytree(out / "checkpoints" / "step-2", stray)
    orphan = cli("export", stray, tmp_path / "nope", cwd=tmp_path, check=False)
    assert orphan.returncode == 2 and orphan.stderr.strip().splitlines()[-1] == (
        f"error: {stray}: no train_config.yaml of its run at {tmp_path / 'train_config.yaml'}: cannot tell the base "
        "model and settings"
    )
    ids = torch.tensor([[1, 9690, 198, 2683, 359, 253]])
    with torch.no_grad():
        final = AutoModelForCausalLM.from_pretrained(out / "model").eval()(ids).logits
        exported = AutoModelForCausalLM.from_pretrained(tmp_path / "exported").eval()(ids).logits
    assert torch.equal(final, exported)


@pytest.mark.serial
def test_sigkilled_run_resumed_from_latest_ends_with_identical_weights(tmp_path, tiny_model_dir, train_file):
    args = [
        *common(tiny_model_dir, train_file),
        "max_steps=40",
        "save_steps=5",
        "per_device_train_batch_size=4",
        "save_total_limit=2",
    ]
    cli("train", *args, f"output_dir={tmp_path / 'straight'}", cwd=tmp_path)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyalign", "train", *args, f"output_dir={killed}"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not (killed / "checkpoints" / "step-10").exists():  # past one checkpoint rotation
        assert proc.poll() is None and time.time() < deadline, "the run ended before it could be killed"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "model").exists()
    done = [int(p.name.split("-")[1]) for p in (killed / "checkpoints").glob("step-*")]
    assert max(done) < 40

    again = cli("train", *args, f"output_dir={killed}", cwd=tmp_path, check=False)
    assert again.returncode == 2 and "resume_from_checkpoint=latest" in again.stderr  # refuses to start over
    cli("train", *args, f"output_dir={killed}", "resume_from_checkpoint=latest", cwd=tmp_path)

    a = load_file(tmp_path / "straight" / "model" / "adapter_model.safetensors")
    b = load_file(killed / "model" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and len(a) > 0
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert losses(tmp_path / "straight") == losses(killed)
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["step-35", "step-40"]


@pytest.mark.serial
def test_two_processes_ddp_and_fsdp2_reproduce_one_process_loss_curve(tmp_path, tiny_model_dir, train_file):
    base = [*common(tiny_model_dir, train_file), "max_steps=6", "gradient_accumulation_steps=2"]
    cli("train", *base, "per_device_train_batch_size=8", f"output_dir={tmp_path / 'one'}", cwd=tmp_path)
    reference = losses(tmp_path / "one")
    for strategy in ("ddp", "fsdp"):
        out = tmp_path / strategy
        cli(
            "train",
            "--nproc",
            2,
            *base,
            "per_device_train_batch_size=4",
            f"strategy={strategy}",
            f"output_dir={out}",
            "save_steps=3",
            "save_total_limit=2",
            cwd=tmp_path,
        )
        curve = losses(out)
        assert len(curve) == len(reference) == 6
        assert max(abs(x - y) for x, y in zip(curve, reference)) <= 1e-4, (strategy, curve, reference)
        summary = json.loads((out / "train_summary.json").read_text())
        assert (summary["processes"], summary["strategy"]) == (2, strategy)
        one = load_file(tmp_path / "one" / "model" / "adapter_model.safetensors")
        two = load_file(out / "model" / "adapter_model.safetensors")
        assert all(torch.allclose(one[k], two[k], atol=1e-4) for k in one), strategy

    # The FSDP2 run's step-3 checkpoint, resumed by one process at the same global batch (8 x 2 x 1
    # = 4 x 2 x 2), ends where the one-process run ended.
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "fsdp", resumed)
    for later in ("checkpoints/step-6", "model"):
        shutil.rmtree(resumed / later)
    (resumed / "train_summary.json").unlink()
    proc = cli(
        "train",
        *base,
        "per_device_train_batch_size=8",
        f"output_dir={resumed}",
        "resume_from_checkpoint=latest",
        cwd=tmp_path,
    )
    assert "resuming on 1 process(es) a run written by 2" in proc.stderr
    curve = losses(resumed)
    assert len(curve) == 6 and max(abs(x - y) for x, y in zip(curve, reference)) <= 1e-4, (curve, reference)
    one = load_file(tmp_path / "one" / "model" / "adapter_model.safetensors")
    again = load_file(resumed / "model" / "adapter_model.safetensors")
    assert one.keys() == again.keys() and all(torch.allclose(one[k], again[k], atol=1e-4) for k in one)
    wrong = cli(
        "train",
        *base,
        "per_device_train_batch_size=4",
        f"output_dir={resumed}",
        f"resume_from_checkpoint={resumed / 'checkpoints' / 'step-3'}",
        cwd=tmp_path,
        check=False,
    )
    assert wrong.returncode == 2, wrong.stderr[-2000:]
    assert "trained with global batch 16; this command asks 8:" in wrong.stderr, wrong.stderr[-2000:]


def test_bad_input_is_one_line_and_exit_2(tmp_path, tiny_model_dir, train_file, capsys, monkeypatch):
    from polyalign.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    long = tmp_path / "long.jsonl"
    long.write_text(json.dumps({"instruction": "word " * 400, "output": "ok"}) + "\n")
    cases = [
        ([f"train_file={empty}", f"model_name_or_path={tiny_model_dir}"], f"error: {empty}: no training examples"),
        (
            [f"train_file={bad}", f"model_name_or_path={tiny_model_dir}"],
            f"error: {bad}:1: no assistant turn to learn from",
        ),
        (
            [f"train_file={tmp_path / 'nope.jsonl'}", f"model_name_or_path={tiny_model_dir}"],
            f"error: {tmp_path / 'nope.jsonl'}: no such training file",
        ),
        (
            [f"train_file={train_file}", f"model_name_or_path={tmp_path / 'no-model'}"],
            f"error: {tmp_path / 'no-model'}: no such model folder, and not a hub id (ORG/NAME)",
        ),
        (
            [f"train_file={train_file}", "model_name_or_path=nobody/no-such-model"],
            "error: nobody/no-such-model: hub is offline (HF_HUB_OFFLINE) and the model is not cached",
        ),
        (
            [f"train_file={long}", f"model_name_or_path={tiny_model_dir}", "max_seq_length=64"],
            f"error: {long}: no training example left: 1 longer than max_seq_length=64 (truncation=drop), 0 "
            "with nothing to learn",
        ),
        (
            [f"train_file={long}", f"model_name_or_path={tiny_model_dir}", "max_seq_length=64", "truncation=truncate"],
            f"error: {long}: no training example left: 0 longer than max_seq_length=64 (truncation=truncate), "
            "1 with nothing to learn",
        ),
        (
            ["train_file=x.jsonl", "learning_rat=1"],
            "error: <command line>: unknown key 'learning_rat' (did you mean 'learning_rate'?)",
        ),
    ]
    for args, expected in cases:  # in this process: the CLI's own error handling, minus start-up time
        code = main(["train", *args, f"output_dir={tmp_path / 'out'}"])
        err = capsys.readouterr().err
        assert code == 2, (args, err[-2000:])
        assert err.strip().splitlines()[-1] == expected
    assert not (tmp_path / "out" / "model").exists()
    # the same through a real process: one line, no traceback
    proc = cli("train", *cases[1][0], f"output_dir={tmp_path / 'out'}", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == cases[1][1]
    assert "Traceback" not in proc.stderr


def test_a_hub_id_is_named_as_the_base_not_the_folder_it_resolved_to(tmp_path, tiny_model_dir, train_file):
    """A hub id resolves to a folder of this machine (the hub cache; the bundled default's converted
    copy). The adapter, its card, an export and a push must name the hub id: peft had recorded the
    folder, which no one else has, and `polyalign train` left peft's "[More Information Needed]" card."""
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny-llama" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_model_dir, snapshot)
    (cache / "models--acme--tiny-llama" / "refs").mkdir()
    (cache / "models--acme--tiny-llama" / "refs" / "main").write_text("0" * 40)
    out = tmp_path / "out"
    env = {**ENV, "HF_HUB_CACHE": str(cache)}
    proc = cli(
        "train",
        "model_name_or_path=acme/tiny-llama",
        f"train_file={train_file}",
        f"output_dir={out}",
        "max_steps=1",
        "per_device_train_batch_size=4",
        cwd=tmp_path,
        env=env,
    )
    # saving an adapter of a hub-id base: peft's embedding check would look the id up (warnings offline)
    assert "Warning" not in proc.stderr and "warnings.warn" not in proc.stderr, proc.stderr[-3000:]
    config = json.loads((out / "model" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "acme/tiny-llama"
    card = (out / "model" / "README.md").read_text()
    assert card.startswith("---\nbase_model: acme/tiny-llama\n") and "More Information Needed" not in card
    assert "| steps | 1 |" in card and "no numbers are claimed" in card

    # an adapter trained before the base was named as given: its recorded settings name the hub id
    config["base_model_name_or_path"] = str(snapshot)
    (out / "model" / "adapter_config.json").write_text(json.dumps(config))
    from polyalign.train.push import _content, files_to_push

    folder, marker, _, _ = files_to_push(out)
    assert marker["base_model"] == "acme/tiny-llama"
    uploaded = json.loads(_content(folder / "adapter_config.json", marker["base_model"]))
    assert uploaded["base_model_name_or_path"] == "acme/tiny-llama"
    assert json.loads((out / "model" / "adapter_config.json").read_text())["base_model_name_or_path"] == str(snapshot)
    exported = tmp_path / "exported"
    cli("export", out, exported, "--mode", "adapter", cwd=tmp_path, env=env)
    assert json.loads((exported / "adapter_config.json").read_text())["base_model_name_or_path"] == "acme/tiny-llama"
    assert (exported / "README.md").read_text().startswith("---\nbase_model: acme/tiny-llama\n")


@pytest.mark.serial
def test_sigterm_to_a_two_process_train_stops_torchrun_and_its_workers(tmp_path, tiny_model_dir, train_file):
    # SIGTERM to `polyalign train --nproc 2` killed the parent alone: torchrun and its two workers trained on
    out = tmp_path / "out"
    args = [*common(tiny_model_dir, train_file), "max_steps=100000", "save_steps=0", f"output_dir={out}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyalign", "train", "--nproc", "2", *args],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        while not any("train: step " in line for line in lines):  # both workers are in the training loop
            line = proc.stderr.readline()
            assert line, "".join(lines)[-3000:]
            lines.append(line)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[1]
        assert proc.returncode == 130, rest[-3000:]
        assert rest.strip().splitlines()[-1] == (
            "interrupted; to resume, run the same command with resume_from_checkpoint=latest"
        )
        deadline = time.time() + 30
        while processes_naming(str(out)) and time.time() < deadline:
            time.sleep(0.2)
        assert not processes_naming(str(out))  # no torchrun, no worker left
    finally:  # a failure leaves nothing training on the CI box
        proc.kill()
        for pid in processes_naming(str(out)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
