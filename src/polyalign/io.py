"""Reading and writing files the way every polyalign command does.

Two promises hold everywhere:

* Bad input raises :class:`InputError`, which the CLI prints as one line,
  ``error: PATH:LINE: what is wrong``, and exits with status 2.
* Outputs are written atomically: to a temporary name in the same folder, then renamed, so a
  crash or an error never leaves a half-written file where a finished one is expected.

Output checks and the run lock are in :mod:`polyalign.outputs`; rows from JSON arrays, tables and
``hf:`` datasets in :mod:`polyalign.rows`. This module imports neither torch nor transformers.
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


def require_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` when it is a file; else the :class:`InputError` saying what it is."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder, expected a file", p)
    if not p.is_file():
        raise InputError("no such file", p)
    return p


def require_folder(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` when it is a folder; else the :class:`InputError` saying what it is."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("is a file, expected a folder", p)
    if not p.is_dir():
        raise InputError("no such folder", p)
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
        raise InputError(f"cannot be created here ({os_reason(e)})", path) from None
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
    plain ``mkdir`` would give it (the user's umask), and so do the files written into it by a
    library that makes them private (safetensors writes ``0600`` through a temporary file), so that a
    saved model is as readable as the rest of the folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("is a file, expected a folder", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:  # name the user's path, not the temporary one beside it
        raise InputError(f"cannot be created here ({os_reason(e)})", path) from None
    try:
        tmp.chmod(0o777 & ~umask())
        yield tmp
        for f in tmp.rglob("*"):
            if f.is_file() and not f.is_symlink() and f.stat().st_mode & 0o777 == 0o600:
                f.chmod(0o666 & ~umask())
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


def os_reason(e: OSError) -> str:
    """The system's reason for an ``OSError``, in the words polyalign's one-line errors use."""
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
    return InputError(os_reason(e), path)


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
    if not text.strip():
        raise InputError("is empty: expected a JSON document", path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and _is_json_lines(text):
            raise InputError("is JSON Lines (one JSON value a line), not a JSON document", path) from None
        raise InputError(f"invalid JSON: {e.msg}", path, e.lineno) from None


def iter_jsonl(path: str | os.PathLike, objects_only: bool = True) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line of a JSON Lines file.

    Streams: memory stays bounded whatever the file size. Bad JSON, bytes that are not UTF-8, or
    (with ``objects_only``) a line that is not a JSON object raise :class:`InputError` naming
    the file and line.
    """
    path = require_file(path)
    first = True
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
                if first and json_document(path):  # a results.json where JSON Lines belong
                    raise InputError("is a JSON document, not JSON Lines (one record a line)", path) from None
                raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path, lineno) from None
            if objects_only and not isinstance(obj, dict):
                if first and json_document(path):
                    raise InputError("is a JSON document, not JSON Lines (one record a line)", path)
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path, lineno)
            first = False
            yield lineno, obj


def json_document(path: str | os.PathLike) -> str | None:
    """``"an object"`` or ``"an array"`` when the whole file is one JSON document rather than JSON
    Lines or text: an array, or an object spread over several lines (a pretty-printed
    ``results.json``); ``None`` otherwise (a one-line object is a JSON Lines file of one record).
    Reads the whole file: for an error's wording, or for inputs read whole anyway.

    >>> import tempfile
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    >>> _ = f.write('{\\n  "results": {}\\n}\\n'); f.close()
    >>> json_document(f.name)
    'an object'
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip().lstrip("\ufeff")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(("{", "[")):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if isinstance(doc, list):
        return "an array"
    return "an object" if isinstance(doc, dict) and "\n" in text else None


def _is_json_lines(text: str) -> bool:
    """Every non-blank line of ``text`` is a JSON value of its own."""
    try:
        for line in text.splitlines():
            if line.strip():
                json.loads(line)
    except ValueError:
        return False
    return True


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
