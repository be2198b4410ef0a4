"""Reading and writing files the way every polyalign command does.

Two promises hold everywhere:

* Bad input raises :class:`InputError`, which the CLI prints as one line,
  ``error: PATH:LINE: what is wrong``, and exits with status 2.
* Outputs are written atomically: to a temporary name in the same folder, then renamed, so a
  crash or an error never leaves a half-written file where a finished one is expected.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO


class InputError(Exception):
    """Bad input from the user: a file, a recipe, an argument.

    ``str(err)`` is the one line the CLI prints after ``error: ``.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


def require_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` when it is a file; else the :class:`InputError` saying what it is."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder, expected a file", p)
    if not p.is_file():
        raise InputError("no such file", p)
    return p


def cache_dir() -> Path:
    """polyalign's one cache root: ``$POLYALIGN_CACHE``, else ``$XDG_CACHE_HOME/polyalign``, else
    ``~/.cache/polyalign`` (converted models, extracted corpora, measured rates)."""
    if os.environ.get("POLYALIGN_CACHE"):
        return Path(os.environ["POLYALIGN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "polyalign"


def log(msg: str) -> None:
    """One line of progress for the user, on stderr: ``[polyalign] msg``."""
    print(f"[polyalign] {msg}", file=sys.stderr, flush=True)


def progress(total: int, desc: str, unit: str = "it") -> Any:
    """A live progress bar on a terminal; off a terminal (a log file, a pipe) nothing at all, so logs
    hold polyalign's lines and no carriage-return updates. Used as a context manager with ``update``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, disable=not sys.stderr.isatty())


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for the one
    line a failure in a library the user cannot see into is reported as."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Use as ``with atomic_write("out.txt") as f: f.write("done")``. The file gets the permissions
    a plain ``open`` would give it (the user's umask), or keeps those of the file it replaces.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        perms = path.stat().st_mode & 0o7777
    except OSError:
        perms = 0o666 & ~umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:  # name the user's path, not the temporary one beside it
        raise InputError(f"cannot be created here ({_reason(e)})", path) from None
    try:
        os.fchmod(fd, perms)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it becomes ``path`` only if the block succeeds.

    An existing folder at ``path`` is replaced (it is moved aside first, then removed), so readers
    see the old folder or the new one, never a mixture: callers decide beforehand that it is theirs
    to replace. A file at ``path`` is never turned into a folder. The folder gets the permissions a
    plain ``mkdir`` would give it (the user's umask).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("is a file, expected a folder", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:  # name the user's path, not the temporary one beside it
        raise InputError(f"cannot be created here ({_reason(e)})", path) from None
    try:
        tmp.chmod(0o777 & ~umask())
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_output_file(path: str | os.PathLike | None) -> Path | None:
    """Refuse, before any work, an output file that cannot be written: a folder, or a place where no
    file can be created (tried with a temporary file beside it, removed at once). Nothing is left."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot be created here ({parent} is not a folder)", path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise InputError(f"cannot be created here ({_reason(e)})", path) from None
    os.close(fd)
    os.unlink(tmp)
    return path


def check_output_dir(path: str | os.PathLike) -> Path:
    """Check, before any work, that ``path`` is a folder polyalign can create or write into.

    Nothing is created: the nearest existing folder on the way is tried with a temporary folder.
    A file on the way, or a place where nothing can be written, is an :class:`InputError`.
    """
    path = Path(path).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError("is a file, expected a folder", probe)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".polyalign-probe.", dir=probe))
    except OSError as e:
        raise InputError(f"cannot write here ({_reason(e)})", path) from None
    return path


def check_new_output_dir(path: str | os.PathLike, what: str, advice: str) -> Path:
    """Check that ``path`` can become ``what`` (a run directory, a training output) without touching
    anything of the user's: it is new, or an empty folder. Otherwise one line with ``advice``."""
    path = check_output_dir(path)
    if path.is_dir() and any(p.name != LOCK_NAME for p in path.iterdir()):
        raise InputError(f"exists and is not {what} polyalign made: {advice} (nothing was changed)", path)
    return path


def check_apart(inputs: Mapping[str, Any], outputs: Mapping[str, Any], replaced: Iterable[str] = ()) -> None:
    """Refuse, before any work, an output that is one of the inputs (``scaling fit p.csv --out p.csv``).

    ``inputs`` and ``outputs`` map what the user calls each one (``--out``, ``points``) to its path
    (``None``: not given). An output equal to an input is refused; so is an input inside an output
    folder named in ``replaced`` (a folder the command rebuilds, such as a run's ``data/``).
    """
    replaced = set(replaced)
    for out_name, out_path in outputs.items():
        if out_path is None or str(out_path).startswith("hf:"):
            continue
        out = Path(out_path).expanduser().resolve()
        for in_name, in_path in inputs.items():
            if in_path is None or str(in_path).startswith("hf:"):
                continue
            src = Path(in_path).expanduser().resolve()
            inside = out_name in replaced and out in src.parents
            if src == out or inside:
                where = "is the output" if src == out else "is inside the output folder"
                raise InputError(
                    f"{where} {out_name} ({out_path}) and an input ({in_name}): it would be overwritten; "
                    "choose another output (nothing was changed)",
                    in_path,
                )


LOCK_NAME = ".lock"


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.lock`` (process id, host, since when) while a run works in ``folder``.

    A second run in the same folder is an :class:`InputError` naming the holder. A lock left by a
    process that no longer exists on this host (a killed run) is taken over, with a log line. The
    lock is written whole to a temporary name, then linked into place, so it is never half-read.
    """
    folder = check_output_dir(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # removed again if left empty
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    mine = {"pid": os.getpid(), "host": platform.node(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    fd, tmp = tempfile.mkstemp(prefix=".lock.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(mine, f)
        for _ in range(3):
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                held = _read_lock(path)
                if held is None or not _stale(held):
                    who = (
                        "another polyalign run"
                        if held is None
                        else (
                            f"another polyalign run (process {held.get('pid')} on {held.get('host')}, "
                            f"since {held.get('since')})"
                        )
                    )
                    raise InputError(
                        f"is in use by {who}: wait for it to finish or stop it; a lock left by a run on another "
                        f"host that is gone can be removed ({path})",
                        folder,
                    ) from None
                log(
                    f"run: {folder}: taking over the lock of process {held.get('pid')} on {held.get('host')} "
                    f"(since {held.get('since')}), which is no longer running"
                )
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        else:
            raise InputError("is in use by another polyalign run (its lock keeps changing)", folder)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    try:
        yield path
    finally:
        if (_read_lock(path) or {}).get("pid") == mine["pid"]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        for p in created:  # a run refused before any work leaves no folder behind
            with contextlib.suppress(OSError):
                p.rmdir()


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return held if isinstance(held, dict) else None


def _stale(held: dict[str, Any]) -> bool:
    """The lock's process is gone: it was on this host and no process has its id now."""
    if held.get("host") != platform.node() or not isinstance(held.get("pid"), int):
        return False
    if held["pid"] == os.getpid():
        return False
    try:
        os.kill(held["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def _reason(e: OSError) -> str:
    import errno

    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.ENOENT: "no such file or folder",
        errno.EISDIR: "is a folder, expected a file",
        errno.ENOTDIR: "not a folder",
        errno.ENAMETOOLONG: "the name is too long",
    }
    return reasons.get(e.errno, (e.strerror or type(e).__name__).lower())


def describe_os_error(e: OSError) -> InputError | None:
    """The one line for an ``OSError`` on a user's path (``None`` when it names no path).

    ``IsADirectoryError`` says the path is a folder where a file was expected, a file in the way
    of a folder is named, a path that cannot be created says so; the rest say the system's reason.
    """
    import errno

    if e.filename is None:
        return None
    path = Path(os.fsdecode(e.filename))
    if e.errno == errno.ENOTDIR:
        for p in (path, *path.parents):
            if p.exists() and not p.is_dir():
                return InputError("is a file, expected a folder", p)
        return InputError("not a folder", path)
    if e.errno == errno.EISDIR:
        return InputError("is a folder, expected a file", path)
    if e.errno == errno.ENOENT and path.parent.is_dir() and not _creatable(path):
        return InputError("cannot be created here (no such file or folder)", path)
    return InputError(_reason(e), path)


def _creatable(path: Path) -> bool:
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".polyalign-probe.", dir=path.parent))
    except OSError:
        return False
    return True


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows as JSON Lines, atomically; return how many were written."""
    n = 0
    with atomic_write(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a missing file or bad JSON is an :class:`InputError` with its line."""
    path = require_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (byte {e.start})", path, _line_of_offset(path, e.start)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", path, e.lineno) from None


def iter_jsonl(path: str | os.PathLike, objects_only: bool = True) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line of a JSON Lines file.

    Streams: memory stays bounded whatever the file size. Bad JSON, bytes that are not UTF-8, or
    (with ``objects_only``) a line that is not a JSON object raise :class:`InputError` naming
    the file and line.
    """
    path = require_file(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not UTF-8 (column {e.start + 1})", path, lineno) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path, lineno) from None
            if objects_only and not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path, lineno)
            yield lineno, obj


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file, without line endings (a final newline adds no line).

    Bytes that are not UTF-8 raise :class:`InputError` with the line and column.
    """
    raw = require_file(path).read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for n, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 (column {e.start + 1})", path, n) from None
    return out


def _line_of_offset(path: Path, offset: int) -> int:
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def provenance() -> dict[str, Any]:
    """What produced a result file: package versions, Python, host and time.

    Every result polyalign writes carries this, so a number can be traced to its maker.
    """
    from importlib import metadata

    versions = {}
    for pkg in ("polyalign", "torch", "transformers", "peft", "sacrebleu", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return {
        "versions": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }


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
