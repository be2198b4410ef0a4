"""The translation journal: every translated segment kept as it arrives, so a killed job resumes.

Append-only JSON Lines of ``{"k": key, "t": translation}``, keyed by :func:`segment_key` (a hash of
the backend's signature, the languages and the masked text); its first line names the input it
belongs to (:func:`input_identity`), so a job for another input whose output would have the same name
is refused (:mod:`polyalign.data.translate` decides that). A line cut short by a kill is dropped on
reading; nothing else of the file is ever rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from polyalign.io import atomic_write


def segment_key(signature: str, src: str, tgt: str, text: str) -> str:
    """Journal key of one masked segment under one backend and language pair."""
    return hashlib.sha256(f"{signature}\x00{src}\x00{tgt}\x00{text}".encode()).hexdigest()[:32]


class Journal:
    """Append-only JSONL of ``{"k": key, "t": translation}``; survives being killed mid-write.

    Its first line may name the input it translates (``{"input": PATH, "sha256": HASH}``, see
    :func:`input_identity`), so that a job for another input sharing the output name is refused.
    The file is created at the first :meth:`add` (or :meth:`create`): a job that failed before any
    translation leaves none behind. A torn last line (the process died while writing it) is
    dropped and cut off on open, so the next append starts on a clean line.
    """

    def __init__(self, path: str | os.PathLike, owner: dict[str, Any] | None = None):
        self.path = Path(path)
        self.owner = owner
        self.header: dict[str, Any] | None = None
        self.done: dict[str, str] = {}
        self._f: Any = None
        if not self.path.is_file():
            return
        good = 0
        with open(self.path, "rb") as f:
            for n, raw in enumerate(f):
                if not raw.endswith(b"\n"):
                    break
                try:
                    rec = json.loads(raw)
                    if n == 0 and _is_header(rec):
                        self.header = rec
                    elif isinstance(rec["t"], str):
                        self.done[rec["k"]] = rec["t"]
                    else:
                        break
                except (ValueError, KeyError, TypeError):
                    break
                good += len(raw)
        if good < self.path.stat().st_size:
            with open(self.path, "r+b") as f:
                f.truncate(good)
        if owner is not None and self.header is None and good:  # a journal from before headers: adopt it
            body = self.path.read_bytes()
            with atomic_write(self.path, "wb") as f:
                f.write(_header_line(owner).encode() + body)
            self.header = owner

    def _open(self) -> Any:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for appends; closed by close())
            if self.owner is not None and self.header is None and self._f.tell() == 0:
                self._f.write(_header_line(self.owner))
                self._f.flush()
                self.header = self.owner
        return self._f

    def create(self) -> None:
        """Make sure the file exists (an output is only ever written beside its journal)."""
        self._open()

    def add(self, key: str, translation: str) -> None:
        f = self._open()
        f.write(json.dumps({"k": key, "t": translation}, ensure_ascii=False) + "\n")
        f.flush()
        self.done[key] = translation

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def _is_header(rec: Any) -> bool:
    return isinstance(rec, dict) and "k" not in rec and isinstance(rec.get("input"), str)


def _header_line(owner: dict[str, Any]) -> str:
    return json.dumps(owner, ensure_ascii=False) + "\n"


def read_journal_header(path: str | os.PathLike) -> dict[str, Any] | None:
    """The input a journal says it translates; ``None`` when it names none (one from before headers)."""
    try:
        with open(path, "rb") as f:
            first = f.readline()
        rec = json.loads(first)
    except (OSError, ValueError):
        return None
    return rec if _is_header(rec) else None


def input_identity(source: str) -> dict[str, Any]:
    """What a journal records of its input: the resolved path and the sha256 of its bytes (an
    ``hf:`` dataset: its name, and no hash). A journal serves an input that matches either, so an
    input edited in place, or moved unchanged, keeps its journal."""
    if source.startswith("hf:"):
        return {"input": source, "sha256": None}
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"input": str(Path(source).resolve()), "sha256": digest.hexdigest()}
