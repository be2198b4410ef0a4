"""The records polyalign's data stage reads and writes, and the validation of users' files.

* :class:`ParallelPair`: one sentence and its translation.
* An *example* (what ``data/train.jsonl`` holds) is a plain dict in the ``messages`` form that
  chat tools already read: ``{"id", "messages": [{"role", "content"}, ...], "meta": {...}}``.

Instruction files come in three shapes, all read into plain dicts:

* ``alpaca`` (``instruction``, ``input``, ``output``) → ``{"id", "instruction", "input", "output"}``
* ``sharegpt`` (``conversations`` of ``{"from", "value"}``) → ``{"id", "messages"}``
* ``messages`` (``messages`` of ``{"role", "content"}``) → ``{"id", "messages"}``

Parallel files (``parallel``) become :class:`ParallelPair`: JSONL with ``src``, ``tgt``,
``src_lang``, ``tgt_lang`` (the languages may come from the caller), TSV (one
``source<TAB>target`` per line, extra columns chosen by index), or two aligned text files. The
containers (JSON arrays, Parquet, Arrow, ``hf:`` datasets) are read by :mod:`polyalign.io`.
Every record is validated as it is read: a malformed line is an
:class:`~polyalign.io.InputError` naming the file and the line.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.io import InputError, require_file
from polyalign.rows import iter_rows, remap

ROLES = ("system", "user", "assistant")

Direction = Literal["en-x", "x-en", "both"]
"""Which way parallel pairs are read: English→X, X→English, or both (each pair and its :meth:`ParallelPair.flipped`)."""


@dataclass(frozen=True)
class ParallelPair:
    """A source sentence, its translation, their languages, and where the pair came from."""

    src: str
    tgt: str
    src_lang: str
    tgt_lang: str
    origin: str = ""
    """Where it came from, e.g. ``gettext:coreutils``; kept for the manifest's counts."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def flipped(self) -> ParallelPair:
        return ParallelPair(self.tgt, self.src, self.tgt_lang, self.src_lang, self.origin, self.meta)

    def to_json(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "tgt": self.tgt,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "origin": self.origin,
        }


