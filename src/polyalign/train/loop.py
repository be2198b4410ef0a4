"""The training loop: LoRA or full fine-tuning of a causal LM on chat examples, one process.

Reads top to bottom: :func:`fit` sets up (seed, trainable parameters, optimizer, schedule),
restores a checkpoint when asked, runs optimizer steps, checkpoints, and saves the result.

The loss is the mean cross-entropy over every supervised token of an optimizer step, across its
micro-batches (not a mean of per-batch means), and the vocabulary projection is computed only at
supervised positions: a prompt needs no logits.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from polyalign.config import TrainConfig
from polyalign.io import atomic_dir, atomic_write, write_json
from polyalign.train.batching import IGNORE, Encoded, collate, epoch_batches


@dataclass
class TrainResult:
    steps: int
    losses: list[float] = field(default_factory=list)
    """Mean supervised-token loss of each optimizer step, in order (including resumed ones)."""
    tokens: int = 0
    supervised_tokens: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None


def lr_lambda(kind: str, warmup: int, total: int):
    """Multiplier of the peak learning rate at a step: linear warmup, then ``kind``'s shape."""

    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / (warmup + 1)
        if kind in ("constant", "constant_with_warmup"):
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def _backbone_and_head(model: Any) -> tuple[Any, Any, float | None]:
    """The transformer body, the output projection, and any final logit soft-cap."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(inner, inner.base_model_prefix)
    cap = getattr(inner.config, "final_logit_softcapping", None)
    return body, inner.get_output_embeddings(), cap


def supervised_loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of next-token cross-entropy over the supervised positions of a batch.

    Projects to the vocabulary only where a label exists, so prompt tokens cost no logits.
    """
    body, head, cap = _backbone_and_head(model)
    hidden = body(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = head(hidden[:, :-1][keep]).float()
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum")


def set_trainable(model: Any, cfg: TrainConfig) -> Any:
    """LoRA adapters (the base frozen) or every parameter, as ``cfg.finetuning_type`` says."""
    if cfg.finetuning_type == "lora":
        from polyalign.models import attach_lora

        return attach_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def fit(
    model: Any,
    tokenizer: Any,
    data: list[Encoded],
    cfg: TrainConfig,
    output_dir: str | os.PathLike,
    seed: int,
    resume: str | None = None,
) -> tuple[Any, TrainResult]:
    """Train ``model`` on encoded examples; return the trained model and what happened.

    ``resume``: ``None`` starts fresh, ``"latest"`` continues from the newest checkpoint under
    ``output_dir/checkpoints`` if there is one, a path continues from that checkpoint.
    """
    # --- setup ------------------------------------------------------------------------------
    if not data:
        raise ValueError("no training examples")
    output_dir = Path(output_dir)
    torch.manual_seed(seed)
    model = set_trainable(model, cfg)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params,
        lr=cfg.learning_rate,
        betas=(cfg.adam_beta1, cfg.adam_beta2),
        eps=cfg.adam_epsilon,
        weight_decay=cfg.weight_decay,
    )
    accum = cfg.gradient_accumulation_steps
    per_epoch = math.ceil(len(data) / cfg.per_device_train_batch_size)
    total = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(cfg.num_train_epochs * per_epoch / accum))
    warmup = int(cfg.warmup_ratio * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg.lr_scheduler_type, warmup, total))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    plans: dict[int, list[list[int]]] = {}

    def micro_batch(index: int) -> list[Encoded]:
        epoch, b = divmod(index, per_epoch)
        if epoch not in plans:
            plans.clear()
            plans[epoch] = epoch_batches(len(data), cfg.per_device_train_batch_size, seed, epoch)
        return [data[i] for i in plans[epoch][b]]

    result = TrainResult(steps=total)
    start = 0
    ckpt = _find_checkpoint(output_dir, resume)
    if ckpt is not None:
        start = _load_checkpoint(ckpt, model, optimizer, scheduler, result)
        result.resumed_from = start

    # --- main loop ----------------------------------------------------------------------------
    log_path = output_dir / "train_log.jsonl"
    _truncate_log(log_path, start)
    t0 = time.perf_counter()
    bar = tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
    for step in range(start, total):
        batches = [micro_batch(step * accum + k) for k in range(accum)]
        n_sup = sum(e.n_supervised for b in batches for e in b)
        step_loss = 0.0
        for b in batches:
            loss = supervised_loss_sum(model, collate(b, pad_id)) / n_sup
            loss.backward()
            step_loss += loss.item()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        n_tok = sum(len(e.input_ids) for b in batches for e in b)
        result.tokens += n_tok
        result.supervised_tokens += n_sup
        result.losses.append(step_loss)
        elapsed = time.perf_counter() - t0
        result.seconds = elapsed
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step + 1, "loss": step_loss, "lr": lr, "tokens": n_tok, "supervised_tokens": n_sup, "elapsed_s": round(elapsed, 3)}) + "\n")
        bar.update(1)
        if (step + 1) % cfg.logging_steps == 0 or step + 1 == total:
            bar.set_postfix(loss=f"{step_loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{result.tokens / max(elapsed, 1e-9):.0f}")
        if cfg.save_steps > 0 and (step + 1) % cfg.save_steps == 0 and step + 1 < total:
            _save_checkpoint(output_dir, step + 1, model, optimizer, scheduler, result, cfg.save_total_limit)
    bar.close()
    _save_checkpoint(output_dir, total, model, optimizer, scheduler, result, cfg.save_total_limit)
    model.eval()
    return model, result


