"""Every delta of the results tables with its paired interval, where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF

from polyalign.report import tables
from polyalign.report.deltas import delta_effect, delta_effects, target_language
from polyalign.report.markdown import table_text

REFS = [
    "The harbour is closed on Sundays.",
    "She bought three loaves of bread at the market.",
    "Our train leaves at seven in the morning.",
    "The museum opens a new exhibition next week.",
    "He forgot his umbrella on the bus again.",
    "The children played in the park until dark.",
]
BASE_OUT = [
    "The port is closed Sunday.",
    "She buy three bread in market.",
    "Our train go at seven morning.",
    "Museum open new exhibition next week.",
    "He forget umbrella in bus.",
    "Children play in park until night.",
]


def _doc(task: str, base_rows: list[dict], arm_rows: list[dict], base: dict, arm: dict) -> dict:
    return {
        "recipe": {"seed": 0},
        "base": {task: base},
        "arms": {"tuned": {"results": {task: arm}}},
        "items": {"base": {task: base_rows}, "arms": {"tuned": {task: arm_rows}}},
    }


def _translation_doc(arm_out: list[str]) -> dict:
    task = "polymt/en-es"
    rows = [
        [{"id": f"s{i}", "output": o, "reference": r} for i, (o, r) in enumerate(zip(out, REFS))]
        for out in (BASE_OUT, arm_out)
    ]
    scores = [
        {"chrf": CHRF(word_order=2).corpus_score(out, [REFS]).score, "bleu": BLEU().corpus_score(out, [REFS]).score}
        for out in (BASE_OUT, arm_out)
    ]
    return _doc(task, rows[0], rows[1], scores[0], scores[1])


def test_identical_outputs_give_a_zero_delta_with_a_zero_width_interval():
    doc = _translation_doc(BASE_OUT)
    for metric in ("chrf", "bleu"):
        e = delta_effect(doc, "tuned", "polymt/en-es", metric)
        assert (e.effect, e.low, e.high) == (0.0, 0.0, 0.0)


def test_a_perfect_system_is_above_the_base_and_the_point_is_the_tables_difference():
    doc = _translation_doc(REFS)  # the tuned model writes the references: corpus chrF++ and BLEU 100
    for metric in ("chrf", "bleu"):
        e = delta_effect(doc, "tuned", "polymt/en-es", metric)
        diff = doc["arms"]["tuned"]["results"]["polymt/en-es"][metric] - doc["base"]["polymt/en-es"][metric]
        assert e.effect == pytest.approx(diff, abs=1e-9) and 0 < e.low <= e.effect <= e.high
        assert e.n == len(REFS)


def test_a_number_the_samples_do_not_give_gets_no_interval_and_the_table_says_so():
    doc = _translation_doc(REFS)
    doc["arms"]["tuned"]["results"]["polymt/en-es"]["chrf"] = 55.0  # not what the outputs score
    assert delta_effect(doc, "tuned", "polymt/en-es", "chrf") is None
    assert delta_effect(doc, "tuned", "polymt/en-es", "bleu") is not None
    doc["base"], doc["arms"]["tuned"]["results"] = (
        {"translation/en-es": doc["base"]["polymt/en-es"]},
        {"translation/en-es": doc["arms"]["tuned"]["results"]["polymt/en-es"]},
    )
    doc["items"] = {
        "base": {"translation/en-es": doc["items"]["base"]["polymt/en-es"]},
        "arms": {"tuned": {"translation/en-es": doc["items"]["arms"]["tuned"]["polymt/en-es"]}},
    }
    t = tables.results_table(doc, "translation", delta_effects(doc))
    chrf_row = next(r for r in t["rows"] if r[1] == "chrF++")
    assert chrf_row[3].endswith(")") and "[" not in chrf_row[3]  # the delta alone
    assert t["unpaired"] == 1


def test_bleu_with_a_sentencepiece_tokenizer_has_no_interval():
    doc = _translation_doc(REFS)
    doc["arms"]["tuned"]["results"]["polymt/en-es"]["bleu_signature"] = "nrefs:1|tok:flores200|version:2.5.1"
    assert delta_effect(doc, "tuned", "polymt/en-es", "bleu") is None


def test_fidelity_counts_identified_outputs_only_and_langids_equivalent_codes():
    # base: es, en, (no letter), es -> 2 of 3 identified; tuned: es, es, es, (empty) -> 3 of 3
    base_rows = [{"id": i, "detected_lang": d} for i, d in enumerate(["es", "en", None, "es"])]
    arm_rows = [{"id": i, "detected_lang": d} for i, d in enumerate(["es", "es", "es", None])]
    doc = _doc("polyqa/es", base_rows, arm_rows, {"fidelity": 200 / 3}, {"fidelity": 100.0})
    e = delta_effect(doc, "tuned", "polyqa/es", "fidelity")
    assert e.effect == pytest.approx(100 / 3) and e.low >= 0.0 and e.high <= 100.0
    nb = _doc("polymt/en-nb", base_rows[:1], arm_rows[:1], {"fidelity": 0.0}, {"fidelity": 100.0})
    nb["items"]["arms"]["tuned"]["polymt/en-nb"] = [{"id": 0, "detected_lang": "no"}]  # Norwegian read as `no`
    nb["items"]["base"]["polymt/en-nb"] = [{"id": 0, "detected_lang": "en"}]
    assert delta_effect(nb, "tuned", "polymt/en-nb", "fidelity").effect == 100.0
    assert target_language("polymt/en-nb") == "nb" and target_language("polyqa/es") == "es"


def test_the_delta_interval_covers_the_true_difference():
    """Over 200 simulated paired sets of 40 items (true difference 2, correlated per-item scores), the
    95% interval of the delta covers 2 at least 90% of the time."""
    rng = np.random.default_rng(7)
    covered = 0
    for k in range(200):
        item = rng.normal(50.0, 15.0, 40)
        base = item + rng.normal(0.0, 4.0, 40)
        arm = item + 2.0 + rng.normal(0.0, 4.0, 40)
        rows = [[{"id": i, "f1": v / 100} for i, v in enumerate(x)] for x in (base, arm)]
        doc = _doc("polyqa/es", rows[0], rows[1], {"f1": float(np.mean(base))}, {"f1": float(np.mean(arm))})
        e = delta_effect(doc, "tuned", "polyqa/es", "f1", seed=k)
        covered += e.low <= 2.0 <= e.high
    assert covered >= 180


def test_the_plain_runs_terminal_table_shows_each_delta_with_its_interval():
    summary = {
        "before": {"translation/en-es": {"chrf": 20.0}},
        "after": {"translation/en-es": {"chrf": 25.0}},
        "deltas": {"coit-es": {"translation/en-es": {"chrf": {"effect": 5.0, "low": 2.25, "high": 7.5}}}},
    }
    text = table_text(summary)
    assert "delta [95% paired interval]" in text and "+5.00 [+2.25, +7.50]" in text
