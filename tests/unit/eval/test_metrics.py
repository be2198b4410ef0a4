"""Exact values for every metric. The QA numbers for en, es, de, ar, hi, vi and zh were computed by
the official MLQA v1 evaluation script on the cases in qa_cases.py; polyalign must match them."""

from __future__ import annotations

import pytest
from qa_cases import CASES, OFFICIAL, OFFICIAL_PER_EXAMPLE, squad

from polyalign.eval.metrics import (
    MeanStats,
    accuracy,
    evaluate_qa,
    fidelity,
    fidelity_counts,
    last_number,
    normalize_answer,
    numbers_equal,
    qa_items,
    qa_scores,
    qa_tokens,
)


@pytest.mark.parametrize("lang", sorted(OFFICIAL))
def test_qa_identical_to_official_mlqa(lang):
    em, f1, normalised = OFFICIAL[lang]
    preds = {f"{lang}-{i}": p for i, (_, p) in enumerate(CASES[lang]) if p is not None}
    r = evaluate_qa(qa_items(squad(lang)), preds, lang)
    assert r["exact_match"] == em
    assert r["f1"] == f1
    assert [normalize_answer(p, lang) for p in preds.values()] == normalised
    assert r["n"] == len(CASES[lang])


@pytest.mark.parametrize("lang", sorted(OFFICIAL_PER_EXAMPLE))
def test_qa_per_example_identical_to_official(lang):
    for (golds, pred), expected in zip(CASES[lang], OFFICIAL_PER_EXAMPLE[lang]):
        if pred is None:
            continue
        s = qa_scores(pred, golds, lang)
        assert (s["exact_match"], s["f1"]) == (float(expected[0]), expected[1])


def test_unanswered_questions_count_as_zero():
    r = evaluate_qa(qa_items(squad("en")), {}, "en")
    assert (r["exact_match"], r["f1"], r["contains"], r["missing"]) == (0.0, 0.0, 0.0, 8)


def test_arabic_article_removed_inside_words_like_the_official_script():
    assert qa_tokens("بالاتفاق", "ar") == ["ب", "اتفاق"]


def test_contains_is_whole_token_containment():
    assert qa_scores("He was born in New York City", ["New York"], "en")["contains"] == 1.0
    assert qa_scores("Newark", ["New"], "en")["contains"] == 0.0
    assert qa_scores("它位于北京市", ["北京"], "zh")["contains"] == 1.0
    r = evaluate_qa(qa_items(squad("en")), {f"en-{i}": p for i, (_, p) in enumerate(CASES["en"]) if p}, "en")
    assert r["contains"] == 50.0


def test_thai_character_segmentation():
    assert qa_tokens("กรุงเทพ 2020", "th") == ["ก", "ร", "ุ", "ง", "เ", "ท", "พ", "2020"]
    s = qa_scores("กรุงเทพมหานคร", ["กรุงเทพ"], "th")
    # 7 shared characters; precision 7/13, recall 7/7 -> F1 = 0.7
    assert s == {"exact_match": 0.0, "f1": pytest.approx(0.7, abs=1e-12), "contains": 1.0}


def test_other_xquad_languages():
    assert qa_tokens("Ο Παρθενώνας, η Ακρόπολη", "el") == ["παρθενώνας", "ακρόπολη"]
    assert qa_tokens("Москва — столица России.", "ru") == ["москва", "столица", "россии"]
    assert qa_tokens("İstanbul'un IŞIKLARI", "tr") == ["istanbulun", "ışıkları"]
    assert qa_tokens("Universitatea din București", "ro") == ["universitatea", "din", "bucurești"]
    assert qa_scores("Ακρόπολη", ["η Ακρόπολη"], "el")["exact_match"] == 1.0


def test_mean_stats_add_and_stderr():
    a, b = MeanStats.of([1, 0, 1]), MeanStats.of([1, 1])
    both = a + b
    assert both == MeanStats.of([1, 0, 1, 1, 1])
    assert both.score() == 80.0
    # sample sd of (1,0,1,1,1) = sqrt(0.2), stderr = sqrt(0.2 / 5) = 0.2
    assert both.stderr() == pytest.approx(20.0, abs=1e-9)
    assert MeanStats().score() == 0.0 and MeanStats.of([1.0]).stderr() == 0.0


