"""The training loop: LoRA or full fine-tuning of a causal LM on chat examples.

Reads top to bottom: :func:`fit` sets up (seed, trainable parameters, wrapping for one process,
DDP or FSDP2, optimizer, schedule), restores a checkpoint when asked, runs optimizer steps,
logs, checkpoints, and saves the result.

Three promises:

* The loss of a step is the mean cross-entropy over **every supervised token of the step**,
  across its micro-batches and processes (the step's supervised-token count is all-reduced
  first; each micro-batch contributes its *sum* divided by that count), not a mean of means.
  Accumulating 8 micro-batches of 1 gives the step 1 micro-batch of 8 gives, and 2 processes
  give what 1 gives at the same global batch.
* The vocabulary projection runs only at supervised positions: a prompt needs no logits.
* Packing changes the layout, not the optimisation: the same examples make the same step.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from polyalign.config import TrainConfig
from polyalign.io import InputError, atomic_write
from polyalign.models import set_trainable
from polyalign.tracking import Tracker
from polyalign.train import checkpoint as ckpt
from polyalign.train.batching import IGNORE, Encoded, epoch_steps, layout, shard_step
from polyalign.train.distributed import Dist, all_reduce_sum, gradient_sync, wrap


@dataclass
class TrainResult:
    steps: int
    losses: list[float] = field(default_factory=list)
    """Mean supervised-token loss of each optimizer step, in order (including resumed ones)."""
    tokens: int = 0
    """Tokens the model read (every process, padding excluded)."""
    supervised_tokens: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None


def warmup_steps(cfg: TrainConfig, total: int) -> int:
    """Warmup steps as the installed transformers' ``TrainingArguments.get_warmup_steps`` counts
    them: ``warmup_steps`` itself when ``>= 1``, else that ratio of ``total``, rounded up.

    >>> warmup_steps(TrainConfig(warmup_steps=0.1), 25)
    3
    >>> warmup_steps(TrainConfig(warmup_steps=4), 25)
    4
    """
    w = cfg.warmup_steps
    return int(w) if w >= 1 else math.ceil(total * w)


def make_optimizer(params: list[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with the recipe's betas, epsilon and decoupled weight decay."""
    return torch.optim.AdamW(
        params,
        lr=cfg.learning_rate,
        betas=(cfg.adam_beta1, cfg.adam_beta2),
        eps=cfg.adam_epsilon,
        weight_decay=cfg.weight_decay,
    )


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total: int) -> Any:
    """The learning-rate schedule by its Hugging Face name, built by ``transformers.get_scheduler``
    (the Trainer's own multipliers, so recipes mean what they mean there)."""
    from transformers import get_scheduler

    return get_scheduler(
        cfg.lr_scheduler_type, optimizer, num_warmup_steps=warmup_steps(cfg, total), num_training_steps=total
    )


def _backbone_and_head(model: Any) -> tuple[Any, Any, float | None]:
    """The transformer body, the output projection, and any final logit soft-cap."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(inner, inner.base_model_prefix)
    cap = getattr(inner.config, "final_logit_softcapping", None)
    return body, inner.get_output_embeddings(), cap


class SupervisedLM(torch.nn.Module):
    """A causal LM whose forward returns the summed next-token loss at supervised positions.

    The loss lives inside the module so that DDP and FSDP2 see one forward per micro-batch.
    Projects to the vocabulary only where a target exists.
    """

    def __init__(self, model: Any):
        super().__init__()
        self.lm = model

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        targets: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cu_seq_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        body, head, cap = _backbone_and_head(self.lm)
        varlen = {}
        if cu_seq_lens is not None:  # one packed row: example boundaries for varlen kernels
            longest = int((cu_seq_lens[1:] - cu_seq_lens[:-1]).max())
            varlen = {
                "cu_seq_lens_q": cu_seq_lens,
                "cu_seq_lens_k": cu_seq_lens,
                "max_length_q": longest,
                "max_length_k": longest,
            }
        hidden = body(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False, **varlen
        ).last_hidden_state
        keep = targets != IGNORE
        logits = head(hidden[keep]).float()
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum")


def supervised_loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of next-token cross-entropy over the supervised positions of a laid-out batch."""
    return SupervisedLM(model)(**batch)


