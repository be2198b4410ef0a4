"""Reading and writing files the way every polyalign command does.

Two promises hold everywhere:

* Bad input raises :class:`InputError`, which the CLI prints as one line,
  ``error: PATH:LINE: what is wrong``, and exits with status 2.
* Outputs are written atomically: to a temporary name in the same folder, then renamed, so a
  crash or an error never leaves a half-written file where a finished one is expected.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
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


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for the one
    line a failure in a library the user cannot see into is reported as."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Use as ``with atomic_write("out.txt") as f: f.write("done")``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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

    An existing ``path`` is replaced (it is moved aside first, then removed), so readers see the
    old folder or the new one, never a mixture.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
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
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path) from None
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
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
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
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
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


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
