"""Rows from any container a user's data comes in: ``(line or row, record)`` pairs.

JSONL, a JSON array (read incrementally), Parquet and Arrow tables, and ``hf:`` datasets all give
``(location, record)``, so a bad record is reported at its line or row; ``SOURCE#ours=theirs``
column mappings rename a source's fields to polyalign's. Bad input is an
:class:`~polyalign.io.InputError`; pyarrow and datasets are imported only when such a file is read.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from polyalign.io import InputError, first_line, iter_jsonl, require_file


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
    path = require_file(path)
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
    p = require_file(spec)
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