def training_attention(model: Any, requested: str, packing: bool) -> str:
    """Switch ``model`` to the attention kernel training uses; return the one it had.

    ``auto``: flash-attention when the model was loaded with it; otherwise, with packing,
    :func:`~polyalign.train.kernels.varlen_sdpa` (causal attention per packed example); else
    what the model has. An explicit ``sdpa`` or ``eager`` with packing uses rows of up to
    ``max_seq_length`` tokens with the block-diagonal mask transformers derives from the
    restarting positions.
    """
    from polyalign.train.kernels import VARLEN, register_varlen

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    before = getattr(inner.config, "_attn_implementation", None) or "sdpa"
    if requested == "auto":
        want = before if before.startswith("flash_attention") or not packing else VARLEN
    else:
        want = requested
    if want == VARLEN:
        register_varlen()
    if want != before:
        inner.set_attn_implementation(want)
    return before


def total_steps(n_examples: int, per_step: int, cfg: TrainConfig) -> tuple[int, int]:
    """``(steps_per_epoch, total_steps)`` for ``n_examples`` at ``per_step`` examples a step."""
    per_epoch = math.ceil(n_examples / per_step)
    total = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(cfg.num_train_epochs * per_epoch))
    return per_epoch, total


def kept_steps(keep_at: list[int], n_examples: int, per_step: int, total: int) -> dict[int, list[int]]:
    """``{step: [N, ...]}``: after which optimizer step the model is kept for each ``keep_at_examples`` N.

    N must be a multiple of the global batch (step N / batch has seen exactly N examples); an N past
    the data is kept at the last step of the first epoch (it has seen every example once).
    """
    bad = [n for n in keep_at if n % per_step]
    if bad:
        raise InputError(
            f"keep_at_examples {', '.join(map(str, bad))}: each must be a multiple of the global batch {per_step} "
            "(per_device_train_batch_size × gradient_accumulation_steps × processes)"
        )
    out: dict[int, list[int]] = {}
    for n in sorted(keep_at):
        step = n // per_step if n <= n_examples else math.ceil(n_examples / per_step)
        if step > total:
            raise InputError(f"keep_at_examples {n}: the run ends after {total} steps ({total * per_step} examples)")
        out.setdefault(step, []).append(n)
    return out


def kept_model_dir(output_dir: str | os.PathLike, n: int) -> Path:
    """Where ``keep_at_examples`` N's model is kept: ``OUTPUT_DIR/model-at/N``."""
    return Path(output_dir) / "model-at" / str(n)


def _tok(tokenizer: Any, cfg: TrainConfig) -> Any:
    """The tokenizer a saved model carries: a full model's, none beside a LoRA adapter."""
    return tokenizer if cfg.finetuning_type == "full" else None


def prepare_model(model: Any, cfg: TrainConfig, attn_implementation: str, d: Dist) -> tuple[Any, Any, str]:
    """Make ``model`` trainable (LoRA or full), pick its training attention kernel, move it to
    this process's device and wrap it for one process, DDP or FSDP2.

    Returns ``(model, net, attention it had before)``: ``net`` is what runs the forward passes.
    """
    model = set_trainable(model, **cfg.trainable())
    if cfg.finetuning_type == "lora":
        from polyalign.train.kernels import fuse_lora

        fuse_lora(model)
    attn_before = training_attention(model, attn_implementation, cfg.packing)
    model.to(d.device)
    model.train()
    body, _, _ = _backbone_and_head(model)
    return model, wrap(SupervisedLM(model), list(body.layers), cfg.strategy, d), attn_before


def restore(
    found: Path,
    net: Any,
    optimizer: Any,
    scheduler: Any,
    result: TrainResult,
    n_examples: int,
    global_batch: int,
    d: Dist,
) -> int:
    """Load checkpoint ``found`` into the training state and ``result``; return its step.

    A checkpoint resumes on any number of processes at the same global batch; anything else would
    take different steps, and is refused.
    """
    st = ckpt.load_checkpoint(found, net, optimizer, scheduler, d)
    if (st["n_examples"], st["global_batch"]) != (n_examples, global_batch):
        raise InputError(
            f"checkpoint was made with {st['n_examples']} examples and global batch {st['global_batch']}, "
            f"this run has {n_examples} and {global_batch} (global batch = per_device_train_batch_size × "
            "gradient_accumulation_steps × processes)",
            found,
        )
    if st.get("world", 1) != d.world and d.is_main:
        print(
            f"resuming on {d.world} process(es) a run written by {st.get('world', 1)}: same global batch, same steps",
            file=sys.stderr,
        )
    result.resumed_from = int(st["step"])
    result.losses, result.tokens = list(st["losses"]), st["tokens"]
    result.supervised_tokens, result.seconds = st["supervised_tokens"], st["seconds"]
    return result.resumed_from


