"""The one training job: ``polyalign train``, and the tuning stage of ``polyalign run``.

Reads top to bottom: :func:`train` sets up (process group, data, tokenizer, model), then calls
:func:`~polyalign.train.loop.fit`, then writes ``output_dir/train_summary.json``. Every process
runs the same code; rank 0 alone writes files and prints. :func:`launch_or_train` runs it in this
process, or under ``torchrun`` with several processes (DDP or FSDP2).

``output_dir`` ends up with ``train_config.yaml`` (the resolved settings), ``train_log.jsonl``,
``checkpoints/step-N/``, ``model/`` (the adapter, or the full model) and the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign.coerce import config_to_dict
from polyalign.config import TrainConfig, TrainJobConfig
from polyalign.data.records import read_train_file, resolve_train_file
from polyalign.hub import resolve
from polyalign.io import InputError, atomic_write, log, provenance, read_json, write_json
from polyalign.outputs import check_new_output_dir, check_output_dir
from polyalign.report.model_card import CARD, library_of, model_card
from polyalign.tracking import check_trackers


def check_inputs(job: TrainJobConfig) -> None:
    """Fail early, with one line, on a missing or malformed train file, an unknown model, or a
    tracker of ``report_to`` that could not start."""
    if not read_train_file(job.train_file):
        raise InputError("no training examples in the file", job.train_file)
    check_output(job)
    check_trackers(job.train.report_to)
    resolve(job.model.model_name_or_path)


# What `polyalign train` leaves in output_dir: a folder holding one of these is an earlier training output.
OUTPUT_FILES = ("train_config.yaml", "config.yaml", "train_log.jsonl", "train_summary.json", "checkpoints")


def check_output(job: TrainJobConfig) -> None:
    """``output_dir`` is new, empty, or an earlier training output (to resume); never a folder of
    the user's, whose ``model/`` training would replace."""
    out = Path(job.output_dir)
    if out.is_dir() and any((out / name).exists() for name in OUTPUT_FILES):
        check_output_dir(out)
        return
    check_new_output_dir(out, "a training output", "choose another output_dir=...")


def encode_examples(
    tokenizer: Any, examples: list[dict], cfg: TrainConfig, source: str | Path
) -> tuple[list, dict[str, int]]:
    """Tokenise with prompt masking, applying the truncation policy; refuse an empty result."""
    from polyalign.train.batching import encode_all

    if not examples:
        raise InputError("no training examples", source)
    encoded, counts = encode_all(tokenizer, examples, cfg.max_seq_length, cfg.truncation)
    if not encoded:
        raise InputError(
            f"no training example left: {counts['dropped_too_long']} longer than max_seq_length="
            f"{cfg.max_seq_length} (truncation={cfg.truncation}), {counts['dropped_no_target']} with "
            "nothing to learn",
            source,
        )
    return encoded, counts


def describe_counts(counts: dict[str, int], cfg: TrainConfig) -> str:
    """One line: how many examples were kept, and what happened to the long ones."""
    long = counts["too_long"]
    what = f"{long} longer than {cfg.max_seq_length} tokens " + (
        "dropped"
        if cfg.truncation == "drop"
        else f"truncated ({counts['dropped_no_target']} of them left nothing to learn)"
    )
    return f"{counts['kept']} of {counts['examples']} examples kept; {what}"


def training_summary(cfg: TrainConfig, result: Any, counts: dict[str, int], world: int) -> dict[str, Any]:
    """What ``train_summary.json`` holds."""
    return {
        "finetuning_type": cfg.finetuning_type,
        "packing": cfg.packing,
        "processes": world,
        "strategy": cfg.strategy if world > 1 else "single",
        "steps": result.steps,
        "examples": counts["kept"],
        "counts": counts,
        "tokens": result.tokens,
        "supervised_tokens": result.supervised_tokens,
        "seconds": result.seconds,
        "tokens_per_second": result.tokens / max(result.seconds, 1e-9),
        "supervised_tokens_per_second": result.supervised_tokens / max(result.seconds, 1e-9),
        "first_loss": result.losses[0],
        "last_loss": result.losses[-1],
        "losses": result.losses,
        "resumed_from": result.resumed_from,
    }


