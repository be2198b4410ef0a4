"""polyinstruct v1: a small multilingual instruction set written for polyalign and shipped with it.

General English instructions with short reference answers, each translated into Spanish,
French, German, Chinese, Arabic, Russian, Hindi, Vietnamese, Turkish and Greek, split into train
and test. The embedded default trains on the English and Spanish train items; instruction-
following evaluation (MI-Eval style) uses the test items, which no builder ever trains on.

The file (``resources/polyinstruct_v1.jsonl``) holds one item a line::

    {"id": "pi-0001", "split": "train", "category": "science",
     "langs": {"en": {"instruction": ..., "input": ..., "output": ...}, "es": {...}, ...}}

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import os
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.io import InputError, iter_jsonl

POLYINSTRUCT_LANGUAGES = ("en", "es", "fr", "de", "zh", "ar", "ru", "hi", "vi", "tr", "el")
"""Every language of polyinstruct v1, English first."""

POLYINSTRUCT_VERSION = "polyinstruct_v1"
FIELDS = ("instruction", "input", "output")


def polyinstruct_path() -> Path:
    """The shipped ``polyinstruct_v1.jsonl``."""
    return Path(str(package_files.files("polyalign") / "resources" / "polyinstruct_v1.jsonl"))


def polyinstruct_items(path: str | os.PathLike | None = None, languages: tuple[str, ...] = POLYINSTRUCT_LANGUAGES) -> list[dict[str, Any]]:
    """Every item of the set, validated: ids unique, splits known, ``languages`` and their fields present.

    The shipped file holds all of :data:`POLYINSTRUCT_LANGUAGES`; a file of your own in the same format needs
    only the languages you read from it.
    """
    path = Path(path) if path is not None else polyinstruct_path()
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, rec in iter_jsonl(path):
        item_id = rec.get("id")
        if not isinstance(item_id, str) or item_id in seen:
            raise InputError(f"missing or repeated id {item_id!r}", path, line)
        seen.add(item_id)
        if rec.get("split") not in ("train", "test"):
            raise InputError(f"split must be 'train' or 'test', got {rec.get('split')!r}", path, line)
        table = rec.get("langs")
        if not isinstance(table, dict):
            raise InputError("missing 'langs' object", path, line)
        for code in languages:
            entry = table.get(code)
            if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) for f in FIELDS):
                raise InputError(f"language {code!r} needs string fields {', '.join(FIELDS)}", path, line)
            if not entry["instruction"].strip() or not entry["output"].strip():
                raise InputError(f"language {code!r} has an empty instruction or output", path, line)
        out.append(rec)
    return out


def polyinstruct(lang: str, split: str | None = None, path: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Alpaca records ``{"id", "instruction", "input", "output", "category"}`` of one language (and split).

    >>> rows = polyinstruct("es", "train")
    >>> sorted(rows[0])
    ['category', 'id', 'input', 'instruction', 'output']
    >>> len(polyinstruct("el")) == len(polyinstruct("en"))
    True
    """
    code = langs.base(lang)
    if path is None and code not in POLYINSTRUCT_LANGUAGES:
        raise InputError(f"polyinstruct v1 has no {lang!r}: it has {', '.join(POLYINSTRUCT_LANGUAGES)}")
    if split not in (None, "train", "test"):
        raise InputError(f"split must be 'train', 'test' or None, got {split!r}")
    return [
        {"id": it["id"], **{f: it["langs"][code][f] for f in FIELDS}, "category": it.get("category", "")}
        for it in polyinstruct_items(path, languages=(code,))
        if split is None or it["split"] == split
    ]