def fit(
    model: Any,
    tokenizer: Any,
    data: list[Encoded],
    cfg: TrainConfig,
    output_dir: str | os.PathLike,
    seed: int,
    resume: str | None = None,
    d: Dist | None = None,
    attn_implementation: str = "auto",
) -> tuple[Any, TrainResult]:
    """Train ``model`` on encoded examples; save ``output_dir/model``; return it and what happened.

    ``resume``: ``None`` starts fresh (refusing an ``output_dir`` that already has checkpoints),
    ``"latest"`` continues from the newest checkpoint under ``output_dir/checkpoints`` if there
    is one, a path continues from that checkpoint. ``d``: this process's place among several
    (default: alone). ``attn_implementation``: see :func:`training_attention`; the model gets
    its own kernel back at the end (generation needs padded batches).
    """
    # --- setup ------------------------------------------------------------------------------
    d = d or Dist()
    if not data:
        raise InputError("no training examples")
    output_dir = Path(output_dir)
    if resume is None and ckpt.list_checkpoints(output_dir):
        raise InputError(
            "has checkpoints of an earlier run: pass resume_from_checkpoint=latest, or use another output_dir",
            output_dir,
        )
    random.seed(seed)
    torch.manual_seed(seed)
    model, net, attn_before = prepare_model(model, cfg, attn_implementation, d)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, cfg)
    accum = cfg.gradient_accumulation_steps
    per_step = cfg.per_device_train_batch_size * accum * d.world
    per_epoch, total = total_steps(len(data), per_step, cfg)
    scheduler = make_scheduler(optimizer, cfg, total)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    attn = _backbone_and_head(model)[0].config._attn_implementation or "sdpa"
    row_length = None if attn.startswith("flash_attention") or attn == "polyalign_varlen" else cfg.max_seq_length
    autocast = torch.autocast(d.device.type, dtype=torch.bfloat16) if cfg.bf16 else contextlib.nullcontext()

    keep = kept_steps(cfg.keep_at_examples, len(data), per_step, total)
    result = TrainResult(steps=total)
    found = ckpt.find_checkpoint(output_dir, resume)
    start = restore(found, net, optimizer, scheduler, result, len(data), per_step, d) if found else 0

    def position(step: int) -> dict[str, Any]:
        return {
            "losses": result.losses,
            "tokens": result.tokens,
            "supervised_tokens": result.supervised_tokens,
            "seconds": result.seconds,
            "epoch": step // per_epoch,
            "step_in_epoch": step % per_epoch,
            "n_examples": len(data),
            "global_batch": per_step,
            "world": d.world,
            "seed": seed,
        }

    # --- main loop ----------------------------------------------------------------------------
    log = _Log(output_dir, start, cfg, d)
    progress = Progress(total, start, cfg.logging_steps, d.is_main)
    plan_epoch, plan = -1, []
    t0, seconds0, tokens0 = time.perf_counter(), result.seconds, result.tokens
    for step in range(start, total):
        epoch, k = divmod(step, per_epoch)
        if epoch != plan_epoch:
            plan_epoch, plan = epoch, epoch_steps(len(data), per_step, seed, epoch)
        micro = [[data[i] for i in mb] for mb in shard_step(plan[k], d.world, d.rank, accum)]
        local = [sum(e.n_supervised for mb in micro for e in mb), sum(len(e.input_ids) for mb in micro for e in mb)]
        n_sup, n_tok = (int(x) for x in all_reduce_sum(local, d))
        step_loss = torch.zeros((), dtype=torch.float64, device=d.device)
        for j, mb in enumerate(micro):
            batch = layout(mb, pad_id, cfg.packing, row_length) if mb else _empty(pad_id)
            batch = {name: t.to(d.device, non_blocking=True) for name, t in batch.items()}
            with gradient_sync(net, j == len(micro) - 1):
                with autocast:
                    loss = net(**batch) * (d.world / n_sup)  # DDP/FSDP average gradients over processes
                loss.backward()
            step_loss += loss.detach()
        grad_norm = None
        if cfg.max_grad_norm > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            grad_norm = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        loss_value = all_reduce_sum([step_loss.item() / d.world], d)[0]
        result.losses.append(loss_value)
        result.tokens += n_tok
        result.supervised_tokens += n_sup
        result.seconds = seconds0 + time.perf_counter() - t0
        tok_s = (result.tokens - tokens0) / max(time.perf_counter() - t0, 1e-9)
        log.step(
            {
                "step": step + 1,
                "epoch": epoch,
                "loss": loss_value,
                "lr": lr,
                "grad_norm": grad_norm,
                "tokens": n_tok,
                "supervised_tokens": n_sup,
                "tokens_per_s": round(tok_s, 1),
                "elapsed_s": round(result.seconds, 3),
            }
        )
        progress.step(step + 1, loss_value, lr, tok_s)
        for n in keep.get(step + 1, []):  # before the step's checkpoint: a resumed run never misses one
            ckpt.save_model(kept_model_dir(output_dir, n), net, model, "lm.", _tok(tokenizer, cfg), d)
        if cfg.save_steps > 0 and (step + 1) % cfg.save_steps == 0 and step + 1 < total:
            ckpt.save_checkpoint(
                output_dir, step + 1, net, optimizer, scheduler, position(step + 1), cfg.save_total_limit, d
            )
    progress.close()
    log.close()

    # --- save -----------------------------------------------------------------------------------
    ckpt.save_checkpoint(output_dir, total, net, optimizer, scheduler, position(total), cfg.save_total_limit, d)
    ckpt.save_model(output_dir / "model", net, model, "lm.", _tok(tokenizer, cfg), d)
    if attn != attn_before:
        (model.get_base_model() if hasattr(model, "get_base_model") else model).set_attn_implementation(attn_before)
    model.eval()
    return model, result


