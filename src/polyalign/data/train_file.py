"""A minimal reader for training files: conversations in ``messages``, alpaca or sharegpt form.

``polyalign train train_file=PATH`` reads a JSON Lines file (one record a line) or a JSON file
holding a list of records. Each record is one of:

* ``{"messages": [{"role", "content"}, ...]}`` (what ``polyalign data build`` writes);
* alpaca: ``{"instruction", "input" (optional), "output", "system" (optional)}``;
* sharegpt: ``{"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]}``.

Every record becomes ``{"messages": [...]}``. A record that fits none of them is an
:class:`~polyalign.io.InputError` naming the file and line. Light: no torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polyalign.data.records import validate_messages
from polyalign.io import InputError, iter_jsonl

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def to_messages(record: dict[str, Any]) -> list[dict[str, str]]:
    """The conversation a record holds, in ``messages`` form; ``ValueError`` saying why not.

    >>> to_messages({"instruction": "Translate to Spanish.", "input": "Open", "output": "Abrir"})
    [{'role': 'user', 'content': 'Translate to Spanish.\\n\\nOpen'}, {'role': 'assistant', 'content': 'Abrir'}]
    >>> to_messages({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hola"}]})
    [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hola'}]
    """
    if "messages" in record:
        messages = record["messages"]
    elif "conversations" in record:
        turns = record["conversations"]
        if not isinstance(turns, list):
            raise ValueError("'conversations' must be a list")
        messages = []
        for i, t in enumerate(turns):
            if not isinstance(t, dict) or t.get("from") not in SHAREGPT_ROLES:
                raise ValueError(f"conversations[{i}].from must be one of {', '.join(SHAREGPT_ROLES)}")
            messages.append({"role": SHAREGPT_ROLES[t["from"]], "content": t.get("value")})
    elif "instruction" in record and "output" in record:
        fields = [record.get(k) for k in ("instruction", "input", "output", "system")]
        if not all(isinstance(v, str) for v in fields[:1] + fields[2:3]) or not all(v is None or isinstance(v, str) for v in fields):
            raise ValueError("alpaca fields 'instruction', 'input', 'output', 'system' must be strings")
        instruction, extra, output, system = fields
        user = f"{instruction}\n\n{extra}" if extra else instruction
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user},
            {"role": "assistant", "content": output},
        ]
    else:
        raise ValueError("expected 'messages', 'conversations' (sharegpt) or 'instruction' + 'output' (alpaca)")
    problem = validate_messages(messages)
    if problem:
        raise ValueError(problem)
    return [{"role": m["role"], "content": m["content"]} for m in messages]


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
    if p.suffix == ".json":
        return _read_json_list(p)
    out = []
    for lineno, record in iter_jsonl(p):
        try:
            out.append({"messages": to_messages(record)})
        except ValueError as e:
            raise InputError(str(e), p, lineno) from None
    return out


def _read_json_list(p: Path) -> list[dict[str, Any]]:
    try:
        records = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8", p) from None
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", p, e.lineno) from None
    if not isinstance(records, list):
        raise InputError("a .json training file must hold a list of records", p, 1)
    out = []
    for i, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise ValueError("expected an object")
            out.append({"messages": to_messages(record)})
        except ValueError as e:
            raise InputError(f"record {i}: {e}", p) from None
    return out
