"""The one training job: ``polyalign train``, and the tuning stage of ``polyalign run``.

Reads top to bottom: :func:`train` sets up (process group, data, tokenizer, model), then calls
:func:`~polyalign.train.loop.fit`, then writes ``output_dir/train_summary.json``. Every process
runs the same code; rank 0 alone writes files and prints. :func:`launch_or_train` runs it in this
process, or under ``torchrun`` with several processes (DDP or FSDP2).

``output_dir`` ends up with ``train_config.yaml`` (the resolved settings), ``train_log.jsonl``,
``checkpoints/step-N/``, ``model/`` (the adapter, or the full model) and the summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from polyalign.coerce import config_to_dict, flat_dict
from polyalign.config import TrainConfig, TrainJobConfig
from polyalign.data.records import read_train_file, resolve_train_file
from polyalign.hub import resolve
from polyalign.io import InputError, atomic_write, log, provenance, read_json, write_json
from polyalign.outputs import check_new_output_dir, check_output_dir
from polyalign.report.model_card import CARD, library_of, model_card
from polyalign.tracking import check_trackers


def check_inputs(job: TrainJobConfig, world: int = 1) -> None:
    """Fail early, with one line, on a missing or malformed train file, an unknown model, an output
    that is not polyalign's or a resume with other settings (on ``world`` processes), or a tracker of
    ``report_to`` that could not start."""
    if not read_train_file(job.train_file):
        raise InputError("no training examples in the file", job.train_file)
    check_output(job, world)
    check_trackers(job.train.report_to)
    resolve(job.model.model_name_or_path)


# What `polyalign train` leaves in output_dir: a folder holding one of these is an earlier training output.
# train_config.yaml counts only when polyalign wrote it (RECORD_HEADER): a user's own file of that name
# does not make a folder of theirs polyalign's to write into.
OUTPUT_FILES = ("config.yaml", "train_log.jsonl", "train_summary.json", "checkpoints")
JOB_CONFIG = "train_config.yaml"
RECORD_HEADER = "# polyalign train: the resolved settings of this training output (a resume checks against them)\n"

# Settings a resume may change: where and how often it saves and logs, what it reports to, and how it
# computes the same numbers (memory for compute, the attention kernel). Any other setting defines the
# run (model, data, LoRA shape, optimizer, schedule, steps or epochs, batch sizes, sequence length,
# packing, precision, seed, ...): a checkpoint continued under another would follow the old schedule
# and optimizer state while train_config.yaml claimed the new one, so it is refused.
MAY_CHANGE_ON_RESUME = frozenset(
    {
        "output_dir",
        "train.resume_from_checkpoint",
        "train.save_steps",
        "train.save_total_limit",
        "train.logging_steps",
        "train.report_to",
        "train.gradient_checkpointing",
        "model.attn_implementation",
    }
)
# How the global batch is split over processes: a checkpoint resumes on any number of processes, DDP or
# FSDP2, at the same global batch (per_device_train_batch_size × gradient_accumulation_steps × processes,
# which the checkpoint stores), so that product is compared, not each of them.
BATCH_SPLIT = frozenset({"train.per_device_train_batch_size", "train.gradient_accumulation_steps", "train.strategy"})


def is_record(path: Path) -> bool:
    """``path`` is a ``train_config.yaml`` polyalign wrote (not a user's file of that name)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline() == RECORD_HEADER
    except (OSError, UnicodeDecodeError):
        return False


def check_output(job: TrainJobConfig, world: int = 1) -> Path | None:
    """``output_dir`` is new, empty, or an earlier training output (to resume); never a folder of
    the user's, whose ``model/`` training would replace. An earlier output with checkpoints is resumed
    only when asked, and only with the settings it was trained with (:func:`check_resume`).
    ``world``: the processes the run will have. Returns the checkpoint the run resumes from, if any."""
    out = Path(job.output_dir)
    ours = out.is_dir() and (any((out / name).exists() for name in OUTPUT_FILES) or is_record(out / JOB_CONFIG))
    if not ours:
        check_new_output_dir(out, "a training output", "choose another output_dir=...")
        return None
    check_output_dir(out)
    return check_resume(job, world)


def check_resume(job: TrainJobConfig, world: int = 1) -> Path | None:
    """The checkpoint ``resume_from_checkpoint`` names, checked before anything loads or is written:
    a fresh run into an output with checkpoints is refused (it would mix two runs), and so is a resume
    whose settings differ from those recorded with the checkpoints (``train_config.yaml`` of the
    output the checkpoint is in) in anything outside :data:`MAY_CHANGE_ON_RESUME`, naming each change;
    the batch is compared as the global batch the checkpoint stores (:data:`BATCH_SPLIT`), on ``world``
    processes.
    A checkpoint without a record (an older output) is resumed as before: the loop checks what the
    checkpoint stores itself (examples and global batch)."""
    from polyalign.train import checkpoint as ckpt  # torch: here, to keep `polyalign --help` fast

    out = Path(job.output_dir)
    resume = job.train.resume_from_checkpoint
    if resume is None:
        if ckpt.list_checkpoints(out):
            raise InputError(
                "has checkpoints of an earlier run: pass resume_from_checkpoint=latest, or use another output_dir",
                out,
            )
        return None
    found = ckpt.find_checkpoint(out, resume)
    if found is None:
        return None
    where = found.parent.parent
    record = where / JOB_CONFIG
    if not record.is_file():
        return found
    try:  # written by polyalign from the job's settings, as config_to_dict gives them
        recorded = yaml.safe_load(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        recorded = None
    if not isinstance(recorded, dict):
        return found
    before = flat_dict(recorded)
    now = flat_dict(config_to_dict(job))
    state = json.loads((found / ckpt.STATE).read_text(encoding="utf-8"))
    fixed = MAY_CHANGE_ON_RESUME | (BATCH_SPLIT if "global_batch" in state else frozenset())
    # a setting an older record does not hold is not compared (it was not recorded, not changed)
    changed = {k.rpartition(".")[2]: (before.get(k), now[k]) for k in now if k not in fixed and k in before}
    if "global_batch" in state:
        t = job.train
        changed["global batch"] = (
            state["global_batch"],
            t.per_device_train_batch_size * t.gradient_accumulation_steps * world,
        )
    changed = {k: (b, n) for k, (b, n) in changed.items() if not _same(k, b, n)}
    if changed:
        names = ", ".join(f"{k} {_show(b)}" for k, (b, _) in changed.items())
        asked = ", ".join(_show(n) for _, n in changed.values())
        raise InputError(
            f"resume_from_checkpoint: the checkpoints were trained with {names}; this command asks {asked}: "
            "resume with the same settings, or train into another output_dir",
            where,
        )
    return found


def _same(key: str, before: Any, now: Any) -> bool:
    """Equal settings; a path (the data, a local model) also when both name the same file."""
    if before == now:
        return True
    if key in {"train_file", "model_name_or_path"} and isinstance(before, str) and isinstance(now, str):
        try:
            return Path(before).exists() and Path(now).exists() and Path(before).samefile(now)
        except OSError:
            return False
    return False


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


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


def write_job_config(job: TrainJobConfig, path: Path) -> None:
    """The resolved settings, as a recipe ``polyalign train`` reads back, under :data:`RECORD_HEADER`
    (what tells polyalign's record from a user's file of the same name)."""
    import yaml

    with atomic_write(path) as f:
        f.write(RECORD_HEADER + yaml.safe_dump(config_to_dict(job), sort_keys=False, allow_unicode=True))


def launch_or_train(job: TrainJobConfig, nproc: int = 1) -> dict[str, Any]:
    """Run the job here (one process), or with ``nproc`` processes under torchrun on this host:
    the settings go to ``output_dir/train_config.yaml`` and every process reads them from there."""
    import os

    if nproc <= 1 or "WORLD_SIZE" in os.environ:
        return train(job)
    from polyalign.train.distributed import launch

    check_inputs(job, nproc)  # one clear line here rather than one per process
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
    # before the model loads, and before train_config.yaml is written
    found = check_output(job, int(os.environ.get("WORLD_SIZE", "1")))
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
            if found is not None:
                shown = found.relative_to(out) if found.is_relative_to(out) else found
                log(f"train: resuming from {shown}" + (f" (in {out})" if shown != found else ""))

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
