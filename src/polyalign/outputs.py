"""Where polyalign writes: output files and folders checked before any work, and the lock a run holds.

Every check refuses, as an :class:`~polyalign.io.InputError`, before anything is written: an output
that cannot be created, a folder of the user's that polyalign did not make, an output that is one
of the inputs, a run folder another run is working in. Nothing is created by a check.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from polyalign.io import InputError, log, os_reason

LOCK_NAME = ".lock"  # a run's lock file, in the run folder
CONFIG_NAME = "config.yaml"  # the resolved recipe a run writes first (run_dir.prepare_run_dir)


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
        raise InputError(f"cannot be created here ({os_reason(e)})", path) from None
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
        raise InputError(f"cannot write here ({os_reason(e)})", path) from None
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


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.lock`` (process id, host, since when) while a run works in ``folder``.

    A folder this call made is removed again when the run fails before any work (it holds nothing but
    the ``config.yaml`` the run wrote), so a refused recipe leaves nothing behind.
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
    failed = False
    try:
        yield path
    except BaseException:
        failed = True
        raise
    finally:
        if (_read_lock(path) or {}).get("pid") == mine["pid"]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if failed and created and sorted(p.name for p in folder.iterdir()) == [CONFIG_NAME]:
            (folder / CONFIG_NAME).unlink()  # the recipe of a run this call made, which failed before any work
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
