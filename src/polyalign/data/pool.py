"""The frozen candidate pool: a run's parallel pairs, read from their sources once.

What the sources hold depends on the machine: installing a program adds gettext catalogs, an
upgrade changes pycountry or Django. So a run reads its sources once, at its first data stage,
keeps every pair that passes the cheap filters (:func:`polyalign.data.pairs.check_pair` with the
loosest settings any of its builds uses, :func:`polyalign.data.filters.cover`), and writes them into ``data/pool/``:

* ``<lang>.jsonl.gz``: the pairs as they were read (the raw strings, in source order, each row
  naming its source spec), gzip with no timestamp, so the same pairs give the same bytes;
* ``pool.json``: per language, its file's sha256 and per source what was read, kept and dropped;
  the filter settings; the pool's own ``sha256`` (over its files); and the **fingerprint** of
  where the pairs came from: the source list, every catalog or file read (path, size, mtime,
  sha256) and the versions of the packages whose data is read (:data:`PACKAGES`).

Every later build (the pilot's points, the arms, a resume, ``--quick``) reads the pool, never the
sources: the builders take a :class:`~polyalign.data.corpora.Supply`
(:class:`~polyalign.data.corpora.SourceSupply` reads sources, a
:class:`~polyalign.data.frozen.PoolView` a pool) and run the same selection over its pairs, so a
build from a pool is the build from the sources the pool was frozen from. ``polyalign data snapshot``
writes a pool any recipe can name (``data.pool``) to get the same selection on every machine.
This module freezes a pool and tells what changed since; reading one is :mod:`polyalign.data.frozen`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data import corpora
from polyalign.data.filters import PairFilter
from polyalign.data.frozen import FORMAT, Pool
from polyalign.data.pairs import check_pair
from polyalign.io import atomic_dir, provenance, sha256_file, write_json
from polyalign.rows import split_columns

PACKAGES = ("polyalign", "pycountry", "babel", "django", "pysword", "datasets")
"""Packages whose installed version decides what a source yields (their data ships inside them)."""


# ---------------------------------------------------------------------------------------------
# Fingerprint: where the pairs came from


def source_files(spec: str, lang: str, gettext_dirs: list[str] | tuple[str, ...] = ()) -> list[Path] | None:
    """The local files ``spec`` reads for ``lang`` (``None``: a package's own data, or a remote dataset)."""
    code = langs.normalize(lang)
    if spec == "gettext":
        return corpora.locale_catalogs(code, gettext_dirs)
    if spec == "pycountry":
        root = corpora._package_dir("pycountry")
        found = [root / "locales" / n / "LC_MESSAGES" for n in corpora._locale_dirs(code)] if root else []
        return sorted(mo for folder in found if folder.is_dir() for mo in folder.glob("*.mo"))
    if spec == "bible":
        return sorted(p for d in corpora.SWORD_DIRS for p in Path(d).glob("mods.d/*.conf"))
    if spec in corpora.OFFLINE or spec.startswith("hf:"):
        return None
    if spec.startswith("po:"):
        path = Path(spec[3:])
        if path.is_dir():
            names = corpora._locale_dirs(code)
            return sorted(p for n in names for p in path.rglob(f"{n}/LC_MESSAGES/*") if p.suffix in (".po", ".mo"))
        return [path]
    if spec.startswith("text:"):
        return [Path(p) for p in spec[5:].split(",")]
    return [Path(split_columns(spec, langs.base(code))[0])]


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`PACKAGES` (``None``: not installed)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def fingerprint(
    languages: list[str],
    sources: list[str],
    gettext_dirs: list[str] | tuple[str, ...] = (),
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Where a pool's pairs come from: ``{"sources", "gettext_dirs", "packages", "files"}``.

    ``files[lang][spec]`` lists ``{"path", "size", "mtime_ns", "sha256"}`` of every file a source
    reads (``null`` for a package's data or a remote dataset, which ``packages`` and ``sources``
    stand for). With ``known`` (an earlier fingerprint), a file whose path, size and mtime are
    unchanged keeps its known sha256 instead of being read again, so checking is cheap.
    """
    seen = {
        (f["path"], f["size"], f["mtime_ns"]): f["sha256"]
        for per_lang in (known or {}).get("files", {}).values()
        for rows in per_lang.values()
        for f in rows or []
    }
    files: dict[str, dict[str, Any]] = {}
    for code in languages:
        files[code] = {}
        for spec in sources:
            paths = source_files(spec, code, gettext_dirs)
            if paths is None:
                files[code][spec] = None
                continue
            rows = []
            for p in paths:
                st = p.stat() if p.is_file() else None
                size, mtime = (st.st_size, st.st_mtime_ns) if st else (None, None)
                sha = seen.get((str(p), size, mtime)) or (sha256_file(p) if st else None)
                rows.append({"path": str(p), "size": size, "mtime_ns": mtime, "sha256": sha})
            files[code][spec] = rows
    return {
        "sources": list(sources),
        "gettext_dirs": list(gettext_dirs),
        "packages": package_versions(),
        "files": files,
    }


def fingerprint_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, in short phrases (empty: nothing).

    Files are compared by path and sha256 (size and mtime only decide whether to read them again).

    >>> a = {"packages": {"babel": "2.14.0"}, "files": {"es": {"gettext": [{"path": "a.mo", "sha256": "1"}]}}}
    >>> b = {"packages": {"babel": "2.16.0"}, "files": {"es": {"gettext": [{"path": "a.mo", "sha256": "1"},
    ...                                                                      {"path": "b.mo", "sha256": "2"}]}}}
    >>> fingerprint_changes(a, b)
    ['es: 1 → 2 catalogs', 'babel 2.14.0 → 2.16.0']
    """
    out: list[str] = []
    if old.get("sources") != new.get("sources"):
        out.append(f"sources {', '.join(old.get('sources', []))} → {', '.join(new.get('sources', []))}")
    old_files, new_files = old.get("files", {}), new.get("files", {})
    for code in sorted(set(old_files) | set(new_files)):
        a, b = old_files.get(code, {}), new_files.get(code, {})
        for spec in sorted(set(a) | set(b)):
            before, after = a.get(spec) or [], b.get(spec) or []
            unit = "catalogs" if spec in ("gettext", "pycountry") or spec.startswith("po:") else "files"
            where = code if spec == "gettext" else f"{code} {spec}"
            if len(before) != len(after):
                out.append(f"{where}: {len(before)} → {len(after)} {unit}")
                continue
            pa = {f["path"]: f["sha256"] for f in before}
            pb = {f["path"]: f["sha256"] for f in after}
            if pa != pb:
                n = sum(pa.get(p) != s for p, s in pb.items())
                out.append(f"{where}: {n} of {len(after)} {unit} changed")
    pa, pb = old.get("packages", {}), new.get("packages", {})
    for pkg in sorted(set(pa) | set(pb)):
        if pkg != "polyalign" and pa.get(pkg) != pb.get(pkg):
            out.append(f"{pkg} {pa.get(pkg) or 'not installed'} → {pb.get(pkg) or 'not installed'}")
    return out


# ---------------------------------------------------------------------------------------------
# Freezing


def _gz_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as gzip'd JSON Lines with no name and no timestamp in the header: same rows, same bytes."""
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
            n += 1
    return n


def pool_sha256(files: dict[str, str]) -> str:
    """The pool's identity: sha256 over its files' sha256 by language.

    >>> pool_sha256({"es": "ab"})[:12]
    'ea2366cf38bb'
    """
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def freeze(out_dir: str | Path, want: dict[str, Any]) -> dict[str, Any]:
    """Read ``want``'s sources once (see :func:`cover`) and write the pool into ``out_dir`` (atomically).

    Returns ``pool.json``'s content.
    """
    f = PairFilter(**want["filter"])
    doc: dict[str, Any] = {
        "format": FORMAT,
        "filter": want["filter"],
        "sources": want["sources"],
        "gettext_dirs": want["gettext_dirs"],
        "languages": {},
    }
    # taken before reading: a catalog that changes meanwhile shows as a change on the next run
    found = fingerprint(want["languages"], want["sources"], want["gettext_dirs"])
    with atomic_dir(out_dir) as tmp:
        for code in want["languages"]:
            per: dict[str, dict[str, Any]] = {}

            def kept(code: str = code, per: dict[str, dict[str, Any]] = per) -> Iterator[dict[str, Any]]:
                for spec in want["sources"]:
                    s = per.setdefault(spec, {"read": 0, "kept": 0, "dropped": Counter(), "origins_dropped": Counter()})
                    for p in corpora.source_pairs(spec, code, want["gettext_dirs"]):
                        s["read"] += 1
                        reason, _ = check_pair(p, f)
                        if reason is None:
                            s["kept"] += 1
                            yield {"source": spec, **p.to_json()}
                        else:
                            s["dropped"][f"dropped_{reason}"] += 1
                            s["origins_dropped"][p.origin] += 1

            fname = f"{code}.jsonl.gz"
            n = _gz_rows(tmp / fname, kept())
            doc["languages"][code] = {
                "file": fname,
                "sha256": sha256_file(tmp / fname),
                "pairs": n,
                "sources": {
                    k: {**v, "dropped": dict(v["dropped"]), "origins_dropped": dict(v["origins_dropped"])}
                    for k, v in per.items()
                },
            }
        doc["sha256"] = pool_sha256({c: v["sha256"] for c, v in doc["languages"].items()})
        doc["fingerprint"] = found
        doc["provenance"] = provenance()
        write_json(tmp / "pool.json", doc)
    return doc


def changed_since(pool: Pool) -> list[str]:
    """How the pool's sources differ now from when it was frozen (cheap: unchanged files are not read)."""
    old = pool.doc.get("fingerprint") or {}
    if not old:
        return []
    now = fingerprint(list(old.get("files", {})), old.get("sources", []), old.get("gettext_dirs", []), known=old)
    return fingerprint_changes(old, now)
