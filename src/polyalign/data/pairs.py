"""Parallel pairs into translation tasks: clean, filter, de-duplicate, split, wrap.

English→X pairs are cleaned and filtered (each drop counted by its reason), de-duplicated,
split into train and test *disjoint by English source*, and each training pair becomes a chat
example asking for its translation in one of the versioned paraphrases. Every step is a pure
function over pairs; :mod:`polyalign.data.mixtures` assembles them into CoIT, MuIT and
question-alignment mixtures.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from polyalign import langs
from polyalign.data import filters, templates
from polyalign.data.records import Direction, ParallelPair, make_example


def check_pair(p: ParallelPair, f: filters.PairFilter) -> tuple[str | None, ParallelPair]:
    """Clean one pair; return ``(reason it is dropped or None, the cleaned pair)``.

    Cleaning strips accelerator markers and normalises spaces. Reasons, checked in this order:
    ``multiline``, ``empty``, ``identical``, ``placeholders``, ``length`` (English words outside
    ``[f.min_words, f.max_words]`` or a side over ``f.max_chars``), ``ratio`` (one side more than
    ``f.max_length_ratio`` times longer than the other).

    >>> f = filters.PairFilter(min_words=1, max_words=30, max_chars=300)
    >>> check_pair(ParallelPair("_Open the file", "_Abrir el archivo", "en", "es"), f)[0] is None
    True
    >>> check_pair(ParallelPair("Copy %s now", "Copiar ahora", "en", "es"), f)[0]
    'placeholders'
    """
    if "\n" in p.src.strip() or "\n" in p.tgt.strip():
        return "multiline", p
    src, tgt = filters.strip_accelerators(p.src, p.tgt)
    src, tgt = filters.normalize_space(src), filters.normalize_space(tgt)
    out = ParallelPair(src, tgt, p.src_lang, p.tgt_lang, p.origin)
    if not src or not tgt:
        return "empty", out
    if src == tgt:
        return "identical", out
    if f.placeholders and not filters.placeholders_match(src, tgt):
        return "placeholders", out
    n = filters.word_count(src if p.src_lang == "en" else tgt)
    if n < f.min_words or n > f.max_words or len(src) > f.max_chars or len(tgt) > f.max_chars:
        return "length", out
    if f.max_length_ratio is not None and not filters.length_ratio_ok(src, tgt, f.max_length_ratio):
        return "ratio", out
    return None, out


def clean_pairs(pairs: Iterable[ParallelPair], f: filters.PairFilter) -> tuple[list[ParallelPair], Counter]:
    """Clean UI-string pairs and drop bad ones; return the survivors and why others went.

    Each pair goes through :func:`check_pair`; then a pair whose English source (by
    :func:`filters.dedup_key`) was already seen is dropped. The first occurrence wins, so the
    result depends only on the input order.
    """
    counts: Counter = Counter()
    seen: set[str] = set()
    kept: list[ParallelPair] = []
    for p in pairs:
        counts["read"] += 1
        reason, p = check_pair(p, f)
        if reason is not None:
            counts[f"dropped_{reason}"] += 1
            continue
        key = filters.dedup_key(p.src)
        if key in seen:
            counts["dropped_duplicate"] += 1
            continue
        seen.add(key)
        kept.append(p)
    counts["kept"] = len(kept)
    return kept, counts


def select_pairs(
    make_pairs: Callable[[], Iterable[ParallelPair]],
    n_train: int | None,
    n_test: int,
    seed: int,
    f: filters.PairFilter,
    langid: filters.LanguageId | None = None,
) -> tuple[list[ParallelPair], list[ParallelPair], Counter]:
    """Stream pairs through every filter and pick ``(train, test)``, disjoint by English source.

    Memory stays bounded by the number of pairs wanted, not the number read: each pair is
    checked (:func:`check_pair`), exact and near duplicates of an English source already seen
    are dropped (by 64-bit hashes of :func:`filters.dedup_key` and :func:`filters.near_dup_key`),
    and survivors compete for a place by a seeded hash rank of their source, so the choice does
    not depend on the input order. Only the best ranks are kept; language identification (with
    ``f.language_id``: ``langid``, or one made here), the slowest filter, then runs on them in rank
    order, and with ``f.max_similarity`` a pair whose English
    side is that similar (character 4-gram Jaccard, :class:`filters.SimilarTexts`) to one already
    chosen is dropped too, so no test source has a near-copy in training: the first ``n_test``
    that pass are the test split, the next ``n_train`` the training pairs. When these late
    filters reject so many that the kept candidates run out, the source is read again keeping
    more (``make_pairs`` is called once per pass). Every drop is counted by its reason.
    """
    if f.language_id and langid is None:
        langid = filters.LanguageId()
    if not f.language_id:
        langid = None
    similarity = f.max_similarity
    oversample = 1.5
    while True:
        capacity = None if n_train is None else int((n_train + n_test) * oversample) + 64
        counts: Counter = Counter()
        heap: list[tuple[int, int, ParallelPair]] = []
        seen: set[int] = set()
        near: set[int] = set()
        overflowed = False
        for i, raw in enumerate(make_pairs()):
            counts["read"] += 1
            reason, p = check_pair(raw, f)
            if reason is not None:
                counts[f"dropped_{reason}"] += 1
                continue
            en = p.src if p.src_lang == "en" else p.tgt
            key = filters.dedup_key(en)
            h = hash(key)
            if h in seen:
                counts["dropped_duplicate"] += 1
                continue
            seen.add(h)
            nk = hash(filters.near_dup_key(en))
            if nk in near:
                counts["dropped_near_duplicate"] += 1
                continue
            near.add(nk)
            counts["kept"] += 1
            rank = int.from_bytes(seeded_rank(key, seed)[:8], "big")
            if capacity is None or len(heap) < capacity:
                heapq.heappush(heap, (-rank, i, p))
            elif -heap[0][0] > rank:
                heapq.heapreplace(heap, (-rank, i, p))
                overflowed = True
            else:
                overflowed = True
        ordered = [p for _, _, p in sorted(heap, key=lambda t: (-t[0], t[1]))]
        test: list[ParallelPair] = []
        train: list[ParallelPair] = []
        index = filters.SimilarTexts(similarity) if similarity is not None else None
        for p in ordered:
            if n_train is not None and len(test) >= n_test and len(train) >= n_train:
                break  # (test fills first: with n_train 0 a language still gets its held-out pairs)
            if langid is not None:
                counts["language_checked"] += 1
                x = p.tgt if p.src_lang == "en" else p.src
                en = p.src if p.src_lang == "en" else p.tgt
                if not langid.matches(
                    x, langs.base(p.tgt_lang if p.src_lang == "en" else p.src_lang)
                ) or not langid.matches(en, "en"):
                    counts["dropped_language"] += 1
                    continue
            if index is not None and not index.add_if_new(p.src if p.src_lang == "en" else p.tgt):
                counts["dropped_similar"] += 1
                continue
            (test if len(test) < n_test else train).append(p)
        full = n_train is None or len(train) >= n_train
        if full or not overflowed:
            counts["test"], counts["train"] = len(test), len(train)
            return train, test, counts
        oversample *= 3


def seeded_rank(key: str, seed: int) -> bytes:
    """A seeded pseudo-random order key for ``key``: sorting by it is a shuffle that ignores input order."""
    return hashlib.sha256(f"{seed}\x00{key}".encode()).digest()


def split_by_source(
    pairs: list[ParallelPair], test_size: int, seed: int
) -> tuple[list[ParallelPair], list[ParallelPair]]:
    """Split into ``(train, test)``, disjoint by English source, the same for any input order.

    Pairs are ranked by a seeded hash of their source's :func:`filters.dedup_key`; the
    ``test_size`` smallest distinct keys go to test, with every pair sharing them. Train keeps
    the input order; test is in rank order (ties by text).
    """
    keys = sorted({filters.dedup_key(p.src) for p in pairs}, key=lambda k: seeded_rank(k, seed))
    test_keys = set(keys[:test_size])
    train = [p for p in pairs if filters.dedup_key(p.src) not in test_keys]
    test = sorted(
        (p for p in pairs if filters.dedup_key(p.src) in test_keys),
        key=lambda p: (seeded_rank(filters.dedup_key(p.src), seed), p.src, p.tgt),
    )
    return train, test


def sample(pairs: list[ParallelPair], limit: int | None, seed: int) -> list[ParallelPair]:
    """At most ``limit`` pairs, chosen by seeded hash rank (stable under reordering)."""
    if limit is None or len(pairs) <= limit:
        return list(pairs)
    return sorted(pairs, key=lambda p: seeded_rank("sample\x00" + p.src, seed))[:limit]


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
        meta = {
            "task": "translation",
            "src_lang": p.src_lang,
            "tgt_lang": p.tgt_lang,
            "template": template,
            "origin": p.origin,
        }
        out.append(make_example(f"mt-{p.src_lang}-{p.tgt_lang}-{digest}", user, p.tgt, meta))
    return out


def task_name(src_lang: str, tgt_lang: str) -> str:
    """Name of a translation task: ``translation/en-es``."""
    return f"translation/{src_lang}-{tgt_lang}"
