"""alignment.json's pooling record, and comparisons only between alignments pooled alike."""

from __future__ import annotations

import pytest

from polyalign.analysis.align import add_comparison, check_same_pairs, pooling_record
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
