"""The base model a run tunes and scores, resolved once when the run starts and held to it after.

A hub id resolves in order to the hub cache, the hub, then (for the default) the copy bundled with
polyalign (:func:`polyalign.hub.resolve`): what it resolves to depends on the machine and can change
while a run goes on — a download into the hub cache mid-run would have the later arms tuned on the
hub's weights where the base was scored on the bundled Q4_1 copy's. So a run resolves its model once
and records what it found in ``model.json``: the name, the folder, where that came from, and a sha256
of each file that decides the numbers (weights, config, tokenizer, chat template). For the rest of
the run, and on every resume, that name loads that folder (:func:`pin`, through the environment, so
the training processes torchrun or submitit start load it too). Resumed where the recorded folder is
gone (another machine, a cleared cache), the name is resolved again and must give the same files;
other files are refused in one line, before any work.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from polyalign.hub import PIN_ENV, is_hub_id, pin, pinned, resolve
from polyalign.io import InputError, atomic_write, log, read_json, sha256_file

__all__ = ["PIN_ENV", "RECORD", "describe", "digest", "files_of", "freeze", "identify", "what_loaded"]

RECORD = "model.json"
# the files that decide a model's numbers (what resolve() fetches from the hub, less code)
PATTERNS = ("*.safetensors", "*.json", "*.model", "*.txt", "*.jinja")
SKIP = {"polyalign_source.json"}  # the bundled copy's note of where its GGUF was on this machine
SAY_ABOVE = 1 << 30  # bytes still to checksum above which a line says why the run pauses (a 7B: ~30 s)
_SHA: dict[tuple[str, int, float], str] = {}  # (file, bytes, mtime) -> sha256, hashed once a process


def files_of(folder: Path, known: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``{file: {bytes, mtime, sha256}}`` for the files of ``folder`` that decide its numbers; a file whose
    size and mtime match ``known`` (an earlier record of the same folder) keeps its recorded sha256."""
    names = sorted({p.name for pattern in PATTERNS for p in folder.glob(pattern) if p.is_file()} - SKIP)
    stats = {n: (folder / n).stat() for n in names}
    for name, st in stats.items():
        old = (known or {}).get(name) or {}
        if (old.get("bytes"), old.get("mtime")) == (st.st_size, st.st_mtime) and old.get("sha256"):
            _SHA[(str(folder / name), st.st_size, st.st_mtime)] = old["sha256"]
    todo = [n for n, st in stats.items() if (str(folder / n), st.st_size, st.st_mtime) not in _SHA]
    size = sum(stats[n].st_size for n in todo)
    if size > SAY_ABOVE:
        log(f"run: checksumming the model's {size / (1 << 30):.1f} GiB once ({folder})")
    out = {}
    for name, st in stats.items():
        key = (str(folder / name), st.st_size, st.st_mtime)
        if key not in _SHA:
            _SHA[key] = sha256_file(folder / name)
        out[name] = {"bytes": st.st_size, "mtime": st.st_mtime, "sha256": _SHA[key]}
    return out


def digest(files: dict[str, dict[str, Any]]) -> str:
    """One sha256 over the files' names and contents (not where or when they were written)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\0{files[name]['sha256']}\n".encode())
    return h.hexdigest()


def describe(name: str, folder: Path) -> str:
    """Where ``folder`` came from, in words."""
    note = folder / "polyalign_source.json"
    if note.is_file():
        try:
            gguf = Path(json.loads(note.read_text(encoding="utf-8")).get("gguf") or "").name
        except ValueError:
            gguf = ""
        return f"the bundled {gguf or 'GGUF'} copy, dequantised"
    if not is_hub_id(name):
        return "a local folder"
    if folder.parent.name == "snapshots":
        return f"the hub, revision {folder.name[:12]}"
    return str(folder)


def identify(name: str, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """``name`` resolved now, with its files' checksums (see the module docstring)."""
    folder = resolve(name).resolve()
    same_folder = known is not None and known.get("path") == str(folder)
    files = files_of(folder, known.get("files") if same_folder and known else None)
    return {
        "name": name,
        "path": str(folder),
        "source": describe(name, folder),
        "files": files,
        "sha256": digest(files),
    }


def freeze(name: str, run_dir: Path, started: bool) -> dict[str, Any]:
    """Resolve ``name`` once for the run in ``run_dir`` and hold it there (see the module docstring).

    ``started``: whether anything was built on the model yet (a changed model is refused only then).
    """
    path = run_dir / RECORD
    before = pinned(name)  # a grid point inside a run that froze it already: nothing new to say
    old = read_json(path) if path.is_file() else None
    if isinstance(old, dict) and old.get("name") == name and old.get("sha256"):
        recorded = Path(str(old.get("path")))
        if is_hub_id(name) and (recorded / "config.json").is_file():
            pin(name, recorded)  # the folder it had, unless its files changed (checked next)
        now = identify(name, old)
        if now["sha256"] != old["sha256"] and started:
            raise InputError(
                f"{name} now loads {now['source']} ({now['path']}, files sha256 {now['sha256'][:12]}), but this run "
                f"started on {old.get('source')} (files sha256 {str(old['sha256'])[:12]}): its arms would be "
                "tuned or scored on other weights; start a new run (name=...), or put the recorded files back at "
                f"{old.get('path')}",
                path,
            )
    else:
        now = identify(name)
    if is_hub_id(name):
        pin(name, Path(now["path"]))
    if now != old:
        with atomic_write(path) as f:
            f.write(json.dumps(now, indent=2) + "\n")
    if before is None or str(before) != now["path"]:
        log(f"run: model {name}: {now['source']} (files sha256 {now['sha256'][:12]})")
    return now


def what_loaded(model: str, adapter: str | None = None) -> dict[str, Any]:
    """For a result file: where ``model`` resolved from and one sha256 of its files (and of ``adapter``'s
    files, when one was applied), without this machine's folders or file times. A name that does not
    resolve here (a model object handed in under a label) is recorded as such, not refused."""
    try:
        found = identify(model)
    except InputError as e:
        return {"source": f"not resolved here ({e.message})"}
    out: dict[str, Any] = {"source": found["source"], "sha256": found["sha256"]}
    if adapter and Path(adapter).is_dir():
        out["adapter_sha256"] = digest(files_of(Path(adapter)))
    return out
