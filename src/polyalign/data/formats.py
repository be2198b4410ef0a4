"""Readers of the files users bring: instruction sets and parallel corpora, streamed.

Instruction data comes in three shapes, all read into plain dicts:

* ``alpaca`` (``instruction``, ``input``, ``output``) → ``{"id", "instruction", "input", "output"}``
* ``sharegpt`` (``conversations`` of ``{"from", "value"}``) → ``{"id", "messages"}``
* ``messages`` (``messages`` of ``{"role", "content"}``) → ``{"id", "messages"}``

Parallel data (``parallel``) becomes :class:`~polyalign.data.records.ParallelPair`:

* JSONL with ``src``, ``tgt``, ``src_lang``, ``tgt_lang`` (the languages may come from the caller),
* TSV, one ``source<TAB>target`` per line (WikiMatrix-style extra columns chosen by index),
* two aligned plain-text files, one sentence per line.

Any of them may also be a JSON array file (``.json``, read incrementally), a Parquet or Arrow
file (read in record batches), or a Hugging Face dataset named ``hf:ORG/NAME[:CONFIG][@SPLIT]``
(streamed), with a column mapping such as ``{"src": "translation.en", "tgt": "translation.es"}``
(in a recipe: ``hf:ORG/NAME#src=translation.en,tgt=translation.{lang}``, see :func:`split_columns`).

Everything streams, so memory stays bounded whatever the file size, and every record is
validated as it is read: a malformed line is an :class:`~polyalign.io.InputError` naming the file
and the line (for Parquet, Arrow and datasets: the row).

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.data.records import ParallelPair, validate_messages
from polyalign.io import InputError, first_line, iter_jsonl

Format = Literal["alpaca", "sharegpt", "messages", "parallel"]
FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages", "parallel")

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "system": "system"}


# ---------------------------------------------------------------------------------------------
# Rows: (location, dict) from any container format


def iter_json_array(path: str | os.PathLike, chunk: int = 1 << 16) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, element)`` for each element of a top-level JSON array, incrementally.

    Only one element is held at a time (plus a read buffer), so a multi-gigabyte Alpaca file
    does not need to fit in memory.
    """
    path = Path(path)
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        buf, line, eof = "", 1, False

        def more() -> bool:
            nonlocal buf, eof
            if eof:
                return False
            block = f.read(chunk)
            eof = not block
            try:
                buf += utf8.decode(block, final=eof)
            except UnicodeDecodeError:
                raise InputError("not UTF-8", path, line + buf.count("\n")) from None
            return not eof

        def skip_ws() -> None:
            nonlocal buf, line
            while True:
                stripped = buf.lstrip("\ufeff \t\r\n")
                line += buf[: len(buf) - len(stripped)].count("\n")
                buf = stripped
                if buf or not more():
                    return

        skip_ws()
        if not buf.startswith("["):
            raise InputError("expected a JSON array of records", path, line)
        buf = buf[1:]
        first = True
        while True:
            skip_ws()
            if not buf:
                raise InputError("unexpected end of file inside the JSON array", path, line)
            if buf[0] == "]":
                buf = buf[1:]
                skip_ws()
                if buf:
                    raise InputError("unexpected data after the JSON array", path, line)
                return
            if not first:
                if buf[0] != ",":
                    raise InputError("expected ',' or ']' between records", path, line)
                buf = buf[1:]
                skip_ws()
            first = False
            while True:
                try:
                    obj, end = decoder.raw_decode(buf)
                    break
                except json.JSONDecodeError as e:
                    # An element cut by the read buffer fails near the end: read more, try again.
                    if not eof and more():
                        continue
                    raise InputError(f"invalid JSON: {e.msg}", path, line + buf[: e.pos].count("\n")) from None
            yield line, obj
            line += buf[:end].count("\n")
            buf = buf[end:]


