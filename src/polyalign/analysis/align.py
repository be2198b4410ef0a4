"""``analyze align`` and ``analyze pca``: read parallel sentences, pool every layer, compute, compare.

Statistics accumulate batch by batch: only the pooled vectors are kept (one per sentence and
layer, in float16 when float32 would pass :data:`STORE_BUDGET`), never the hidden states of a
whole batch beyond that batch. The model code lives in :mod:`polyalign.analysis.capture`, imported
when a model is run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from polyalign import langs
from polyalign.analysis.similarity import (
    LayerStore,
    alignment_metrics,
    pair_cosines_centred,
    pc1_correlations,
    pca_2d,
)
from polyalign.data.records import read_parallel
from polyalign.data.resources import POLYINSTRUCT_LANGUAGES, polyinstruct_items
from polyalign.io import InputError

STORE_BUDGET = 512 << 20
"""Bytes of pooled vectors kept in float32; above it they are kept in float16 (10,000 pairs on a 30-layer model)."""

METRICS = (
    "cosine_parallel",
    "cosine_random",
    "cosine_parallel_centred",
    "cosine_random_centred",
    "retrieval_x2en",
    "retrieval_en2x",
    "margin_retrieval_x2en",
    "margin_retrieval_en2x",
    "cka",
)


def pairs_file(path: str | Path, tgt_lang: str | None = None) -> Path:
    """The pairs file itself, or a built run's held-out English pairs (``RUN/data/test_en-<tgt_lang>.jsonl``).

    In a run, ``tgt_lang`` picks the language; without it the run must hold one language only (the
    first of several in name order was read before, whatever the user meant).
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("data/test_en-*.jsonl")) or sorted(p.glob("test_en-*.jsonl"))
        if not found:
            raise InputError("no held-out pairs here (expected data/test_en-XX.jsonl of a built run)", p)
        held = {f.name.removeprefix("test_en-").removesuffix(".jsonl"): f for f in found}
        if tgt_lang is None:
            if len(held) > 1:
                raise InputError(f"held-out pairs in {len(held)} languages ({', '.join(held)}): give --tgt-lang", p)
            return found[0]
        want = langs.normalize(tgt_lang)
        for code, f in held.items():
            if code == want:
                return f
        for code, f in held.items():
            if langs.base(langs.normalize(code)) == langs.base(want):
                return f
        raise InputError(f"no en-{tgt_lang} held-out pairs (has {', '.join(held)})", p)
    if not p.is_file():
        raise InputError("no such file", p)
    return p