JOB_CONFIG = "train_config.yaml"


def write_job_config(job: TrainJobConfig, path: Path) -> None:
    """The resolved settings, as a recipe ``polyalign train`` reads back."""
    import yaml

    with atomic_write(path) as f:
        f.write(yaml.safe_dump(config_to_dict(job), sort_keys=False, allow_unicode=True))


def launch_or_train(job: TrainJobConfig, nproc: int = 1) -> dict[str, Any]:
    """Run the job here (one process), or with ``nproc`` processes under torchrun on this host:
    the settings go to ``output_dir/train_config.yaml`` and every process reads them from there."""
    import os

    if nproc <= 1 or "WORLD_SIZE" in os.environ:
        return train(job)
    from polyalign.train.distributed import launch

    check_inputs(job)  # one clear line here rather than one per process
    path = Path(job.output_dir) / JOB_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    write_job_config(job, path)
    code = launch(nproc, ["train", str(path)])
    if code != 0:
        raise SystemExit(code)
    return read_json(Path(job.output_dir) / "train_summary.json")


def train(job: TrainJobConfig) -> dict[str, Any]:
    """Run ``polyalign train`` in this process (alone, or as one rank under torchrun)."""
    import os

    import torch

    from polyalign.models import load_model, pick_attention
    from polyalign.train import distributed
    from polyalign.train.loop import fit

    # --- setup ------------------------------------------------------------------------------
    check_output(job)  # before the model loads
    if os.environ.get("RANK", "0") == "0":  # the process that tracks: a tracker that cannot start, said now
        check_trackers(job.train.report_to)
    d = distributed.setup()
    try:
        out = Path(job.output_dir)
        source = resolve_train_file(job.train_file)
        examples = read_train_file(source)
        m = job.model
        attn = pick_attention(m.attn_implementation, d.device.type == "cuda", job.train.bf16 or m.dtype != "float32")
        torch.manual_seed(job.seed)
        model, tokenizer = load_model(m.model_name_or_path, m.dtype, m.trust_remote_code, attn_implementation=attn)
        encoded, counts = encode_examples(tokenizer, examples, job.train, source)
        if d.is_main:
            log(f"train: {source}: {describe_counts(counts, job.train)}")
            log(
                f"train: {job.train.finetuning_type} on {m.model_name_or_path} (loaded with {attn} attention), "
                f"{d.world} process(es) on {d.device.type}" + (f", {job.train.strategy}" if d.world > 1 else "")
            )
            write_job_config(job, out / JOB_CONFIG)

        # --- main -----------------------------------------------------------------------------
        model, result = fit(
            model,
            tokenizer,
            encoded,
            job.train,
            out,
            job.seed,
            resume=job.train.resume_from_checkpoint,
            d=d,
            attn_implementation=m.attn_implementation,
        )
        summary = training_summary(job.train, result, counts, d.world)
        if d.is_main:
            write_json(out / "train_summary.json", {**summary, "provenance": provenance()})
            write_card(out, m.model_name_or_path)
            log(
                f"train: {result.steps} steps, loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}; "
                f"model saved to {out / 'model'}"
            )
        return summary
    finally:
        distributed.teardown(d)


def write_card(out: Path, base: str) -> None:
    """polyalign's model card in ``out/model`` (what was trained; no evaluation, none claimed) in place
    of peft's template of "[More Information Needed]"; a run's report replaces it with the measured one."""
    folder = out / "model"
    if (folder / "adapter_config.json").is_file() or (folder / "config.json").is_file():
        with atomic_write(folder / CARD) as f:
            f.write(model_card(out, base, library_of(folder)))