def iter_table(path: str | os.PathLike, batch_size: int = 4096) -> Iterator[tuple[int, dict]]:
    """Yield ``(row, record)`` from a Parquet or Arrow (IPC file or stream) table, batch by batch."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading Parquet/Arrow needs pyarrow: pip install 'polyalign[hf]'") from None
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    if path.suffix == ".parquet":
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=batch_size)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(f"not a readable Parquet file ({e})", path) from None
    else:
        batches = _arrow_batches(path)
    row = 0
    for batch in batches:
        for rec in batch.to_pylist():
            row += 1
            yield row, rec


def _arrow_batches(path: Path) -> Iterator[Any]:
    import pyarrow as pa

    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
        return
    except pa.ArrowInvalid:
        source.seek(0)
    try:
        yield from pa.ipc.open_stream(source)  # what `datasets` writes
    except pa.ArrowInvalid as e:
        raise InputError(f"not a readable Arrow file ({e})", path) from None


def parse_hf(spec: str) -> tuple[str, str | None, str]:
    """Split ``hf:ORG/NAME[:CONFIG][@SPLIT]`` into ``(name, config, split)``; split defaults to train.

    >>> parse_hf("hf:Helsinki-NLP/opus-100:en-es@validation")
    ('Helsinki-NLP/opus-100', 'en-es', 'validation')
    >>> parse_hf("hf:tatsu-lab/alpaca")
    ('tatsu-lab/alpaca', None, 'train')
    """
    body = spec.removeprefix("hf:")
    body, _, split = body.partition("@")
    name, _, config = body.partition(":")
    if not name:
        raise InputError(f"{spec!r} names no dataset: use hf:ORG/NAME[:CONFIG][@SPLIT]")
    return name, config or None, split or "train"


def iter_hf(spec: str) -> Iterator[tuple[int, dict]]:
    """Stream rows of a Hugging Face dataset (a hub id, or a local dataset folder) as ``(row, record)``."""
    try:
        import datasets
    except ImportError:
        raise ImportError("reading hf: datasets needs the datasets library: pip install 'polyalign[hf]'") from None
    name, config, split = parse_hf(spec)
    try:
        ds = datasets.load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # offline, no such dataset/config/split: one line for the user
        raise InputError(f"cannot load dataset ({first_line(e)})", spec) from None
    n = 0
    try:
        for n, row in enumerate(ds, start=1):
            yield n, row
    except Exception as e:  # a download or a schema that breaks mid-stream: also one line
        raise InputError(f"cannot read row {n + 1} of the dataset ({first_line(e)})", spec) from None


def iter_rows(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """``(line or row, record)`` from JSONL, a JSON array, Parquet, Arrow, or ``hf:...``."""
    spec = str(path)
    if spec.startswith("hf:"):
        yield from iter_hf(spec)
        return
    p = Path(spec)
    if not p.is_file():
        raise InputError("no such file", p)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".arrow"):
        yield from iter_table(p)
    elif suffix == ".json" and _first_char(p) == "[":
        yield from iter_json_array(p)
    else:
        yield from iter_jsonl(p, objects_only=False)


def _first_char(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    return head[:1]


def split_columns(spec: str, lang: str | None = None) -> tuple[str, dict[str, str] | None]:
    """Split ``SOURCE#ours=theirs,...`` into the source and its column mapping.

    A recipe names a source and its columns in one string; ``{lang}`` in a column stands for the
    language being built, so one spec serves every language of a MuIT recipe.

    >>> split_columns("hf:Helsinki-NLP/opus-100:en-es#src=translation.en,tgt=translation.{lang}", "es")
    ('hf:Helsinki-NLP/opus-100:en-es', {'src': 'translation.en', 'tgt': 'translation.es'})
    >>> split_columns("data/pairs.jsonl")
    ('data/pairs.jsonl', None)
    """
    if "#" not in spec:
        return spec, None
    source, _, mapping = spec.rpartition("#")
    columns = {}
    for item in mapping.split(","):
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InputError(f"{spec!r}: a column mapping is #ours=theirs,ours=theirs")
        columns[ours.strip()] = theirs.strip().replace("{lang}", lang or "{lang}")
    return source, columns


def remap(rec: Any, columns: Mapping[str, str] | None) -> Any:
    """Rename a record's fields by ``{our_field: their_column}``; ``a.b`` reaches into nested dicts.

    >>> remap({"translation": {"en": "Hi", "es": "Hola"}}, {"src": "translation.en", "tgt": "translation.es"})
    {'src': 'Hi', 'tgt': 'Hola'}
    """
    if not columns or not isinstance(rec, dict):
        return rec
    out = {}
    for ours, theirs in columns.items():
        value: Any = rec
        for part in theirs.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        out[ours] = value
    return out


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
    messages = [{"role": m.get("role"), "content": m.get("content")} if isinstance(m, dict) else m for m in rec["messages"]] \
        if isinstance(rec["messages"], list) else rec["messages"]
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
            codes.append(langs.normalize(str(code)))
        except InputError as e:
            return e.message
    return ParallelPair(rec["src"], rec["tgt"], codes[0], codes[1], origin)


_VALIDATORS: dict[str, Callable[[Any, int], Any]] = {"alpaca": as_alpaca, "sharegpt": as_sharegpt, "messages": as_messages}


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
    """Pairs from a tab-separated file, one pair a line; a line without enough tabs is an error.

    ``src_col`` and ``tgt_col`` pick the columns (WikiMatrix puts a score first: use 1 and 2).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    s, t = langs.normalize(src_lang), langs.normalize(tgt_lang)
    origin = origin or f"file:{path.name}"
    need = max(src_col, tgt_col) + 1
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
            yield ParallelPair(cols[src_col], cols[tgt_col], s, t, origin)


def read_two_files(
    src_path: str | os.PathLike, tgt_path: str | os.PathLike, src_lang: str, tgt_lang: str, origin: str | None = None
) -> Iterator[ParallelPair]:
    """Pairs from two aligned plain-text files, line ``n`` of one translating line ``n`` of the other.

    Files of different lengths are an error naming the shorter file and the first missing line.
    """
    src_path, tgt_path = Path(src_path), Path(tgt_path)
    for p in (src_path, tgt_path):
        if not p.is_file():
            raise InputError("no such file", p)
    s, t = langs.normalize(src_lang), langs.normalize(tgt_lang)
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
                raise InputError(f"has {lineno - 1} lines but {long_} has more: aligned files must have equal lengths", short, lineno)
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
    """Read a whole file in ``fmt``; return ``{"format", "records", ...}`` or raise at the first bad line."""
    if fmt == "parallel":
        if tgt_path is not None:
            pairs = read_two_files(path, tgt_path, src_lang or "", tgt_lang or "")
        else:
            pairs = read_parallel(path, src_lang, tgt_lang)
        n, directions = 0, {}
        for p in pairs:
            n += 1
            key = f"{p.src_lang}-{p.tgt_lang}"
            directions[key] = directions.get(key, 0) + 1
        return {"format": fmt, "records": n, "directions": directions}
    n = sum(1 for _ in read_instructions(path, fmt))
    return {"format": fmt, "records": n}
