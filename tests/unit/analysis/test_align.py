"""alignment.json's pooling record, and comparisons only between alignments pooled alike."""

from __future__ import annotations

import json

import pytest

from polyalign.analysis.align import (
    add_comparison,
    check_same_pairs,
    pairs_file,
    pairs_fingerprint,
    pooling_record,
    read_pairs,
)
from polyalign.analysis.capture import CONTENT_RULE, Dropped
from polyalign.io import InputError


def test_pooling_record_of_content_pooling_counts_what_was_dropped():
    dropped = Dropped(sentences=4, tokens=30, first=3)
    dropped.add_massive([0, 2, 1])
    dropped.add_massive([0, 1, 0])
    assert pooling_record("mean", dropped, 3) == {
        "pool": "mean",
        "rule": CONTENT_RULE,
        "massive_factor": 10.0,
        "sentences": 4,
        "content_tokens": 30,
        "first_token_dropped": 3,
        "massive_dropped": [0, 3, 1],
    }
    assert pooling_record("mean", Dropped(), 2)["massive_dropped"] == [0, 0]
    assert pooling_record("mean-all", Dropped(), 2) == {
        "pool": "mean-all",
        "rule": "every real token (padding and special tokens left out)",
    }
    assert pooling_record("last", Dropped(), 2) == {"pool": "last", "rule": "last real token"}


def doc(pool="mean", rule=CONTENT_RULE, cka=0.5):
    out = {"pool": pool, "layers": [{"layer": 0, "cka": cka}]}
    if rule is not None:
        out["pooling"] = {"pool": pool, "rule": rule}
    return out


def test_comparison_needs_the_same_pooling_rule(tmp_path):
    assert add_comparison(doc(cka=0.75), doc(cka=0.5), str(tmp_path))["layers"][0]["diff"] == {"cka": 0.25}
    with pytest.raises(InputError, match="pooled by another rule \\(mean: not recorded\\)"):
        add_comparison(doc(), doc(rule=None), str(tmp_path))  # an alignment.json from before content pooling
    with pytest.raises(InputError, match="pooled by another rule \\(mean-all"):
        add_comparison(doc(), doc("mean-all", "every real token (padding and special tokens left out)"), str(tmp_path))


def test_comparison_needs_the_same_pairs(tmp_path):
    # en–ru pairs compared with an en–es alignment.json were subtracted layer by layer, as if the same pairs
    es40 = {**doc(), "en_lang": "en", "lang": "es", "pairs": 40}
    assert add_comparison({**doc(cka=0.75), "en_lang": "en", "lang": "es", "pairs": 40}, es40, str(tmp_path))
    with pytest.raises(InputError) as e:
        add_comparison({**doc(), "en_lang": "en", "lang": "ru", "pairs": 40}, es40, str(tmp_path))
    assert str(e.value) == (
        f"{tmp_path / 'alignment.json'}: aligns 40 en–es pairs there but 40 en–ru here: compare two models on "
        "the same pairs (--pairs, --limit)"
    )
    with pytest.raises(
        InputError, match="aligns 40 en–es pairs there but 2 en–es here"
    ):  # read_pairs' result, as the CLI checks it
        check_same_pairs({"x": ["a", "b"], "en": ["c", "d"], "en_lang": "en", "lang": "es"}, es40, tmp_path)
    assert add_comparison(doc(cka=0.75), doc(cka=0.5), str(tmp_path))  # an older alignment.json, languages unrecorded


