"""Recipe keys of earlier versions, and how each is read today: retired keys are skipped with one
line saying why, renamed ones are read under their new name. :mod:`polyalign.recipe` applies them to
a recipe being read, :mod:`polyalign.run_dir` to a run's stored ``config.yaml`` before comparing it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Keys older recipes may still hold: each is skipped with one line saying why it is gone.
RETIRED = {"eval.tasks": "the held-out translation pairs are always evaluated; other tasks go in eval.suite"}


# Run-recipe keys with a new name: (old, new, why). Read under the new name, with a warning line.
RENAMED = [("output_dir", "runs_dir", "the folder that holds run directories; output_dir names a job's own folder")]


def rename_old_keys(data: dict[str, Any], lines: dict[str, int] | None = None, path: Path | None = None) -> None:
    """Move a run recipe's old top-level keys (:data:`RENAMED`) to their new names, in place; say so
    once per key when ``path`` is given (a file being read, not a stored ``config.yaml``)."""
    for old, new, why in RENAMED:
        if old in data and new not in data:
            data[new] = data.pop(old)
            if lines is not None and old in lines:
                lines[new] = lines[old]
            if path is not None:
                where = f"{path}:{lines[old]}: " if lines and old in lines else f"{path}: "
                print(f"warning: {where}'{old}' is now '{new}' ({why})", file=sys.stderr)


def drop_retired(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a resolved recipe as a dict) without the :data:`RETIRED` keys, old keys renamed."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    rename_old_keys(out)
    for dotted in RETIRED:
        section, _, key = dotted.partition(".")
        if isinstance(out.get(section), dict):
            out[section].pop(key, None)
    return out
