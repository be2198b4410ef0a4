"""``polyalign export``: hand a trained model over in the form its users load.

* ``merged`` (default): the LoRA update folded into the base weights, saved with the tokenizer
  as a plain ``transformers`` folder (``AutoModelForCausalLM.from_pretrained(OUT)``).
* ``adapter``: the adapter alone (``adapter_config.json`` + ``adapter_model.safetensors``) for
  ``peft`` (``PeftModel.from_pretrained(base, OUT)``), its config naming the base model.

The source is a training output folder (``output_dir`` of ``polyalign train`` or a ``polyalign
run`` directory, whose ``model/`` is used), an adapter / model folder itself, or a checkpoint
(``<output_dir>/checkpoints/step-N``: an earlier point of the run, rebuilt from the run's
``config.yaml``). A full fine-tune is already a ``transformers`` folder: ``merged`` copies it;
``adapter`` is refused.

``OUT`` is written only where nothing of the user's is: a new path, an empty folder, or (with
``overwrite``) an earlier export of the same kind holding only the files it wrote, which polyalign
recognises by the marker file it leaves in every export (:data:`MARKER`: the mode, the base model,
where the model came from, and every file the export wrote). A file added to an export afterwards
stops ``--overwrite`` (it would be lost) and stays behind at ``push``. ``OUT`` is never the source,
inside it, or above it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

import yaml

from polyalign.config import TrainJobConfig
from polyalign.hub import no_transformers_bar, resolve
from polyalign.io import InputError, atomic_dir, require_folder, write_json
from polyalign.models import load_model, set_trainable
from polyalign.outputs import check_output_dir
from polyalign.recipe import load_recipe
from polyalign.report.claims import run_claims
from polyalign.report.model_card import CARD, base_of, library_of, locate, model_card
from polyalign.run_config import RunConfig

Mode = Literal["merged", "adapter"]
MARKER = "polyalign_export.json"  # in every export: what it is, so a later export may replace it


def find_model_folder(source: str | Path, command: str = "export") -> Path:
    """The adapter or model folder inside ``source`` (``source/model``, or ``source`` itself); ``command``
    names the command an error suggests (``export``, ``push``)."""
    src = require_folder(Path(source).expanduser())
    for folder in (src / "model", src):
        if (folder / "adapter_config.json").is_file() or (folder / "config.json").is_file():
            return folder
    arms = sorted(p.name for p in (src / "arms").glob("*") if (p / "model").is_dir()) if (src / "arms").is_dir() else []
    if arms:  # an experiment: one tuned model per arm
        raise InputError(
            f"is an experiment: its tuned models are in arms/<arm>/ ({', '.join(arms)}); {command} one, e.g. "
            f"polyalign {command} {src / 'arms' / arms[0]} {'OUT' if command == 'export' else 'OWNER/NAME'}",
            src,
        )
    raise InputError("holds no trained model (no model/adapter_config.json or model/config.json)", src)


def base_model_of(source: Path, adapter: Path) -> str:
    """The base model an adapter (or a fully tuned model) was trained on: the recorded settings of its
    run or training job, else what the folder's own config names, else ``"unknown"``. The folder's own
    note can be the path a hub id resolved to on the training machine (before polyalign recorded the
    name as given), which no one else has."""
    configs = [d / name for d in (source, source.parent) for name in ("config.yaml", "train_config.yaml")]
    for config in configs:
        if config.is_file():
            try:
                recorded = yaml.safe_load(config.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):  # someone else's file beside the model: not ours
                continue
            model = recorded.get("model") if isinstance(recorded, dict) else None
            name = model.get("model_name_or_path") if isinstance(model, dict) else None
            if isinstance(name, str) and name:
                return name
    return base_of(adapter)  # "unknown" when nothing names it


def check_destination(src: Path, out: Path, mode: Mode, overwrite: bool = False) -> None:
    """Refuse an ``out`` that is not polyalign's to write (see the module docstring)."""
    require_folder(src)
    s, o = src.resolve(), out.resolve()
    if o == s:
        raise InputError("is the source itself: export into a new folder", out)
    if s in o.parents:
        raise InputError(f"is inside the source {src}: export into a folder outside it", out)
    if o in s.parents:
        raise InputError(f"holds the source {src}: export into a new folder", out)
    if out.exists() and not out.is_dir():
        raise InputError("is a file: export writes a folder; choose a new path", out)
    if out.is_dir() and any(out.iterdir()):
        marker = out / MARKER
        kind = None
        if marker.is_file():
            try:
                kind = json.loads(marker.read_text(encoding="utf-8")).get("mode")
            except (ValueError, AttributeError):
                kind = None
        if kind is None:
            raise InputError("exists and is not a polyalign export: choose a new folder (nothing was changed)", out)
        if kind != mode:
            raise InputError(f"holds an earlier {kind} export, not {mode}: choose another folder", out)
        if not overwrite:
            raise InputError(f"holds an earlier {kind} export: pass --overwrite to replace it", out)
        extra = files_not_exported(out)
        if extra is None:
            raise InputError(
                "holds an export by an older polyalign, which did not record the files it wrote: "
                "remove it yourself or choose a new folder (nothing was changed)",
                out,
            )
        if extra:
            shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
            raise InputError(
                f"holds files the earlier export did not write ({shown}): move them out or choose a new folder "
                "(nothing was changed)",
                out,
            )
    check_output_dir(out)