def make_example(example_id: str, user: str, assistant: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A single-turn chat example in ``messages`` form."""
    return {
        "id": example_id,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "meta": meta,
    }


def alpaca_user(instruction: str, input_text: str = "") -> str:
    """The user turn of an alpaca record: the instruction, then its input after a blank line.

    >>> alpaca_user("Translate to Spanish.", "Open")
    'Translate to Spanish.\\n\\nOpen'
    """
    return f"{instruction}\n\n{input_text}" if input_text else instruction


def validate_messages(messages: Any) -> str | None:
    """Why ``messages`` is not a usable conversation, or ``None`` when it is.

    Usable: a non-empty list of ``{"role", "content"}`` with string content, roles from
    :data:`ROLES`, and at least one assistant turn (something to learn from).
    """
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}] must be an object"
        if m.get("role") not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}, got {m.get('role')!r}"
        if not isinstance(m.get("content"), str):
            return f"messages[{i}].content must be a string"
    first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), None)
    if first is None:
        return "no assistant turn to learn from"
    if not any(m["role"] == "user" for m in messages[:first]):
        return "no user turn before the first assistant turn (nothing the answer replies to)"
    return None


Format = Literal["alpaca", "sharegpt", "messages", "parallel"]
FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages", "parallel")

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "system": "system",
}


# ---------------------------------------------------------------------------------------------
# Validation: one function per format, each returning the normalised record or a reason


def as_alpaca(rec: Any, n: int) -> dict[str, str] | str:
    """An alpaca record normalised to ``{"id", "instruction", "input", "output"}`` (and ``system``
    when it has one), or why not."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    for key in ("instruction", "output"):
        if key not in rec:
            return f"missing field '{key}'"
        if not isinstance(rec[key], str):
            return f"field '{key}' must be a string"
        if not rec[key].strip():
            return f"field '{key}' is empty"
    inp = rec.get("input", "")
    if inp is None:
        inp = ""
    if not isinstance(inp, str):
        return "field 'input' must be a string"
    out = {"id": str(rec.get("id", n)), "instruction": rec["instruction"], "input": inp, "output": rec["output"]}
    if rec.get("system") is not None:
        if not isinstance(rec["system"], str):
            return "field 'system' must be a string"
        if rec["system"]:
            out["system"] = rec["system"]
    return out


def as_sharegpt(rec: Any, n: int) -> dict[str, Any] | str:
    """A sharegpt record (``conversations`` of ``from``/``value``) as ``{"id", "messages"}``, or why not."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    conv = rec.get("conversations")
    if not isinstance(conv, list) or not conv:
        return "missing field 'conversations' (a non-empty list)"
    messages = []
    for i, turn in enumerate(conv):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            return f"conversations[{i}] must have 'from' and 'value'"
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            return f"conversations[{i}].from {turn['from']!r} is not one of {', '.join(sorted(SHAREGPT_ROLES))}"
        messages.append({"role": role, "content": turn["value"]})
    if rec.get("system"):
        messages.insert(0, {"role": "system", "content": rec["system"]})
    why = validate_messages(messages)
    return why if why else {"id": str(rec.get("id", n)), "messages": messages}


def as_messages(rec: Any, n: int) -> dict[str, Any] | str:
    """A ``messages`` record as ``{"id", "messages"}``, or why not."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    if "messages" not in rec:
        return "missing field 'messages'"
    messages = (
        [{"role": m.get("role"), "content": m.get("content")} if isinstance(m, dict) else m for m in rec["messages"]]
        if isinstance(rec["messages"], list)
        else rec["messages"]
    )
    why = validate_messages(messages)
    return why if why else {"id": str(rec.get("id", n)), "messages": messages}


def as_pair(rec: Any, src_lang: str | None, tgt_lang: str | None, origin: str) -> ParallelPair | str:
    """A parallel record (``src``, ``tgt``, languages from the record or the caller), or why not."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    for key in ("src", "tgt"):
        if key not in rec or rec[key] is None:
            return f"missing field '{key}'"
        if not isinstance(rec[key], str):
            return f"field '{key}' must be a string"
    codes = []
    for key, given in (("src_lang", src_lang), ("tgt_lang", tgt_lang)):
        code = rec.get(key) or given
        if not code:
            return f"missing field '{key}' (or give the language)"
        try:
            codes.append(langs.check(str(code)))
        except InputError as e:
            return f"{key}: {e.message}"
    return ParallelPair(rec["src"], rec["tgt"], codes[0], codes[1], origin)


_VALIDATORS: dict[str, Callable[[Any, int], Any]] = {
    "alpaca": as_alpaca,
    "sharegpt": as_sharegpt,
    "messages": as_messages,
}


def detect_format(path: str | os.PathLike) -> Literal["alpaca", "sharegpt", "messages"]:
    """An instruction file's format, from its first record's fields (alpaca when in doubt)."""
    for _, rec in iter_rows(path):
        if isinstance(rec, dict) and "conversations" in rec:
            return "sharegpt"
        if isinstance(rec, dict) and "messages" in rec:
            return "messages"
        return "alpaca"
    return "alpaca"


def read_instructions(
    path: str | os.PathLike, fmt: Literal["alpaca", "sharegpt", "messages"], columns: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Validated instruction records from a file (or ``hf:...``) in format ``fmt``.

    >>> import json, tempfile
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    >>> _ = f.write(json.dumps({"instruction": "Name a colour.", "output": "Blue."}) + "\\n"); f.close()
    >>> list(read_instructions(f.name, "alpaca"))
    [{'id': '1', 'instruction': 'Name a colour.', 'input': '', 'output': 'Blue.'}]
    """
    check = _VALIDATORS[fmt]
    for where, rec in iter_rows(path):
        out = check(remap(rec, columns), where)
        if isinstance(out, str):
            raise InputError(out, path, where)
        yield out


def read_instructions_as_written(
    path: str | os.PathLike, fmt: Literal["alpaca", "sharegpt", "messages"]
) -> Iterator[Any]:
    """Instruction records exactly as the file holds them (every field, an integer ``id``, kept),
    each checked as :func:`read_instructions` checks it: what a translation writes back."""
    check = _VALIDATORS[fmt]
    for where, rec in iter_rows(path):
        out = check(rec, where)
        if isinstance(out, str):
            raise InputError(out, path, where)
        yield rec


def read_parallel(
    path: str | os.PathLike,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    columns: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> Iterator[ParallelPair]:
    """Validated pairs from parallel JSONL, a JSON array, Parquet, Arrow, ``hf:...`` or a TSV file.

    A ``.tsv`` file is read as ``source<TAB>target`` lines (see :func:`read_tsv`); the languages
    may be given here when the records do not carry them.
    """
    spec = str(path)
    origin = origin or (spec if spec.startswith("hf:") else f"file:{Path(spec).name}")
    if not spec.startswith("hf:") and Path(spec).suffix.lower() in (".tsv", ".tab"):
        if not src_lang or not tgt_lang:
            raise InputError("a TSV file needs its languages (src_lang and tgt_lang)", path)
        yield from read_tsv(path, src_lang, tgt_lang, origin=origin)
        return
    for where, rec in iter_rows(path):
        out = as_pair(remap(rec, columns), src_lang, tgt_lang, origin)
        if isinstance(out, str):
            raise InputError(out, path, where)
        yield out


def read_tsv(
    path: str | os.PathLike, src_lang: str, tgt_lang: str, src_col: int = 0, tgt_col: int = 1, origin: str | None = None
) -> Iterator[ParallelPair]:
    """Pairs from a tab-separated file, one pair a line; a line without enough tabs is an error, and so
    is a third non-empty column when the first two are read (its columns would be a guess).

    ``src_col`` and ``tgt_col`` pick the columns (WikiMatrix puts a score first: use 1 and 2).
    """
    path = require_file(path)
    s, t = langs.check(src_lang), langs.check(tgt_lang)
    origin = origin or f"file:{path.name}"
    need = max(src_col, tgt_col) + 1
    first = True
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(f"not UTF-8 (column {e.start + 1})", path, lineno) from None
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < need:
                what = "no tab" if len(cols) == 1 else f"{len(cols)} columns"
                raise InputError(f"expected {need} tab-separated columns, found {what}", path, lineno)
            if (src_col, tgt_col) == (0, 1) and any(c.strip() for c in cols[need:]):  # not a trailing tab
                raise InputError(
                    f"expected 2 tab-separated columns (source, target), found {len(cols)}: a file with more "
                    "(a WikiMatrix score first, say) would be read from its first two; keep the two you mean",
                    path,
                    lineno,
                )
            if first and is_header(cols[src_col], cols[tgt_col], s, t):
                print(
                    f"[polyalign] {path}:{lineno}: skipped a header row ({cols[src_col]!r}, {cols[tgt_col]!r})",
                    file=sys.stderr,
                    flush=True,
                )
                first = False
                continue
            first = False
            yield ParallelPair(cols[src_col], cols[tgt_col], s, t, origin)


HEADER_WORDS = {
    "src",
    "tgt",
    "source",
    "target",
    "text",
    "sentence",
    "translation",
    "input",
    "output",
    "original",
    "reference",
    "ref",
    "src_text",
    "tgt_text",
    "source_text",
    "target_text",
    "sentence1",
    "sentence2",
}


def is_header(a: str, b: str, src_lang: str, tgt_lang: str) -> bool:
    """Whether a TSV's first row names its columns (``src  tgt``, ``en  fr``, ``English  French``).

    >>> is_header("en", "fr", "en", "fr"), is_header("source", "target", "en", "es")
    (True, True)
    >>> is_header("Yes", "Oui", "en", "fr")
    False
    """

    def named(cell: str, lang: str) -> bool:
        c = cell.strip().lower()
        return c in HEADER_WORDS or c in (lang.lower(), langs.name(lang).lower(), langs.flores(lang).lower())

    return named(a, src_lang) and named(b, tgt_lang)


def read_two_files(
    src_path: str | os.PathLike, tgt_path: str | os.PathLike, src_lang: str, tgt_lang: str, origin: str | None = None
) -> Iterator[ParallelPair]:
    """Pairs from two aligned plain-text files, line ``n`` of one translating line ``n`` of the other.

    Files of different lengths are an error naming the shorter file and the first missing line.
    """
    src_path, tgt_path = Path(src_path), Path(tgt_path)
    for p in (src_path, tgt_path):
        require_file(p)
    if not src_lang or not tgt_lang:
        raise InputError("aligned text files need their languages (src_lang and tgt_lang)", src_path)
    s, t = langs.check(src_lang), langs.check(tgt_lang)
    origin = origin or f"file:{src_path.name}+{tgt_path.name}"
    with open(src_path, "rb") as fs, open(tgt_path, "rb") as ft:
        lineno = 0
        while True:
            a, b = fs.readline(), ft.readline()
            lineno += 1
            if not a and not b:
                return
            if not a or not b:
                short, long_ = (src_path, tgt_path) if not a else (tgt_path, src_path)
                raise InputError(
                    f"has {lineno - 1} lines but {long_} has more: aligned files must have equal lengths", short, lineno
                )
            texts = []
            for raw, p in ((a, src_path), (b, tgt_path)):
                try:
                    texts.append(raw.decode("utf-8").rstrip("\r\n"))
                except UnicodeDecodeError as e:
                    raise InputError(f"not UTF-8 (column {e.start + 1})", p, lineno) from None
            yield ParallelPair(texts[0], texts[1], s, t, origin)


def validate_file(
    path: str | os.PathLike,
    fmt: Format,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    tgt_path: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Read a whole file in ``fmt``; return ``{"format", "records", ...}`` or raise at the first bad
    line. A file without records is an error too."""
    if not str(path).startswith("hf:"):
        require_file(path)
    if fmt == "parallel":
        plain = tgt_path is not None or Path(path).suffix.lower() in (".tsv", ".tab")
        if plain and (not src_lang or not tgt_lang):
            raise InputError("give the languages of this parallel file: --src-lang L --tgt-lang L", path)
        if tgt_path is not None:
            pairs = read_two_files(path, tgt_path, src_lang or "", tgt_lang or "")
        else:
            pairs = read_parallel(path, src_lang, tgt_lang)
        n, directions = 0, {}
        try:
            for p in pairs:
                n += 1
                key = f"{p.src_lang}-{p.tgt_lang}"
                directions[key] = directions.get(key, 0) + 1
        except InputError as e:
            if e.message.endswith("(or give the language)"):
                e = InputError(
                    e.message.replace("(or give the language)", "(or give --src-lang/--tgt-lang)"), e.path, e.line
                )
            raise e from None
        info = {"format": fmt, "records": n, "directions": directions}
    else:
        info = {"format": fmt, "records": sum(1 for _ in read_instructions(path, fmt))}
    if not info["records"]:
        raise InputError(f"holds no {fmt} records (an empty file)", path)
    return info


# ---------------------------------------------------------------------------------------------
# Training files: conversations in messages, alpaca or sharegpt form, or a run directory


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
