"""Checkpoints with exact resume, and the final model in the format its users load.

``output_dir/checkpoints/step-N/`` holds:

* ``weights.safetensors``: the trainable parameters (LoRA adapters, or every weight), by their
  names in the training module, gathered whole from every process; a frozen weight is never
  stored, not even under a second name (the output projection tied to the frozen embedding);
* ``optimizer.pt``, ``scheduler.pt``: their states (``torch.load(weights_only=True)``);
* ``rng.pt``: every process's random-number states (Python, torch CPU, CUDA);
* ``trainer_state.json``: step, losses so far, token counts, and the data position (epoch,
  examples seen, global batch, number of processes).

A checkpoint is written to a temporary folder and renamed into place, so one killed mid-write
never exists; only the last ``save_total_limit`` are kept. State dicts go through
``torch.distributed.checkpoint.state_dict`` so the same code serves one process, DDP and FSDP2.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.nn.parallel import DistributedDataParallel

from polyalign.hub import no_transformers_bar
from polyalign.io import InputError, atomic_dir, write_json
from polyalign.train.distributed import Dist, barrier, gather_objects

STATE = "trainer_state.json"
_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)


def list_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    """Finished checkpoints under ``output_dir/checkpoints``, oldest first."""
    root = Path(output_dir) / "checkpoints"
    found = []
    if root.is_dir():
        for p in root.iterdir():
            m = re.fullmatch(r"step-(\d+)", p.name)
            if m and (p / STATE).is_file():
                found.append((int(m.group(1)), p))
    return sorted(found)


def find_checkpoint(output_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint ``resume`` names: ``None`` (start fresh), ``latest`` (or none yet), a path."""
    if resume is None:
        return None
    if resume == "latest":
        found = list_checkpoints(output_dir)
        return found[-1][1] if found else None
    path = Path(resume)
    if not (path / STATE).is_file():
        raise InputError(f"not a polyalign checkpoint (no {STATE})", path)
    return path


