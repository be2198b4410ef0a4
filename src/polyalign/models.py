"""Load models and tokenizers; attach, save and merge LoRA adapters.

A model is named by a Hugging Face hub id or a local folder, which :func:`polyalign.hub.resolve`
turns into a local folder (the default model works with no network: :mod:`polyalign.hub`).

Weights are read with safetensors only; remote code runs only when the user asks for it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

from polyalign.hub import no_transformers_bar, resolve
from polyalign.io import InputError

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def require_safetensors(folder: Path, name: str | os.PathLike) -> Path:
    """``folder`` if it holds safetensors weights; pickled weights alone are refused, never loaded."""
    if not any(Path(folder).glob("*.safetensors")):
        raise InputError("no safetensors weights in this model (polyalign does not load pickled weights)", name)
    return Path(folder)


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer, with a pad token (the end-of-sequence token when none is set)."""
    from transformers import AutoTokenizer

    path = resolve(name_or_path)
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(
    name_or_path: str,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    adapter: str | os.PathLike | None = None,
    attn_implementation: str | None = None,
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a hub id or local folder, in eval mode, safetensors only.

    With ``adapter``, a saved LoRA adapter folder is applied and merged into the weights.
    ``attn_implementation`` picks the attention kernel (transformers' default when ``None``).
    """
    import torch
    from transformers import AutoModelForCausalLM

    path = require_safetensors(resolve(name_or_path), name_or_path)
    tok = load_tokenizer(str(path), trust_remote_code)
    with no_transformers_bar():
        model = AutoModelForCausalLM.from_pretrained(
            path,
            dtype=getattr(torch, _DTYPES[dtype]),
            trust_remote_code=trust_remote_code,
            use_safetensors=True,
            **({"attn_implementation": attn_implementation} if attn_implementation else {}),
        )
    # What a saved adapter or model names as its base is the name given, not where it resolved to
    # (a hub id offline resolves to a converted copy in this machine's cache, which no one else has).
    model.name_or_path = model.config._name_or_path = str(name_or_path)
    if adapter is not None:
        model = load_adapter(model, adapter).merge_and_unload()
    model.eval()
    return model, tok


# peft still asks models for ``is_gradient_checkpointing``, which transformers 5 deprecates: a
# warning about the two libraries, not about anything the user did.
_PEFT_NOISE = r"`is_gradient_checkpointing` is deprecated"


def attach_lora(model: Any, rank: int, alpha: float, dropout: float, target: str) -> Any:
    """Wrap ``model`` with fresh LoRA adapters; only the adapters are trainable."""
    from peft import LoraConfig, get_peft_model

    targets: str | list[str] = (
        "all-linear" if target == "all-linear" else [t.strip() for t in target.split(",") if t.strip()]
    )
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _PEFT_NOISE, FutureWarning)
        return get_peft_model(model, config)


def load_adapter(model: Any, adapter: str | Path) -> Any:
    """``model`` with the saved LoRA adapter ``adapter`` (a peft folder) attached."""
    from peft import PeftModel

    require_safetensors(Path(adapter), adapter)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _PEFT_NOISE, FutureWarning)
        try:
            return PeftModel.from_pretrained(model, str(adapter))
        except RuntimeError as e:
            if "size mismatch" not in str(e):
                raise
            trained_on = _adapter_base(Path(adapter))
            raise InputError(
                f"does not fit the model it was given ({getattr(model.config, 'name_or_path', '?')}): its weights' "
                f"shapes differ{f'; it was trained on {trained_on}' if trained_on else ''} — give that model "
                "as --model",
                adapter,
            ) from None


def _adapter_base(adapter: Path) -> str | None:
    """The base model an adapter's ``adapter_config.json`` names, if it names one."""
    try:
        found = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found.get("base_model_name_or_path") if isinstance(found, dict) else None


def end_of_turn_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an assistant turn: the EOS token plus chat-format end markers."""
    ids = []
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    for marker in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>"):
        tid = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in ids and tid >= 0:
            ids.append(tid)
    return ids


def pick_attention(requested: str, on_cuda: bool, sixteen_bit: bool) -> str:
    """The attention kernel for training: ``auto`` means flash-attention 2 when it can run
    (a CUDA device, the ``flash-attn`` package, 16-bit compute), else PyTorch's SDPA.

    >>> pick_attention("auto", on_cuda=False, sixteen_bit=True)
    'sdpa'
    >>> pick_attention("eager", on_cuda=False, sixteen_bit=False)
    'eager'
    """
    if requested == "polyalign_varlen":
        return "sdpa"  # loaded as SDPA (generation needs it); training switches to varlen
    if requested != "auto":
        return requested
    if on_cuda and sixteen_bit and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def set_trainable(
    model: Any,
    finetuning_type: str,
    *,
    lora_rank: int,
    lora_alpha: float,
    lora_dropout: float,
    lora_target: str,
    gradient_checkpointing: bool,
) -> Any:
    """LoRA adapters (the base frozen) when ``finetuning_type`` is ``lora``, else every parameter;
    activation checkpointing on request (the settings of :class:`polyalign.config.TrainConfig`)."""
    if finetuning_type == "lora":
        model = attach_lora(model, lora_rank, lora_alpha, lora_dropout, lora_target)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    if gradient_checkpointing:
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        enable = (
            getattr(inner, "activation_checkpointing_enable", None) or inner.gradient_checkpointing_enable
        )  # renamed in 5.x
        enable({"use_reentrant": False})
    return model