def test_comparison_needs_the_same_sentences_not_just_as_many(tmp_path):
    # 40 other en–es pairs passed the count-and-languages check and were subtracted as a model difference
    es = {**doc(), "en_lang": "en", "lang": "es", "pairs": 2, "pairs_sha256": pairs_fingerprint(["a", "b"], ["x", "y"])}
    read = {"x": ["x", "y"], "en": ["a", "b"], "en_lang": "en", "lang": "es"}
    check_same_pairs(read, es, tmp_path)
    with pytest.raises(InputError, match="aligns other sentences there than here \\(pairs sha256 "):
        check_same_pairs({**read, "x": ["y", "x"], "en": ["b", "a"]}, es, tmp_path)
    with pytest.raises(InputError, match="aligns other sentences there than here"):
        add_comparison({**es, "pairs_sha256": pairs_fingerprint(["a", "b"], ["x", "z"])}, es, str(tmp_path))
    older = {k: v for k, v in es.items() if k != "pairs_sha256"}  # before the fingerprint: count and languages
    check_same_pairs({**read, "x": ["y", "x"]}, older, tmp_path)


def test_pairs_fingerprint_is_the_sha256_of_the_pairs_in_order():
    import hashlib

    assert pairs_fingerprint(["Open"], ["Abrir"]) == hashlib.sha256(b'[["Open","Abrir"]]').hexdigest()
    assert pairs_fingerprint(["a", "b"], ["x", "y"]) != pairs_fingerprint(["b", "a"], ["y", "x"])
    assert pairs_fingerprint(["a", "b"], ["x", "y"]) != pairs_fingerprint(["a", "bx"], ["", "y"])


def run_with(tmp_path, *langs_):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    for lang in langs_:
        rows = [{"src": f"s{i}", "tgt": f"{lang}{i}", "src_lang": "en", "tgt_lang": lang} for i in range(3)]
        (run / "data" / f"test_en-{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_a_run_directory_gives_the_pairs_of_the_language_asked_for(tmp_path):
    run = run_with(tmp_path, "es", "ru")
    assert pairs_file(run, "ru") == run / "data" / "test_en-ru.jsonl"  # not the first: test_en-es
    assert read_pairs(run, "en", "ru")["x"] == ["ru0", "ru1", "ru2"]
    with pytest.raises(InputError) as e:
        pairs_file(run, "fr")
    assert str(e.value) == f"{run}: no en-fr held-out pairs (has es, ru)"
    with pytest.raises(InputError) as e:
        pairs_file(run)
    assert str(e.value) == f"{run}: held-out pairs in 2 languages (es, ru): give --tgt-lang"
    one = run_with(tmp_path / "one", "ru")
    assert pairs_file(one) == one / "data" / "test_en-ru.jsonl"


def test_pairs_that_do_not_say_their_language_are_not_called_spanish(tmp_path):
    tsv = tmp_path / "p.tsv"
    tsv.write_text("Open\tAbrir\nClose\tCerrar\n")
    with pytest.raises(InputError, match="a TSV file does not say its languages: give the target language"):
        read_pairs(tsv)
    assert read_pairs(tsv, "en", "es")["lang"] == "es"
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"src": "Open", "tgt": "Abrir"}\n{"src": "Close", "tgt": "Cerrar"}\n')
    with pytest.raises(InputError) as e:
        read_pairs(jsonl)
    assert str(e.value) == f"{jsonl}:1: no tgt_lang field: give the target language (--tgt-lang)"
    said = tmp_path / "said.jsonl"
    said.write_text(
        "".join(
            json.dumps({"src": s, "tgt": t, "src_lang": "en", "tgt_lang": "es"}) + "\n"
            for s, t in [("a", "b"), ("c", "d")]
        )
    )
    got = read_pairs(said)
    assert got["lang"] == "es" and got["sha256"] == pairs_fingerprint(["a", "c"], ["b", "d"])
    with pytest.raises(InputError) as e:  # --tgt-lang the pairs contradict
        read_pairs(said, "en", "ru")
    assert str(e.value) == f"{said}: holds en-es pairs, not en-ru (--tgt-lang ru)"


def test_one_json_object_is_not_pairs(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": {"polyqa/en": {"f1": 50.0}}}, indent=2))
    with pytest.raises(InputError, match="results.json: is one JSON object, not parallel pairs"):
        read_pairs(results, "en", "es")