def test_accuracy_and_numbers():
    r = accuracy(["a", "b", "b", "a"], ["a", "b", "a", "a"])
    assert (r["accuracy"], r["n"]) == (75.0, 4)
    assert r["accuracy_stderr"] == pytest.approx(25.0)
    with pytest.raises(ValueError):
        accuracy(["a"], ["a", "b"])
    assert last_number("Step 1: 12 + 30 = 42. The answer is 42.") == 42.0
    assert last_number("Il a payé 1,234 euros, puis -5.") == -5.0
    assert last_number("答案是 3.5") == 3.5
    assert last_number("no digits") is None
    assert numbers_equal(42.0, 42) and not numbers_equal(None, 1) and not numbers_equal(41.0, 42)


def test_fidelity_counts():
    r = fidelity_counts(["es", "es", "en", None, "gl"], "es")
    assert r["on_target_rate"] == 0.5
    assert (r["n"], r["empty"]) == (4, 1)
    assert r["counts"] == {"es": 2, "en": 1, "gl": 1}
    assert fidelity_counts(["no", "nb"], "nb")["on_target_rate"] == 1.0


def test_fidelity_with_langid():
    outputs = [
        "El gobierno anunció ayer nuevas medidas para proteger los bosques del país.",
        "The government announced new measures yesterday to protect the country's forests.",
        "",
        "Las escuelas permanecerán cerradas durante toda la semana por la tormenta.",
    ]
    r = fidelity(outputs, "es")
    assert r["detected"] == ["es", "en", None, "es"]
    assert r["on_target_rate"] == pytest.approx(2 / 3)
    assert r["counts"] == {"es": 2, "en": 1}


def test_fidelity_does_not_identify_outputs_without_letters():
    """A QA answer "40" is in no language: langid called it English, so a right answer in Spanish read
    as off-target (polyqa/es: EM 100, fidelity 0). Such outputs are counted apart, not identified."""
    r = fidelity(["40", "3.5 %", "", "Las escuelas permanecerán cerradas toda la semana."], "es")
    assert r["detected"] == [None, None, None, "es"]
    assert (r["on_target_rate"], r["n"], r["empty"], r["neutral"]) == (1.0, 1, 1, 2)
    none = fidelity(["40", " 1912 ", ""], "es")  # nothing to identify: no rate, not 0%
    assert (none["on_target_rate"], none["n"], none["empty"], none["neutral"]) == (None, 0, 1, 2)
    assert fidelity(["东京", "Москва"], "zh")["detected"][0] == "zh"  # letters of any script count


def test_fidelity_metrics_say_why_there_is_no_rate():
    from polyalign.eval.kinds import fidelity_metrics

    out, detected = fidelity_metrics(["40", "3"], "es", ["en", "es"], references=["40", "3"])
    assert out["fidelity"] is None and out["fidelity_reference"] is None
    assert out["fidelity_note"] == "no output has a letter to identify (0 empty, 2 without letters)"
    assert detected == [None, None]
    out, _ = fidelity_metrics(["40", "cuarenta colmenas"], "es", ["en", "es"])
    assert (out["fidelity"], out["fidelity_neutral"], "fidelity_note" in out) == (100.0, 1, False)


def test_majority_baseline_and_constant_prediction():
    from polyalign.eval.metrics import constant_prediction, majority_baseline

    assert majority_baseline(["positive"] * 3 + ["negative"] * 2) == {
        "majority_baseline": 60.0,
        "majority_label": "positive",
    }
    # a tie goes to the label first in the task's order, else first met
    assert majority_baseline(["yes", "no", "no", "yes"], order=["no", "yes"]) == {
        "majority_baseline": 50.0,
        "majority_label": "no",
    }
    assert majority_baseline(["b", "a", "a", "b", "c"])["majority_label"] == "b"
    assert majority_baseline(["true", "false", "neither", "false"])["majority_baseline"] == 50.0
    assert majority_baseline([]) == {"majority_baseline": None, "majority_label": None}
    assert constant_prediction(["positive"] * 5) == "positive"
    assert constant_prediction(["positive"] * 4 + ["negative"]) is None
    assert constant_prediction(["positive"]) is None and constant_prediction([]) is None
    # the constant predictor scores exactly the share of its label: 60% here, as polysent showed
    preds, golds = ["positive"] * 5, ["positive"] * 3 + ["negative"] * 2
    assert accuracy(preds, golds)["accuracy"] == majority_baseline(golds)["majority_baseline"] == 60.0