class Progress:
    """What the user sees while training, on rank 0: a live bar on a terminal, showing the loss
    of the step just finished; plain lines every ``every`` steps when stderr is a file or a pipe
    (no carriage-return updates in logs)."""

    def __init__(self, total: int, start: int, every: int, on: bool):
        self.total, self.every, self.on = total, every, on
        self.live = on and sys.stderr.isatty()
        self.bar = (
            tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True) if self.live else None
        )
        self.t0, self.start = time.perf_counter(), start

    def step(self, step: int, loss: float, lr: float, tok_s: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tok_s:.0f}")
        elif self.on and (step % self.every == 0 or step == self.total):
            left = (time.perf_counter() - self.t0) / max(step - self.start, 1) * (self.total - step)
            print(
                f"[polyalign] train: step {step}/{self.total} loss {loss:.4f} lr {lr:.2e} "
                f"{tok_s:.0f} tok/s, {left:.0f} s left",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _empty(pad_id: int) -> dict[str, torch.Tensor]:
    """A one-token micro-batch with nothing to learn, for a process whose share of a short last
    step is empty: it still joins the step's gradient reduction, contributing zero."""
    one = torch.tensor([[pad_id]])
    return {"input_ids": one, "position_ids": torch.zeros_like(one), "targets": torch.full_like(one, IGNORE)}


class _Log:
    """The per-step JSONL log (``output_dir/train_log.jsonl``) and the trackers of ``report_to``, on rank 0.

    A resumed run first drops the entries after its checkpoint, so every step appears once.
    """

    def __init__(self, output_dir: Path, start: int, cfg: TrainConfig, d: Dist):
        self.path = output_dir / "train_log.jsonl"
        self.on = d.is_main
        self.tracker = None
        if not self.on:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            kept = [
                line
                for line in self.path.read_text(encoding="utf-8").splitlines()
                if line and json.loads(line)["step"] <= start
            ]
            with atomic_write(self.path) as f:
                f.writelines(line + "\n" for line in kept)
        if [b for b in cfg.report_to if b != "none"]:
            group = Path(os.environ.get("POLYALIGN_TRACKING_DIR") or output_dir).name
            params = {"train": asdict(cfg)}
            self.tracker = Tracker(cfg.report_to, output_dir, output_dir.name, group, params, start)

    def step(self, row: dict[str, Any]) -> None:
        if not self.on:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.tracker is not None:
            self.tracker.metrics(
                {f"train/{k}": row.get(k) for k in ("loss", "lr", "grad_norm", "tokens_per_s")}, row["step"]
            )

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
