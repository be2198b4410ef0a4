import hashlib
import json
import random

import pytest

from helpers import spanish_locale, write_mo
from polyalign.data import filters
from polyalign.data.build import (
    build_translation_data,
    clean_pairs,
    directed,
    sample,
    split_by_source,
)
from polyalign.data.records import ParallelPair
from polyalign.io import InputError


def P(src, tgt, origin="t"):
    return ParallelPair(src, tgt, "en", "es", origin)


def test_clean_pairs_counts_every_reason_exactly():
    raw = [
        P("_Open the file", "_Abrir el archivo"),      # kept, accelerators stripped
        P("open the file.", "abrir el archivo"),        # duplicate source by dedup key
        P("Copy %s to %s now", "Copiar %s ahora"),      # placeholders differ
        P("Same text here", "Same text here"),          # identical
        P("Too short", "Demasiado corto"),              # < 3 words
        P("line one\nline two here", "uno\ndos"),       # multi-line
        P("   ", "algo"),                               # empty
        P("Save  the   report", "Guardar el informe"),  # kept, spaces normalised
    ]
    kept, counts = clean_pairs(raw, min_words=3, max_words=10, max_chars=100)
    assert [(p.src, p.tgt) for p in kept] == [("Open the file", "Abrir el archivo"), ("Save the report", "Guardar el informe")]
    assert counts == {
        "read": 8, "kept": 2, "dropped_duplicate": 1, "dropped_placeholders": 1, "dropped_identical": 1,
        "dropped_length": 1, "dropped_multiline": 1, "dropped_empty": 1,
    }


def test_split_is_disjoint_by_english_source_and_order_independent():
    pairs = [P(f"Open item number {i}", f"Abrir elemento {i}") for i in range(500)]
    pairs += [P(f"open item number {i}!", f"¡Abrir elemento {i}!") for i in range(0, 500, 7)]  # near-duplicates
    train, test = split_by_source(pairs, test_size=50, seed=0)
    assert len({filters.dedup_key(p.src) for p in test}) == 50
    assert not {filters.dedup_key(p.src) for p in train} & {filters.dedup_key(p.src) for p in test}
    assert not {p.src for p in train} & {p.src for p in test}
    assert len(train) + len(test) == len(pairs)
    shuffled = pairs[:]
    random.Random(1).shuffle(shuffled)
    train2, test2 = split_by_source(shuffled, test_size=50, seed=0)
    assert test2 == test and set(train2) == set(train)
    _, test3 = split_by_source(pairs, test_size=50, seed=1)
    assert test3 != test


def test_sample_and_direction():
    pairs = [P(f"Open item number {i}", f"Abrir elemento {i}") for i in range(100)]
    s = sample(pairs, 10, seed=0)
    assert len(s) == 10 and s == sample(list(reversed(pairs)), 10, seed=0)
    both = directed(pairs[:2], "both")
    assert [(p.src_lang, p.tgt_lang) for p in both] == [("en", "es"), ("es", "en"), ("en", "es"), ("es", "en")]
    assert directed(pairs[:1], "x-en")[0].src == "Abrir elemento 0"


def test_build_translation_data_writes_files_and_manifest(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    out = tmp_path / "data"
    m = build_translation_data(out, ["es"], "both", "translate_v1", 3, 30, 300, 100, 20, 0, [str(locale)])
    assert m["languages"]["es"]["counts"]["read"] == 360
    assert m["languages"]["es"]["train_pairs"] == 100 and m["languages"]["es"]["test_pairs"] == 20
    assert set(m["tasks"]) == {"translation/en-es", "translation/es-en"}
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 200 == m["files"]["train.jsonl"]["rows"]
    assert rows[0]["messages"][1]["role"] == "assistant"
    test_src = {json.loads(line)["src"] for line in (out / "test_en-es.jsonl").read_text().splitlines()}
    train_src = {r["meta"]["origin"] and r["messages"][0]["content"] for r in rows}
    assert all(not any(s in u for u in train_src) for s in test_src)
    # the built file is pinned: same inputs, same bytes
    assert m["files"]["train.jsonl"]["sha256"] == hashlib.sha256((out / "train.jsonl").read_bytes()).hexdigest()
    again = build_translation_data(tmp_path / "again", ["es"], "both", "translate_v1", 3, 30, 300, 100, 20, 0, [str(locale)])
    assert again["files"] == m["files"]


def test_too_few_pairs_is_input_error_and_writes_nothing(tmp_path):
    write_mo(tmp_path / "loc" / "es" / "LC_MESSAGES" / "x.mo", {"Open the file": "Abrir el archivo"})
    with pytest.raises(InputError, match="only 1 clean English-es pairs"):
        build_translation_data(tmp_path / "data", ["es"], "en-x", "translate_v1", 3, 30, 300, None, 10, 0, [str(tmp_path / "loc")])
    assert not (tmp_path / "data").exists()
