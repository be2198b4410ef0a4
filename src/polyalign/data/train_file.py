"""Training files for ``polyalign train``: conversations in ``messages``, alpaca or sharegpt form.

``train_file=PATH`` names a JSON Lines file, a JSON file holding a list of records, a Parquet or
Arrow table, or a run directory (its built ``data/train.jsonl``). Records may mix the three
forms; each is validated by :mod:`polyalign.data.formats` and becomes ``{"messages": [...]}``:

* ``{"messages": [{"role", "content"}, ...]}`` (what ``polyalign data build`` writes);
* alpaca: ``{"instruction", "input" (optional), "output", "system" (optional)}``;
* sharegpt: ``{"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]}``.

A record that fits none of them is an :class:`~polyalign.io.InputError` naming the file and
line. Light: no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign.data.formats import as_alpaca, as_messages, as_sharegpt, iter_rows
from polyalign.data.records import alpaca_user
from polyalign.io import InputError


def to_messages(record: Any) -> list[dict[str, str]]:
    """The conversation a record holds, in ``messages`` form; ``ValueError`` saying why not.

    >>> to_messages({"instruction": "Translate to Spanish.", "input": "Open", "output": "Abrir"})
    [{'role': 'user', 'content': 'Translate to Spanish.\\n\\nOpen'}, {'role': 'assistant', 'content': 'Abrir'}]
    >>> to_messages({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hola"}]})
    [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hola'}]
    """
    if isinstance(record, dict) and "messages" in record:
        out = as_messages(record, 0)
    elif isinstance(record, dict) and "conversations" in record:
        out = as_sharegpt(record, 0)
    elif isinstance(record, dict) and "instruction" in record and "output" in record:
        out = as_alpaca(record, 0)
        if not isinstance(out, str):
            system = [{"role": "system", "content": out["system"]}] if "system" in out else []
            return system + [
                {"role": "user", "content": alpaca_user(out["instruction"], out["input"])},
                {"role": "assistant", "content": out["output"]},
            ]
    else:
        raise ValueError("expected 'messages', 'conversations' (sharegpt) or 'instruction' + 'output' (alpaca)")
    if isinstance(out, str):
        raise ValueError(out)
    return [{"role": m["role"], "content": m["content"]} for m in out["messages"]]


def resolve_train_file(path: str | Path) -> Path:
    """The file to read: ``path`` itself, or a run directory's built ``data/train.jsonl``."""
    p = Path(path).expanduser()
    if p.is_dir():
        for candidate in (p / "data" / "train.jsonl", p / "train.jsonl"):
            if candidate.is_file():
                return candidate
        raise InputError("folder holds no data/train.jsonl (a built mixture)", p)
    if not p.is_file():
        raise InputError("no such training file", p)
    return p


def read_train_file(path: str | Path) -> list[dict[str, Any]]:
    """Every conversation of a training file, as ``{"messages": [...]}`` records, in order."""
    p = resolve_train_file(path)
    out = []
    for where, record in iter_rows(p):
        try:
            out.append({"messages": to_messages(record)})
        except ValueError as e:
            raise InputError(str(e), p, where) from None
    return out