def pairs_fingerprint(en: list[str], x: list[str]) -> str:
    """sha256 of the pairs' texts in order (the JSON list of ``[English, X]``): two alignments
    compare only when they read the same sentences, not just as many of the same languages."""
    text = json.dumps([[e, t] for e, t in zip(en, x, strict=True)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _refuse_one_json_object(f: Path) -> None:
    """A ``.json`` file holding one object (a ``results.json``) is not pairs: say so, instead of the
    JSONL reader's ``line 1: invalid JSON``."""
    if f.suffix.lower() != ".json":
        return
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # not one JSON document (JSONL named .json, or broken): the reader says where
    if isinstance(doc, dict) and not {"src", "tgt"} <= set(doc):
        raise InputError(
            "is one JSON object, not parallel pairs: expected JSONL (one {src, tgt} object a line), "
            "a JSON array of them, or TSV",
            f,
        )


def read_pairs(
    path: str | Path, src_lang: str = "en", tgt_lang: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """``{"x": [...], "en": [...], "lang", "en_lang", "file", "sha256"}`` from TSV, JSONL (``src``,
    ``tgt``) or a run (its ``data/test_en-<tgt_lang>.jsonl``).

    The English side goes to ``en`` whichever side it is on; with no English side the source
    takes its place. Pairs that do not say their target language (a TSV, records without
    ``tgt_lang``) need ``tgt_lang``: no language is assumed. A ``tgt_lang`` that the pairs
    contradict is an error. Fewer than 2 pairs is an error (nothing to mismatch). ``sha256`` is
    :func:`pairs_fingerprint` of the pairs read.
    """

    f = pairs_file(path, tgt_lang)
    _refuse_one_json_object(f)
    if tgt_lang is None and f.suffix.lower() in (".tsv", ".tab"):
        raise InputError("a TSV file does not say its languages: give the target language (--tgt-lang)", f)
    x, en, lang, en_lang = [], [], None, None
    try:
        for p in read_parallel(f, src_lang, tgt_lang):
            if langs.base(p.tgt_lang) == "en" and langs.base(p.src_lang) != "en":
                p = p.flipped()
            if lang is None:
                lang, en_lang = p.tgt_lang, p.src_lang
            elif (p.tgt_lang, p.src_lang) != (lang, en_lang):
                raise InputError(f"mixed language pairs: {en_lang}-{lang} and {p.src_lang}-{p.tgt_lang}", f)
            x.append(p.tgt)
            en.append(p.src)
            if limit is not None and len(x) >= limit:
                break
    except InputError as e:
        if tgt_lang is None and e.message.startswith("missing field 'tgt_lang'"):
            raise InputError("no tgt_lang field: give the target language (--tgt-lang)", e.path, e.line) from None
        raise
    if len(x) < 2:
        raise InputError(f"{len(x)} parallel pairs: need at least 2", f)
    if tgt_lang is not None and langs.base(langs.normalize(tgt_lang)) not in (langs.base(lang), langs.base(en_lang)):
        raise InputError(f"holds {en_lang}-{lang} pairs, not {src_lang}-{tgt_lang} (--tgt-lang {tgt_lang})", f)
    return {"x": x, "en": en, "lang": lang, "en_lang": en_lang, "file": str(f), "sha256": pairs_fingerprint(en, x)}


def capture_stores(
    model: Any, tokenizer: Any, groups: list[list[str]], pool: str, batch_size: int, max_length: int = 256
) -> tuple[list[LayerStore], str, dict[str, Any]]:
    """One :class:`LayerStore` per group of texts (all groups the same size), filled in one streamed
    pass, its storage dtype, and how the tokens were pooled (:func:`pooling_record`)."""
    from polyalign.analysis.capture import Dropped, hidden_size, num_states, pooled_batches

    n, layers, dim = len(groups[0]), num_states(model), hidden_size(model)
    dtype = "float32" if LayerStore.nbytes(layers, n, dim, "float32") * len(groups) <= STORE_BUDGET else "float16"
    stores = [LayerStore(layers, n, dim, dtype) for _ in groups]
    texts = [t for g in groups for t in g]
    dropped = Dropped()
    for rows, pooled in pooled_batches(
        model, tokenizer, texts, pool=pool, batch_size=batch_size, max_length=max_length, dropped=dropped
    ):
        which = rows // n
        for g, store in enumerate(stores):
            sel = np.nonzero(which == g)[0]
            if len(sel):
                store.add(rows[sel] - g * n, pooled[:, sel])
    return stores, dtype, pooling_record(pool, dropped, layers)


def pooling_record(pool: str, dropped: Any, layers: int) -> dict[str, Any]:
    """``alignment.json``'s ``pooling``: the rule that chose the pooled tokens and what it left out.

    ``dropped`` is a :class:`polyalign.analysis.capture.Dropped` (filled by a ``mean`` pass).
    """
    from polyalign.analysis.capture import CONTENT_RULE, MASSIVE_FACTOR

    if pool != "mean":
        rule = "every real token (padding and special tokens left out)" if pool == "mean-all" else "last real token"
        return {"pool": pool, "rule": rule}
    return {
        "pool": pool,
        "rule": CONTENT_RULE,
        "massive_factor": MASSIVE_FACTOR,
        "sentences": dropped.sentences,
        "content_tokens": dropped.tokens,
        "first_token_dropped": dropped.first,
        "massive_dropped": list(dropped.massive) or [0] * layers,
    }


def align_report(
    model: Any,
    tokenizer: Any,
    pairs: dict[str, Any],
    pool: str = "mean",
    batch_size: int = 32,
    seed: int = 0,
    k: int = 4,
) -> dict[str, Any]:
    """Every per-layer alignment number for ``pairs`` (from :func:`read_pairs`): ``alignment.json``
    without its header.

    ``pairs_sha256`` fingerprints the pairs (what ``--compare`` checks), ``settings.margin_k`` is the
    ``k`` the margin used (at most the number of pairs). Each layer also carries ``pairs_cos_centred``,
    the centred cosine of every pair in pair order (what a paired bootstrap over pairs resamples),
    and with ``mean`` pooling ``massive_dropped``, the positions the massive-activation rule left out
    there; ``pooling`` records the rule.
    """
    (xs, ens), dtype, pooling = capture_stores(model, tokenizer, [pairs["x"], pairs["en"]], pool, batch_size)
    layers = []
    for i in range(xs.layers):
        x, y = xs.layer(i), ens.layer(i)
        row: dict[str, Any] = {"layer": i, **alignment_metrics(x, y, seed=seed, k=k)}
        if "massive_dropped" in pooling:
            row["massive_dropped"] = pooling["massive_dropped"][i]
        row["pairs_cos_centred"] = [round(float(c), 6) for c in pair_cosines_centred(x, y)]
        layers.append(row)
    best = max(layers, key=lambda r: (r["retrieval_x2en"] + r["retrieval_en2x"]) / 2)
    return {
        "pairs": len(pairs["x"]),
        "pairs_sha256": pairs_fingerprint(pairs["en"], pairs["x"]),
        "lang": pairs["lang"],
        "en_lang": pairs["en_lang"],
        "pool": pool,
        "pooling": pooling,
        "settings": {
            "batch_size": batch_size,
            "seed": seed,
            "margin_k": min(k, len(pairs["x"])),  # what the retrieval used
            "storage": dtype,
            "mismatched": "seeded derangement of the English side",
        },
        "layers": layers,
        "best_layer": {
            "layer": best["layer"],
            "retrieval_x2en": best["retrieval_x2en"],
            "retrieval_en2x": best["retrieval_en2x"],
            "chosen_by": "mean of the two top-1 retrievals",
        },
    }


def check_same_pairs(mine: dict[str, Any], other: dict[str, Any], other_dir: str | Path) -> None:
    """``other`` (an ``alignment.json``) aligned the same pairs as ``mine`` (a report, or
    :func:`read_pairs`' result): a difference is read layer by layer over the same pairs.

    The pairs' fingerprint (``pairs_sha256``, :func:`pairs_fingerprint`) decides; an older
    ``alignment.json`` without one is checked by count and languages only.
    """
    where = Path(other_dir) / "alignment.json"
    here = (mine.get("en_lang"), mine.get("lang"), mine.get("pairs", len(mine.get("x") or [])))
    there = (other.get("en_lang"), other.get("lang"), other.get("pairs"))
    if None not in there and here != there:
        raise InputError(
            f"aligns {there[2]} {there[0]}–{there[1]} pairs there but {here[2]} {here[0]}–{here[1]} here: "
            "compare two models on the same pairs (--pairs, --limit)",
            where,
        )
    theirs = other.get("pairs_sha256")
    ours = mine.get("pairs_sha256") or (pairs_fingerprint(mine["en"], mine["x"]) if "x" in mine else None)
    if theirs and ours and theirs != ours:
        raise InputError(
            f"aligns other sentences there than here (pairs sha256 {theirs[:12]}… there, {ours[:12]}… here): "
            "compare two models on the same pairs (--pairs, --limit)",
            where,
        )


def add_comparison(doc: dict[str, Any], other: dict[str, Any], other_dir: str) -> dict[str, Any]:
    """``doc`` with ``diff`` (this minus ``other``) in every layer and a ``compare`` header.

    Both must be pooled by the same rule: an ``alignment.json`` from before content pooling (no
    ``pooling`` record) measured the attention sink, and a difference with it would measure that.
    """
    mine_rule, their_rule = (doc.get("pooling") or {}).get("rule"), (other.get("pooling") or {}).get("rule")
    if (doc.get("pool"), mine_rule) != (other.get("pool"), their_rule):
        raise InputError(
            f"pooled by another rule ({other.get('pool')}: {their_rule or 'not recorded'}) than this run "
            f"({doc.get('pool')}): run analyze align there again, or here with the same --pool",
            Path(other_dir) / "alignment.json",
        )
    check_same_pairs(doc, other, other_dir)
    if len(doc["layers"]) != len(other.get("layers", [])):
        raise InputError(
            f"{len(other.get('layers', []))} layers there but {len(doc['layers'])} here: "
            "compare runs of the same model family",
            Path(other_dir) / "alignment.json",
        )
    for mine, theirs in zip(doc["layers"], other["layers"]):
        mine["diff"] = {m: mine[m] - theirs[m] for m in METRICS if m in theirs}
    doc["compare"] = {
        "dir": str(other_dir),
        "model": other.get("model"),
        "adapter": other.get("adapter"),
        "pool": other.get("pool"),
        "pairs": other.get("pairs"),
        "pairs_sha256": other.get("pairs_sha256"),
        "diff": "this run minus the other",
    }
    return doc


def multiway_texts(langs_list: list[str], limit: int | None = None) -> dict[str, list[str]]:
    """Parallel instructions of polyinstruct in every language asked for (the same items, same order)."""

    codes = [langs.base(langs.normalize(c)) for c in langs_list]
    missing = [c for c in codes if c not in POLYINSTRUCT_LANGUAGES]
    if missing or len(codes) < 2:
        raise InputError(f"pca needs 2 or more of {', '.join(POLYINSTRUCT_LANGUAGES)}; got {','.join(langs_list)}")
    items = polyinstruct_items(languages=tuple(codes))[:limit]
    return {c: [it["langs"][c]["instruction"] for it in items] for c in codes}


def pca_report(
    model: Any, tokenizer: Any, texts: dict[str, list[str]], pool: str = "mean", batch_size: int = 32
) -> dict[str, Any]:
    """Per layer a 2-D PCA of every language's pooled states (fitted on all together), and PC1 correlations."""
    codes = list(texts)
    stores, dtype, pooling = capture_stores(model, tokenizer, [texts[c] for c in codes], pool, batch_size)
    n, layers = len(texts[codes[0]]), []
    for i in range(stores[0].layers):
        proj, _, ratios = pca_2d(np.concatenate([s.layer(i) for s in stores]))
        coords = {c: np.round(proj[j * n : (j + 1) * n], 4).tolist() for j, c in enumerate(codes)}
        corr = pc1_correlations({c: proj[j * n : (j + 1) * n, 0] for j, c in enumerate(codes)})
        layers.append(
            {
                "layer": i,
                "explained": ratios,
                "pc1_correlation": corr["matrix"],
                "pc1_correlation_mean": corr["mean"],
                "points": coords,
            }
        )
    return {
        "langs": codes,
        "items": n,
        "pool": pool,
        "pooling": pooling,
        "data": "polyinstruct_v1 instructions",
        "settings": {"batch_size": batch_size, "storage": dtype},
        "layers": layers,
    }