def trainable_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every trainable parameter, whole and on CPU, by name (collective: all processes call).

    ``ignore_frozen_params`` alone keeps a frozen weight that has a second name (``named_parameters``
    reports a tied weight once): a LoRA checkpoint would carry the whole frozen tied embedding as
    ``lm_head.weight``. Every name of a frozen weight goes.
    """
    frozen = {name for name, (trained, _) in _parameters(net).items() if not trained}
    return {k: v for k, v in get_model_state_dict(net, options=_FULL).items() if k not in frozen}


def _parameters(net: torch.nn.Module) -> dict[str, tuple[bool, tuple[int, ...]]]:
    """``{name: (trainable, whole shape)}`` of every parameter of ``net`` by every name it has (tied
    weights under each), named as the state dicts of :mod:`torch.distributed.checkpoint` name them
    (no DDP ``module.``; FSDP2 keeps the names and reports whole shapes)."""
    inner = net.module if isinstance(net, DistributedDataParallel) else net
    return {name: (p.requires_grad, tuple(p.shape)) for name, p in inner.named_parameters(remove_duplicate=False)}


def _checked(path: Path, weights: dict[str, torch.Tensor], net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``weights`` less any frozen weight (older checkpoints stored the frozen tied embedding), after
    checking they are this model's trainable weights, each with its shape; one clear line if not."""
    params = _parameters(net)
    weights = {k: v for k, v in weights.items() if params.get(k, (True,))[0]}
    trainable = {name for name, (trained, _) in params.items() if trained}
    missing, unknown = sorted(trainable - weights.keys()), sorted(weights.keys() - trainable)
    shapes = sorted(k for k in trainable & weights.keys() if tuple(weights[k].shape) != params[k][1])
    problems = []
    if missing:
        problems.append(f"{len(missing)} trainable weights missing (e.g. {missing[0]})")
    if unknown:
        problems.append(f"{len(unknown)} weights this model does not have (e.g. {unknown[0]})")
    if shapes:
        k = shapes[0]
        problems.append(
            f"{len(shapes)} weights of another shape (e.g. {k}: {tuple(weights[k].shape)}, here {params[k][1]})"
        )
    if problems:
        raise InputError(
            f"checkpoint does not match this run's model and settings (finetuning_type, lora_rank, lora_target): "
            f"{'; '.join(problems)}",
            path,
        )
    return weights


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(
    output_dir: Path,
    step: int,
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: dict[str, Any],
    keep: int,
    d: Dist,
) -> Path:
    """Write ``checkpoints/step-<step>`` atomically and drop all but the newest ``keep``."""
    from safetensors.torch import save_file

    weights = trainable_state(net)
    optim = get_optimizer_state_dict(net, optimizer, options=_FULL)
    rngs = gather_objects(_rng_state(), d)
    final = Path(output_dir) / "checkpoints" / f"step-{step}"
    if d.is_main:
        with atomic_dir(final) as tmp:
            tensors, aliases = _dedupe(weights)
            save_file(tensors, tmp / "weights.safetensors", metadata={"aliases": json.dumps(aliases)})
            torch.save(optim, tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            torch.save({"ranks": rngs}, tmp / "rng.pt")
            write_json(tmp / STATE, {"step": step, **state})
        for _, old in list_checkpoints(output_dir)[: -max(1, keep)]:
            shutil.rmtree(old, ignore_errors=True)
    barrier(d)
    return final


def load_checkpoint(
    path: Path, net: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, d: Dist
) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and RNG from ``path``; return its trainer state.

    Weights and optimizer state are stored whole, and the data position counts examples of the
    global batch, so a checkpoint resumes on another number of processes too (the caller checks
    the global batch is the same). Random states are per process: with the same number each
    process gets its own back (bitwise-exact resume); with another, process r takes those of
    process r mod (the old number), which matters only for dropout.
    """
    st = json.loads((path / STATE).read_text(encoding="utf-8"))
    weights = _checked(path, read_weights(path), net)
    # strict=False: the checkpoint holds the trainable weights only (checked above), and under DDP a strict
    # load wants the frozen ones too ("Missing key: ...embed_tokens.weight")
    options = StateDictOptions(full_state_dict=True, ignore_frozen_params=True)
    set_model_state_dict(net, weights, options=dataclasses.replace(options, strict=False))
    set_optimizer_state_dict(net, optimizer, torch.load(path / "optimizer.pt", weights_only=True), options=options)
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    ranks = torch.load(path / "rng.pt", weights_only=True)["ranks"]
    _set_rng_state(ranks[d.rank % len(ranks)])
    return st


def read_weights(path: Path) -> dict[str, Any]:
    """A checkpoint's trainable weights by their names in the training module (aliases restored):
    what :func:`save_checkpoint` wrote, read back by resuming and by ``polyalign export`` of a checkpoint."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    weights = load_file(path / "weights.safetensors")
    with safe_open(path / "weights.safetensors", "pt") as f:
        aliases = json.loads((f.metadata() or {}).get("aliases", "{}"))
    for alias, source in aliases.items():
        weights[alias] = weights[source]
    return weights


def _dedupe(weights: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """safetensors refuses tensors sharing memory (tied embeddings): keep one, name the rest."""
    seen: dict[tuple, str] = {}
    tensors, aliases = {}, {}
    for name, t in weights.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key in seen:
            aliases[name] = seen[key]
        else:
            seen[key] = name
            tensors[name] = t.contiguous()
    return tensors, aliases


# ---------------------------------------------------------------------------------------------
# The final model


def save_model(folder: Path, net: torch.nn.Module, model: Any, prefix: str, tokenizer: Any, d: Dist) -> None:
    """Save the trained model where ``transformers``/``peft`` load it as it is.

    LoRA: the adapter (``adapter_model.safetensors`` + ``adapter_config.json``) for
    ``PeftModel.from_pretrained``. Full: a ``transformers`` folder with the tokenizer.
    ``prefix`` is the model's name inside ``net`` (its weights' names start with it).
    """
    weights = trainable_state(net)
    if d.is_main:
        state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
        with atomic_dir(folder) as tmp, no_transformers_bar():
            if hasattr(model, "peft_config"):
                # polyalign never resizes the vocabulary: no base embeddings to save, and peft's "auto" would
                # look the base up on the hub (a DNS lookup and two warnings per save when offline)
                model.save_pretrained(tmp, safe_serialization=True, state_dict=state, save_embedding_layers=False)
                # peft's template card ("[More Information Needed]") claims nothing true of this model:
                # polyalign's own card takes its place where one is written (train's model/, a run's report)
                (tmp / "README.md").unlink(missing_ok=True)
            else:
                model.save_pretrained(tmp, state_dict=state, safe_serialization=True)
                if hasattr(tokenizer, "save_pretrained"):
                    tokenizer.save_pretrained(tmp)
    barrier(d)
