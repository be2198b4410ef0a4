"""A frozen candidate pool as the builds read it: open it, check it serves a build, supply its pairs.

A pool (``data/pool/`` of a run, or one ``polyalign data snapshot`` wrote; frozen by
:func:`polyalign.data.pool.freeze`) is ``pool.json`` and one ``<lang>.jsonl.gz`` per language.
:func:`open_pool` reads its index; :meth:`Pool.view` refuses a build the pool cannot serve (a source
it does not hold, filters looser than the ones it kept pairs by) and gives that build a
:class:`PoolView`, a :class:`~polyalign.data.corpora.Supply` whose pairs are the ones reading the
sources gave when the pool was frozen; :func:`pool_summary` is what a build's manifest records of it.
Reading a pool reads no source: nothing here imports :mod:`polyalign.data.corpora`.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data.filters import CHEAP, PairFilter, serves
from polyalign.data.records import ParallelPair
from polyalign.io import InputError, read_json, sha256_file

FORMAT = "polyalign-pool/1"
DAMAGED = "restore it, or make it again (a new run, or polyalign data snapshot)"


@dataclasses.dataclass
class Pool:
    """A frozen pool on disk (``open_pool``); each language's file is checked against its sha256 once."""

    path: Path
    doc: dict[str, Any]
    _checked: set[str] = dataclasses.field(default_factory=set)

    @property
    def sha256(self) -> str:
        return self.doc["sha256"]

    def rows(self, code: str) -> Iterator[dict[str, Any]]:
        """The rows of ``code``'s file; a damaged file is one :class:`InputError` naming it."""
        info = self.doc["languages"][code]
        path = self.path / info["file"]
        if code not in self._checked:
            if not path.is_file():
                raise InputError(f"missing from the frozen pool: {DAMAGED}", path)
            if sha256_file(path) != info["sha256"]:
                raise InputError(f"does not match the sha256 its pool.json records (a damaged copy?): {DAMAGED}", path)
            self._checked.add(code)
        n = 0
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    n += 1
                    yield json.loads(line)
        except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as e:
            line_no = n if isinstance(e, json.JSONDecodeError) else None
            raise InputError(f"unreadable pool file ({type(e).__name__}: {e}): {DAMAGED}", path, line_no) from None

    def view(self, sources: list[str], f: PairFilter) -> PoolView:
        """The pool as a build with these settings sees it; one that it cannot serve is refused.

        Where the pool's pairs came from (``data.gettext_dirs``, this machine's packages) no longer
        matters: that is the point of a pool."""
        d = self.doc
        missing = [s for s in sources if s not in d["sources"]]
        if missing:
            raise InputError(
                f"the frozen pool holds {', '.join(d['sources']) or 'no parallel pairs'}, not {', '.join(missing)} "
                "(named in data.sources); "
                "freeze a pool with these sources (a new run, or polyalign data snapshot)",
                self.path / "pool.json",
            )
        if not serves(d["filter"], f):
            said = ", ".join(f"{k}={d['filter'][k]}" for k in CHEAP)
            raise InputError(
                f"the frozen pool kept pairs passing {said}; this recipe's data filters are looser: "
                "freeze a pool with these settings (a new run, or polyalign data snapshot)",
                self.path / "pool.json",
            )
        return PoolView(self, list(sources))


@dataclasses.dataclass
class PoolView:
    """A :class:`~polyalign.data.corpora.Supply` over a frozen pool: a build's sources, in its order."""

    pool: Pool
    sources: list[str]

    @property
    def where(self) -> str:
        return f"{', '.join(self.sources)} (the frozen pool {self.pool.path})"

    def _info(self, lang: str) -> dict[str, Any]:
        code = langs.normalize(lang)
        info = self.pool.doc["languages"].get(code)
        if info is None:
            held = ", ".join(self.pool.doc["languages"]) or "no language"
            raise InputError(
                f"the frozen pool has no pairs for {code} (it holds {held}); freeze one that names {code} "
                "(a new run, or polyalign data snapshot --languages)",
                self.pool.path / "pool.json",
            )
        return info

    def pairs(self, lang: str) -> Iterator[ParallelPair]:
        code = langs.normalize(lang)
        self._info(code)
        for spec in self.sources:  # the build's order: the first of two duplicates wins, as when reading sources
            for r in self.pool.rows(code):
                if r.get("source") == spec:
                    yield ParallelPair(r["src"], r["tgt"], r["src_lang"], r["tgt_lang"], r.get("origin", ""))

    def left_out(self, lang: str) -> tuple[Counter, Counter]:
        info = self._info(lang)
        origins: Counter = Counter()
        counts: Counter = Counter()
        for spec in self.sources:
            s = info["sources"].get(spec, {})
            counts["read"] += s.get("read", 0) - s.get("kept", 0)
            counts.update(s.get("dropped", {}))
            origins.update(s.get("origins_dropped", {}))
        return origins, counts


def open_pool(path: str | Path) -> Pool:
    """Read a pool's ``pool.json``; a folder that is not a pool is one :class:`InputError`."""
    path = Path(path)
    index = path / "pool.json"
    if not index.is_file():
        raise InputError("no frozen pool here (no pool.json; make one with polyalign data snapshot)", path)
    doc = read_json(index)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("languages"), dict):
        raise InputError(f"not a {FORMAT} pool.json: {DAMAGED}", index)
    return Pool(path, doc)


def pool_summary(pool: Pool) -> dict[str, Any]:
    """What a data manifest records of the pool it was built from."""
    d = pool.doc
    return {
        "path": str(pool.path),
        "sha256": pool.sha256,
        "sources": d["sources"],
        "languages": {c: {"pairs": v["pairs"], "sha256": v["sha256"]} for c, v in d["languages"].items()},
    }