def exported_files(folder: Path) -> list[str]:
    """Every file under ``folder``, as paths relative to it (``/``-separated), sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def files_not_exported(folder: Path) -> list[str] | None:
    """The files in an export folder that its marker does not list (added after the export); ``None``
    for an export whose marker lists no files (an older polyalign's: what it wrote is not known)."""
    try:
        listed = json.loads((folder / MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    if not isinstance(listed, list):
        return None
    return [f for f in exported_files(folder) if f != MARKER and f not in set(listed)]


def source_name(src: Path) -> str:
    """Where an exported model came from, without the machine's folders (the marker travels with
    ``push``): ``<run>/arms/<arm>`` inside a run, else the source folder's own name."""
    run_dir, _, _ = locate(src)
    s = src.resolve()
    if run_dir is not None and (s == run_dir or run_dir in s.parents):
        return (Path(run_dir.name) / s.relative_to(run_dir)).as_posix()
    return s.name


def _mark(folder: Path, mode: Mode, src: Path, base_name: str | None) -> None:
    """The marker (what this export is) and the model card (what was trained and measured)."""

    base = base_name or base_of(folder)
    card = model_card(src, base, library_of(folder), claims=run_claims(locate(src)[0]))
    (folder / CARD).write_text(card, encoding="utf-8")
    files = [f for f in exported_files(folder) if f != MARKER]
    write_json(folder / MARKER, {"mode": mode, "source": source_name(src), "base_model": base_name, "files": files})


def export(
    source: str | Path,
    out: str | Path,
    mode: Mode = "merged",
    base: str | None = None,
    dtype: str = "float32",
    overwrite: bool = False,
) -> Path:
    """Write the exported model to ``out`` (atomically) and return ``out``.

    ``overwrite`` replaces an earlier export of the same ``mode`` at ``out``; anything else
    already at ``out`` is refused before any work.
    """
    src = Path(source).expanduser()
    out = Path(out).expanduser()
    if mode == "adapter" and dtype != "float32":
        raise InputError(f"--dtype {dtype} applies to --mode merged: an adapter is exported as it was trained")
    check_destination(src, out, mode, overwrite)
    if (src / "trainer_state.json").is_file() and (src / "weights.safetensors").is_file():  # a checkpoint
        return _export_checkpoint(src, out, mode, base, dtype)
    folder = find_model_folder(src)
    is_adapter = (folder / "adapter_config.json").is_file()
    if not is_adapter:
        if mode == "adapter":
            raise InputError("a full fine-tune has no adapter to export: use --mode merged", folder)
        with atomic_dir(out) as tmp:
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
            _mark(tmp, mode, src, base or base_model_of(src, folder))
        return out

    base_name = base or base_model_of(src, folder)
    if base_name == "unknown":
        raise InputError("cannot tell the base model: pass --base", folder)
    if mode == "adapter":
        with atomic_dir(out) as tmp:
            for f in folder.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
            _name_base(tmp, base_name)
            _mark(tmp, mode, src, base_name)
        return out

    resolve(base_name)  # one clear line when the base is missing
    model, tokenizer = load_model(base_name, dtype, adapter=folder)  # merged into the weights
    return _save_merged(model, tokenizer, base_name, out, src)


def _export_checkpoint(src: Path, out: Path, mode: Mode, base: str | None, dtype: str) -> Path:
    model, tokenizer, settings = model_from_checkpoint(src, dtype)
    base_name = base or settings.model.model_name_or_path
    is_adapter = hasattr(model, "peft_config")
    if not is_adapter and mode == "adapter":
        raise InputError("a full fine-tune has no adapter to export: use --mode merged", src)
    if mode == "adapter":
        with atomic_dir(out) as tmp:
            model.save_pretrained(tmp, safe_serialization=True, save_embedding_layers=False)  # see save_model
            _name_base(tmp, base_name)
            _mark(tmp, mode, src, base_name)
        return out
    return _save_merged(model.merge_and_unload() if is_adapter else model, tokenizer, base_name, out, src)


def naming_base(config: dict[str, Any], base_name: str) -> str:
    """The text of adapter config ``config`` with ``base_name`` as its base model (what an export writes
    and a push uploads)."""
    return json.dumps({**config, "base_model_name_or_path": base_name}, indent=2) + "\n"


def _name_base(adapter: Path, base_name: str) -> None:
    """Name ``base_name`` as the base model in the adapter folder's ``adapter_config.json``."""
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    (adapter / "adapter_config.json").write_text(naming_base(config, base_name), encoding="utf-8")


def _save_merged(model: Any, tokenizer: Any, base_name: str, out: Path, src: Path) -> Path:
    """Save a model with its weights final (LoRA merged) as a plain ``transformers`` folder."""
    model.config.name_or_path = base_name
    with atomic_dir(out) as tmp, no_transformers_bar():
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _mark(tmp, "merged", src, base_name)
    return out


def model_from_checkpoint(path: str | Path, dtype: str | None = None) -> tuple[Any, Any, Any]:
    """The model a training checkpoint holds: ``(model, tokenizer, settings)``.

    The base model and the training settings come from the settings file of the training job the
    checkpoint belongs to (``<output_dir>/checkpoints/step-N``): ``train_config.yaml``, or the
    ``config.yaml`` of runs made before it existed; the trained weights are put back into it.
    LoRA gives a peft model, a full fine-tune a plain ``transformers`` model.
    """
    from polyalign.train.checkpoint import read_weights  # torch

    path = Path(path)
    job_dir = path.parent.parent
    config = next((c for c in (job_dir / "train_config.yaml", job_dir / "config.yaml") if c.is_file()), None)
    if config is None:
        raise InputError(
            f"no train_config.yaml of its run at {job_dir / 'train_config.yaml'}: cannot tell the base "
            "model and settings",
            path,
        )
    recorded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    settings = load_recipe(config, cls=TrainJobConfig if "train_file" in recorded else RunConfig)
    model, tokenizer = load_model(
        settings.model.model_name_or_path, dtype or settings.model.dtype, settings.model.trust_remote_code
    )
    model = set_trainable(model, **settings.train.trainable())
    if not (path / "weights.safetensors").is_file():
        raise InputError("not a checkpoint: no weights.safetensors", path)
    # Checkpoints name parameters as the training module does: the model sits under "lm.".
    weights = {k.removeprefix("lm."): v for k, v in read_weights(path).items()}
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if not expected <= set(weights):
        missing = sorted(expected - set(weights))
        raise InputError(
            f"does not match the settings in {config}: {len(missing)} trained weights missing (e.g. {missing[0]})", path
        )
    own = model.state_dict()
    model.load_state_dict({**own, **{k: v.to(own[k].dtype) for k, v in weights.items() if k in own}})
    model.eval()
    return model, tokenizer, settings
