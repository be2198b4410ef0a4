"""A run directory: made for one recipe, refused to another, and what a rerun may change in it.

``runs/<name>/config.yaml`` records the resolved recipe the directory was made with. A rerun with
the same recipe resumes; one that changes only what no finished stage depends on is allowed (and
recorded); anything else is refused with the keys that differ, and nothing is overwritten.
``--refresh-data`` is refused once anything was built on the run's frozen data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from polyalign.coerce import config_to_dict, dump_recipe, flat_dict
from polyalign.frozen_model import freeze
from polyalign.io import InputError, atomic_write, log
from polyalign.old_keys import drop_retired
from polyalign.outputs import check_new_output_dir
from polyalign.run_config import RunConfig

# Recipe keys a rerun may change in a run directory: they change no finished stage's result.
FREE_KEYS = ("eval.batch_size",)
# ... and those it may change while the stage they belong to has not finished.
UNFINISHED_KEYS = {
    "train.max_steps": "train_summary.json",
    "train.num_train_epochs": "train_summary.json",
    "train.save_steps": "train_summary.json",
    "train.save_total_limit": "train_summary.json",
    "train.logging_steps": "train_summary.json",
}


def recipe_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (old, new)}`` for every setting that differs between two resolved recipes.

    >>> recipe_changes({"eval": {"batch_size": 8}, "seed": 0}, {"eval": {"batch_size": 16}, "seed": 0})
    {'eval.batch_size': (8, 16)}
    """
    a, b = flat_dict(old), flat_dict(new)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def prepare_run_dir(cfg: RunConfig) -> Path:
    """Create ``output_dir/name`` with ``config.yaml``; refuse one made by a different recipe.

    A rerun may change what no finished stage depends on (:data:`FREE_KEYS`, and the training
    length while training has not finished); a run whose first stage never finished may be rerun
    with any recipe. Anything else names the keys that differ.
    """
    run_dir = cfg.run_dir
    path = run_dir / "config.yaml"
    if path.is_file():
        old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        changes = recipe_changes(drop_retired(old), config_to_dict(cfg))
        started = (run_dir / "data" / "manifest.json").is_file()
        blocking = {
            k: v
            for k, v in changes.items()
            if started
            and k not in FREE_KEYS
            and not (k in UNFINISHED_KEYS and not (run_dir / UNFINISHED_KEYS[k]).is_file())
        }
        if blocking:
            said = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in list(blocking.items())[:4])
            more = f" and {len(blocking) - 4} more" if len(blocking) > 4 else ""
            raise InputError(
                f"this run directory was made by a different recipe ({said}{more}); "
                "choose another name=... or remove it",
                path,
            )
        if changes:
            log(f"run: recipe changed ({', '.join(changes)}); no finished stage depends on it")
            with atomic_write(path) as f:
                f.write(dump_recipe(cfg))
    else:
        check_new_output_dir(run_dir, "a run directory", "choose another name=... or runs_dir=...")
        with atomic_write(path) as f:
            f.write(dump_recipe(cfg))
    return run_dir


# What a run builds on its frozen data: --refresh-data refuses while any of these exists.
BUILT_ON_DATA = (
    "eval",
    "arms",
    "points",
    "scaling",
    "analysis",
    "judge",
    "checkpoints",
    "model",
    "train_summary.json",
    "summary.json",
)


def check_refresh(run_dir: Path) -> None:
    """Refuse ``--refresh-data`` when anything in ``run_dir`` was computed from its frozen data.

    Reading the sources again would give new held-out tests and new training pairs, and results
    already there would no longer match them; polyalign deletes none of them, so it says which."""
    used = [name for name in BUILT_ON_DATA if (run_dir / name).exists()]
    if used:
        raise InputError(
            f"--refresh-data: {run_dir} already has results built on its frozen data ({', '.join(used)}), which "
            "new data would not match: start a new run (name=...) to read the sources again (nothing was changed)"
        )


def freeze_model(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The run's base model resolved once and held (:func:`polyalign.frozen_model.freeze`); a model that
    resolves to other files than the run started on is refused once anything was built on it."""
    started = any((run_dir / x).exists() for x in BUILT_ON_DATA)
    return freeze(cfg.model.model_name_or_path, run_dir, started)