def _truncate_log(path: Path, last_step: int) -> None:
    """Keep the per-step log's entries up to ``last_step`` (a resumed run rewrites the rest)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines() if line and json.loads(line)["step"] <= last_step]
    with atomic_write(path) as f:
        f.writelines(line + "\n" for line in kept)


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    root = output_dir / "checkpoints"
    found = []
    if root.is_dir():
        for p in root.iterdir():
            m = re.fullmatch(r"step-(\d+)", p.name)
            if m and (p / "trainer_state.json").is_file():
                found.append((int(m.group(1)), p))
    return sorted(found)


def _find_checkpoint(output_dir: Path, resume: str | None) -> Path | None:
    if resume is None:
        return None
    if resume == "latest":
        found = _checkpoints(output_dir)
        return found[-1][1] if found else None
    path = Path(resume)
    if not (path / "trainer_state.json").is_file():
        from polyalign.io import InputError

        raise InputError("not a polyalign checkpoint (no trainer_state.json)", path)
    return path


def save_weights(model: Any, folder: Path) -> None:
    """Trainable weights as safetensors: the adapter for LoRA, the whole model otherwise."""
    model.save_pretrained(folder, safe_serialization=True)


def _save_checkpoint(output_dir, step, model, optimizer, scheduler, result, keep) -> Path:
    final = output_dir / "checkpoints" / f"step-{step}"
    with atomic_dir(final) as tmp:
        save_weights(model, tmp / "weights")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save({"torch": torch.get_rng_state()}, tmp / "rng.pt")
        write_json(
            tmp / "trainer_state.json",
            {"step": step, "losses": result.losses, "tokens": result.tokens, "supervised_tokens": result.supervised_tokens, "seconds": result.seconds},
        )
    for _, old in _checkpoints(output_dir)[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _load_checkpoint(path: Path, model, optimizer, scheduler, result: TrainResult) -> int:
    from safetensors.torch import load_file

    weights = path / "weights"
    files = sorted(weights.glob("*.safetensors"))
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(f))
    if hasattr(model, "peft_config"):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state)
    else:
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"checkpoint {path} does not match the model: {unexpected[:3]}")
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    torch.set_rng_state(torch.load(path / "rng.pt", weights_only=True)["torch"])
    st = json.loads((path / "trainer_state.json").read_text())
    result.losses = list(st["losses"])
    result.tokens = st["tokens"]
    result.supervised_tokens = st["supervised_tokens"]
    result.seconds = st["seconds"]
    return int(st["step"])
