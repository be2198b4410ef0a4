"""Build alignment data: clean parallel pairs, split them, wrap them in instructions.

The cross-lingual instruction tuning (CoIT) translation part, for the skeleton: English→X pairs
are cleaned, de-duplicated, split into train and test *disjoint by English source*, and each
training pair becomes a chat example asking for its translation in one of the versioned
paraphrases. Every step is a pure function; :func:`build_translation_data` runs them and
writes the files and a manifest with the counts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.data import filters, templates
from polyalign.data.records import ParallelPair, make_example
from polyalign.data.sources import gettext_pairs
from polyalign.io import InputError, provenance, sha256_file, write_json, write_jsonl

Direction = Literal["en-x", "x-en", "both"]


def clean_pairs(
    pairs: Iterable[ParallelPair], min_words: int, max_words: int, max_chars: int
) -> tuple[list[ParallelPair], Counter]:
    """Clean UI-string pairs and drop bad ones; return the survivors and why others went.

    Steps, in order, each counted: strip accelerator markers and normalise spaces; drop empty
    sides, identical sides, multi-line strings, mismatched placeholders, English sides outside
    ``[min_words, max_words]`` words or sides longer than ``max_chars``; drop a pair whose
    English source (by :func:`filters.dedup_key`) was already seen. The first occurrence wins,
    so the result depends only on the input order.
    """
    counts: Counter = Counter()
    seen: set[str] = set()
    kept: list[ParallelPair] = []
    for p in pairs:
        counts["read"] += 1
        if "\n" in p.src.strip() or "\n" in p.tgt.strip():
            counts["dropped_multiline"] += 1
            continue
        src, tgt = filters.strip_accelerators(p.src, p.tgt)
        src, tgt = filters.normalize_space(src), filters.normalize_space(tgt)
        if not src or not tgt:
            counts["dropped_empty"] += 1
            continue
        if src == tgt:
            counts["dropped_identical"] += 1
            continue
        if not filters.placeholders_match(src, tgt):
            counts["dropped_placeholders"] += 1
            continue
        n = filters.word_count(src)
        if n < min_words or n > max_words or len(src) > max_chars or len(tgt) > max_chars:
            counts["dropped_length"] += 1
            continue
        key = filters.dedup_key(src)
        if key in seen:
            counts["dropped_duplicate"] += 1
            continue
        seen.add(key)
        kept.append(ParallelPair(src, tgt, p.src_lang, p.tgt_lang, p.origin))
    counts["kept"] = len(kept)
    return kept, counts


def _rank(key: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).digest()


def split_by_source(
    pairs: list[ParallelPair], test_size: int, seed: int
) -> tuple[list[ParallelPair], list[ParallelPair]]:
    """Split into ``(train, test)``, disjoint by English source, the same for any input order.

    Pairs are ranked by a seeded hash of their source's :func:`filters.dedup_key`; the
    ``test_size`` smallest distinct keys go to test, with every pair sharing them. Train keeps
    the input order; test is in rank order (ties by text).
    """
    keys = sorted({filters.dedup_key(p.src) for p in pairs}, key=lambda k: _rank(k, seed))
    test_keys = set(keys[:test_size])
    train = [p for p in pairs if filters.dedup_key(p.src) not in test_keys]
    test = sorted(
        (p for p in pairs if filters.dedup_key(p.src) in test_keys),
        key=lambda p: (_rank(filters.dedup_key(p.src), seed), p.src, p.tgt),
    )
    return train, test


def sample(pairs: list[ParallelPair], limit: int | None, seed: int) -> list[ParallelPair]:
    """At most ``limit`` pairs, chosen by seeded hash rank (stable under reordering)."""
    if limit is None or len(pairs) <= limit:
        return list(pairs)
    return sorted(pairs, key=lambda p: _rank("sample\x00" + p.src, seed))[:limit]


def directed(pairs: Iterable[ParallelPair], direction: Direction) -> list[ParallelPair]:
    """English→X pairs turned to the requested direction(s); ``both`` keeps each pair twice."""
    out = []
    for p in pairs:
        if direction in ("en-x", "both"):
            out.append(p)
        if direction in ("x-en", "both"):
            out.append(p.flipped())
    return out


def translation_examples(pairs: Iterable[ParallelPair], template: str) -> list[dict[str, Any]]:
    """Chat examples asking for each pair's translation, in the template's paraphrases.

    >>> p = ParallelPair("Open file", "Abrir archivo", "en", "es")
    >>> translation_examples([p], "translate_v1")[0]["messages"][0]["content"]
    'Rewrite the sentence below in Spanish.\\nOpen file'
    """
    out = []
    for p in pairs:
        user = templates.render_translation(template, p.src, langs.name(p.src_lang), langs.name(p.tgt_lang))
        digest = hashlib.sha256(f"{p.src_lang}\x00{p.tgt_lang}\x00{p.src}".encode()).hexdigest()[:16]
        meta = {"task": "translation", "src_lang": p.src_lang, "tgt_lang": p.tgt_lang, "template": template, "origin": p.origin}
        out.append(make_example(f"mt-{p.src_lang}-{p.tgt_lang}-{digest}", user, p.tgt, meta))
    return out


def task_name(src_lang: str, tgt_lang: str) -> str:
    """Name of a translation task: ``translation/en-es``."""
    return f"translation/{src_lang}-{tgt_lang}"


def build_translation_data(
    out_dir: str | Path,
    languages: list[str],
    direction: Direction,
    template: str,
    min_words: int,
    max_words: int,
    max_chars: int,
    max_train_pairs: int | None,
    test_size: int,
    seed: int,
    gettext_dirs: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write ``train.jsonl``, one ``test_<src>-<tgt>.jsonl`` per direction, and ``manifest.json``.

    Returns the manifest. A language with too few clean pairs for its test split is an
    :class:`InputError` that says how many it found.
    """
    out_dir = Path(out_dir)
    manifest: dict[str, Any] = {"template": template, "direction": direction, "seed": seed, "languages": {}, "files": {}}
    examples: list[dict[str, Any]] = []
    tests: dict[str, list[ParallelPair]] = {}
    for lang in languages:
        code = langs.normalize(lang)
        raw = list(gettext_pairs(code, gettext_dirs))
        origins = Counter(p.origin for p in raw)
        clean, counts = clean_pairs(raw, min_words, max_words, max_chars)
        if len(clean) <= test_size:
            where = ", ".join(gettext_dirs) or "the system locale folders"
            raise InputError(f"only {len(clean)} clean English-{code} pairs found in {where}; need more than test_size={test_size}")
        train, test = split_by_source(clean, test_size, seed)
        train = sample(train, max_train_pairs, seed)
        manifest["languages"][code] = {
            "name": langs.name(code),
            "sources": dict(sorted(origins.items())),
            "counts": dict(counts),
            "train_pairs": len(train),
            "test_pairs": len(test),
        }
        examples.extend(translation_examples(directed(train, direction), template))
        for p in directed(test, direction):
            tests.setdefault(f"{p.src_lang}-{p.tgt_lang}", []).append(p)

    n = write_jsonl(out_dir / "train.jsonl", examples)
    manifest["files"]["train.jsonl"] = {"rows": n, "sha256": sha256_file(out_dir / "train.jsonl")}
    for name, pairs in tests.items():
        fname = f"test_{name}.jsonl"
        rows = write_jsonl(out_dir / fname, (p.to_json() for p in pairs))
        manifest["files"][fname] = {"rows": rows, "sha256": sha256_file(out_dir / fname)}
    manifest["tasks"] = {task_name(*name.split("-")): f"test_{name}.jsonl" for name in tests}
    manifest["template_sha256"] = templates.template_sha256(template)
    manifest["provenance"] = provenance()
    write_json(out_dir / "manifest.json", manifest)
    return manifest
