"""Each claim judged from synthetic run documents whose truth is known: paired intervals, four verdicts."""

import numpy as np
import pytest

from polyalign.report import claims

RNG_SEED = 11


def rows(values, **extra):
    """Per-item rows with an id and a sentence chrF++ (and any other per-item field)."""
    return [{"id": i, "chrf": float(v), **{k: float(x[i]) for k, x in extra.items()}} for i, v in enumerate(values)]


def arm(builder, langs, allocation="uniform", results=None):
    return {"builder": builder, "languages": langs, "allocation": allocation, "results": results or {}}


def doc_of(base_items, arm_items, arms, recipe=None, **more):
    return {"base": {}, "arms": arms, "items": {"base": base_items, "arms": arm_items}, "recipe": recipe or {}, **more}


def noisy(n=40, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    return rng.normal(30.0, 8.0, n), rng


def coit_doc(gain, noise, n=40, recipe=None, family="translation"):
    base, rng = noisy(n)
    tuned = {t: base + gain + rng.normal(0, noise, n) for t in ("en-es", "es-en")}
    return doc_of(
        {f"{family}/{t}": rows(base) for t in tuned},
        {"coit-es": {f"{family}/{t}": rows(v) for t, v in tuned.items()}},
        {"coit-es": arm("coit", ["es"])},
        recipe,
    )


def test_a_clear_gain_is_supported_with_its_interval_and_what_decided():
    c = claims.coit_raises_translation(coit_doc(5.0, 2.0))
    assert c["verdict"] == "supported"
    assert c["line"].startswith(
        "CoIT raises translation: supported — every part above the base (Holm): coit-es en→es +"
    )
    # en→es and es→en score the same 40 sentences (a parallel set: the same ids): resampled together
    assert (
        "decided on translation sentence chrF++, 40 items per part (the same items in several parts resampled "
        "together: 40 distinct), 1000 paired resamples" in c["line"]
    )
    assert c["method"]["pooled"].startswith("mean of the parts' differences; items resampled by id")
    assert [p["name"] for p in c["parts"]] == ["coit-es en→es", "coit-es es→en"]
    assert all(p["low"] > 0 for p in c["parts"]) and c["method"]["resamples"] == 1000 and c["method"]["seed"] == 0
    assert c["low"] <= c["effect"] <= c["high"]


def test_a_clear_loss_is_contradicted():
    assert claims.coit_raises_translation(coit_doc(-5.0, 2.0))["verdict"] == "contradicted"


def test_a_tiny_effect_with_a_wide_interval_is_inconclusive_and_says_what_it_could_detect():
    c = claims.coit_raises_translation(coit_doc(0.01, 15.0, n=12))
    assert c["verdict"] == "inconclusive"
    assert all(p["low"] < 0 < p["high"] for p in c["parts"])  # every part straddles 0: Holm decides nothing
    detect = max(p["detectable"] for p in c["parts"])
    assert c["line"].endswith(f"; this run could detect ≥ {detect:.2f} chrF++ per part (80% power)")


def test_fewer_than_ten_items_decide_nothing_however_clear_the_difference():
    """A quick run's handful of items: even a large, constant gain is inconclusive, and the line says why."""
    c = claims.coit_raises_translation(coit_doc(5.0, 0.0, n=9))
    assert (c["verdict"], c["low"] > 0) == ("inconclusive", True)
    assert c["line"].endswith("; too few items to decide (9 in a part, fewer than 10)")
    assert claims.coit_raises_translation(coit_doc(5.0, 0.0, n=10))["verdict"] == "supported"


def test_a_constant_difference_reads_exactly():
    d = doc_of(
        {"translation/en-es": rows([20, 30, 40] * 4)},
        {"coit-es": {"translation/en-es": rows([22, 32, 42] * 4)}},
        {"coit-es": arm("coit", ["es"])},
    )
    assert claims.coit_raises_translation(d)["line"] == (
        "CoIT raises translation: supported — tuned − base: coit-es en→es +2.00 [+2.00, +2.00]; pooled "
        "+2.00 [+2.00, +2.00] chrF++; decided on translation sentence chrF++, 12 items per part, 1000 paired resamples"
    )


def test_a_missing_arm_is_named_and_the_claim_is_never_supported():
    recipe = {"arms": [{"name": "coit-es", "builder": "coit"}, {"name": "coit-ru", "builder": "coit"}]}
    c = claims.coit_raises_translation(coit_doc(5.0, 2.0, recipe=recipe))
    assert c["verdict"] == "inconclusive"
    assert "; measured for coit-es; coit-ru (not run) missing" in c["line"]
    assert c["missing"] == ["coit-ru (not run)"]
    assert claims.coit_raises_translation(doc_of({}, {}, {}, recipe))["line"] == (
        "CoIT raises translation: not measured (no CoIT arm with base and tuned translation items)"
    )


def test_corpus_scores_without_items_cannot_decide():
    d = {
        "base": {"translation/en-es": {"chrf": 20.0}},
        "arms": {"coit-es": arm("coit", ["es"], results={"translation/en-es": {"chrf": 20.01}})},
    }
    c = claims.coit_raises_translation(d)
    assert c["line"] == (
        "CoIT raises translation: inconclusive — no per-item samples to pair (corpus scores only for "
        "coit-es en→es); no interval"
    )


def test_flores_then_polymt_then_held_out_pairs_and_comet_when_measured():
    d = coit_doc(5.0, 2.0)
    worse = coit_doc(-5.0, 2.0, family="polymt")
    for side in ("base",):
        d["items"][side] |= worse["items"][side]
    d["items"]["arms"]["coit-es"] |= worse["items"]["arms"]["coit-es"]
    c = claims.coit_raises_translation(d)
    assert c["verdict"] == "contradicted" and "decided on polymt sentence chrF++" in c["line"]
    base, rng = noisy()
    d["items"]["base"]["flores/en-es"] = rows(base, comet=base / 100)
    d["items"]["arms"]["coit-es"]["flores/en-es"] = rows(base, comet=base / 100 + 0.05)
    c = claims.coit_raises_translation(d)
    assert [p["name"] for p in c["parts"]] == ["coit-es en→es", "coit-es es→en"]
    assert "decided on flores/polymt sentence chrF++" in c["line"]  # COMET only where every part has it
    d["items"]["base"]["flores/es-en"] = rows(base, comet=base / 100)
    d["items"]["arms"]["coit-es"]["flores/es-en"] = rows(base, comet=base / 100 + 0.05)
    c = claims.coit_raises_translation(d)
    assert c["verdict"] == "supported" and c["unit"] == "COMET"
    assert "decided on flores COMET, 40 items per part" in c["line"]


def test_corpus_chrf_is_recomputed_from_the_outputs():
    refs = [f"the market {i} opens at {i + 7} in the morning" for i in range(12)]
    base = [{"id": i, "output": r.replace("market", "house"), "reference": r} for i, r in enumerate(refs)]
    tuned = [{"id": i, "output": r, "reference": r} for i, r in enumerate(refs)]
    d = doc_of({"translation/en-es": base}, {"coit-es": {"translation/en-es": tuned}}, {"coit-es": arm("coit", ["es"])})
    c = claims.coit_raises_translation(d)
    assert c["verdict"] == "supported" and "decided on translation chrF++, 12 items" in c["line"]


def muit_doc(gap, noise):
    base, rng = noisy()
    coit = {"translation/en-es": rows(base), "translation/es-en": rows(base + 3)}
    muit = {t: rows(np.array([r["chrf"] for r in v]) + gap + rng.normal(0, noise, 40)) for t, v in coit.items()}
    arms = {"coit-es": arm("coit", ["es"]), "muit-uniform": arm("muit", ["es", "ru"])}
    return doc_of({}, {"coit-es": coit, "muit-uniform": muit}, arms)


@pytest.mark.parametrize(
    ("gap", "noise", "verdict"),
    [(0.0, 0.3, "supported"), (-4.0, 0.5, "contradicted"), (-1.0, 0.5, "inconclusive"), (0.0, 6.0, "inconclusive")],
)
def test_muit_equivalence_inside_outside_and_straddling(gap, noise, verdict):
    c = claims.muit_matches_coit(muit_doc(gap, noise))
    assert c["verdict"] == verdict, c["line"]
    assert c["line"].startswith(
        f"MuIT within 1 chrF++ of per-language CoIT: {verdict} — muit-uniform − CoIT, every part inside ±1 "
        "(two one-sided tests, Holm): es en→es "
    )


def law(sizes, scores, form="log", r2=0.99, **fields):
    return {"form": form, "r2": r2, "sizes": sizes, "scores": scores, **fields}


def test_law_rising_falling_and_too_few_sizes():
    rising = law([50, 100, 200, 400, 800], [20, 23, 26.2, 28.9, 32])
    c = claims.quality_follows_law({"scaling": {"fits": {"fits": {"es": rising}}}})
    assert c["verdict"] == "supported"
    assert c["line"].startswith(
        "Quality follows the fitted scaling law: supported — es supported (log, k=2, 5 sizes, R² 0.990, rises "
        "20.01→31.99 over 50–800 pairs, leave-one-size-out RMSE "
    )
    falling = law([50, 100, 200], [50, 46, 42], r2=1.0)
    c = claims.quality_follows_law({"scaling": {"fits": {"fits": {"es": rising, "zh": falling}}}})
    assert (
        c["verdict"] == "contradicted" and "zh contradicted (log, k=2, 3 sizes, R² 1.000, falls or is flat" in c["line"]
    )
    two = law([50, 200], [20, 30], r2=1.0)
    c = claims.quality_follows_law({"scaling": {"fits": {"fits": {"es": two}}}})
    assert c["verdict"] == "inconclusive" and "2 sizes, the log form needs ≥ 4" in c["line"]
    # the scaling helper's fields win over what is computed here
    told = law([50, 100, 200, 400], [20, 23, 26, 29], k=2, n_sizes=4, rising=False, loo_rmse=0.5)
    c = claims.quality_follows_law({"scaling": {"fits": {"fits": {"es": told}}}})
    assert c["verdict"] == "contradicted" and "leave-one-size-out RMSE 0.50" in c["line"]
    c = claims.quality_follows_law(
        {"scaling": {"fits": {"fits": {"es": rising}}}, "recipe": {"scaling": {"languages": ["es", "ru"]}}}
    )
    assert c["verdict"] == "inconclusive" and c["line"].endswith("; measured for es; ru missing")
    assert claims.quality_follows_law({})["verdict"] == "not measured"


def plan_doc(gain):
    rng = np.random.default_rng(5)
    b = {x: rng.normal(25, 8, 30) for x in ("es", "zh")}
    arms = {"muit-uniform": arm("muit", ["es", "zh"]), "muit-planned": arm("muit", ["es", "zh"], "plan")}
    items = {
        "muit-uniform": {f"translation/en-{x}": rows(v) for x, v in b.items()},
        "muit-planned": {f"translation/en-{x}": rows(v + gain + rng.normal(0, 1, 30)) for x, v in b.items()},
    }
    return doc_of({}, items, arms, scaling={"plan": {"gain_over_uniform": 0.75}})


def test_planned_against_uniform_over_the_union_of_items():
    c = claims.planned_beats_uniform(plan_doc(2.0))
    assert c["verdict"] == "supported"
    assert c["line"].startswith(
        "The planned budget beats uniform: supported — muit-planned − muit-uniform En→X over the union of "
        "es, zh items (30 distinct): +"
    )
    assert "; predicted gain +0.75; decided on translation sentence chrF++, 30 items per part" in c["line"]
    assert c["pooled"]["n"] == 30  # es and zh score the same 30 sentences: 30 units, not 60 independent items
    assert claims.planned_beats_uniform(plan_doc(-2.0))["verdict"] == "contradicted"
    assert claims.planned_beats_uniform(plan_doc(0.0))["verdict"] == "inconclusive"
    d = plan_doc(2.0)
    del d["arms"]["muit-planned"]
    assert claims.planned_beats_uniform(d)["verdict"] == "not measured"


def alignment(base_pairs, tuned_pairs):
    def layers(pairs):
        return {
            "lang": "es",
            "layers": [
                {
                    "layer": i,
                    "cosine_parallel_centred": float(np.mean(pairs)),
                    **({"pairs_cos_centred": list(pairs)} if pairs is not None else {}),
                }
                for i in range(7)
            ],
        }

    return {
        "analysis": {
            "lang": "es",
            "base": {"alignment": layers(base_pairs)},
            "arms": {"coit-es": {"alignment": layers(tuned_pairs)}},
        }
    }


def test_middle_layer_alignment_paired_by_pair():
    rng = np.random.default_rng(2)
    base = rng.normal(0.3, 0.05, 64)
    c = claims.tuning_raises_middle_alignment(alignment(base, base + 0.02 + rng.normal(0, 0.005, 64)))
    assert c["verdict"] == "supported"
    assert c["line"].startswith(
        "Tuning raises middle-layer alignment: supported — tuned − base, paired by pair: coit-es +0.020 ["
    )
    assert "decided on centred cosine en–es, layers 3–4, 64 parallel pairs, 1000 paired resamples" in c["line"]
    c = claims.tuning_raises_middle_alignment(alignment(base, base + 0.0001 + rng.normal(0, 0.05, 64)))
    assert c["verdict"] == "inconclusive" and "could detect ≥ 0.0" in c["line"]
    assert claims.tuning_raises_middle_alignment({})["verdict"] == "not measured"


def test_alignment_without_per_pair_values_is_inconclusive():
    """0.3001 against 0.3000 with no per-pair values: no point comparison decides."""
    d = alignment(np.array([0.3000]), np.array([0.3001]))
    for side in (d["analysis"]["base"], d["analysis"]["arms"]["coit-es"]):
        for r in side["alignment"]["layers"]:
            del r["pairs_cos_centred"]
    assert claims.tuning_raises_middle_alignment(d)["line"] == (
        "Tuning raises middle-layer alignment: inconclusive — no per-pair values to pair (centred cosine en–es, "
        "layers 3–4: base 0.300; point differences coit-es +0.000)"
    )


def test_unseen_languages_by_pair_keys():
    seen = {"zh", "de"}
    assert claims.unseen("polyqa/fr", seen)
    assert not claims.unseen("polyqa/zh", seen)
    assert not claims.unseen("mlqa/en-en", seen)
    assert not claims.unseen("mlqa/en-zh", seen)
    assert not claims.unseen("mlqa/fr-de", seen)
    assert claims.unseen("mlqa/fr-ja", seen)


def test_qalign_transfer_pooled_over_unseen_languages():
    rng = np.random.default_rng(9)
    correct = {x: (rng.random(60) < 0.4).astype(float) for x in ("fr", "ja", "zh", "en")}
    better = {x: np.maximum(v, rng.random(60) < 0.3) for x, v in correct.items()}
    base = {f"polysent/{x}": [{"id": i, "correct": c} for i, c in enumerate(v)] for x, v in correct.items()}
    base["mlqa/en-en"] = [{"id": i, "f1": 0.2} for i in range(10)]
    tuned = {f"polysent/{x}": [{"id": i, "correct": c} for i, c in enumerate(v)] for x, v in better.items()}
    tuned["mlqa/en-en"] = [{"id": i, "f1": 0.9} for i in range(10)]
    base["mlqa/fr-ja"] = [{"id": f"q{i}", "f1": 0.1, "exact_match": 0.0} for i in range(10)]
    tuned["mlqa/fr-ja"] = [{"id": f"q{i}", "f1": 0.2, "exact_match": 0.0} for i in range(10)]
    d = doc_of(base, {"qalign-zh-de": tuned}, {"qalign-zh-de": arm("qalign", ["zh", "de"])})
    c = claims.qalign_transfers(d)
    assert [p["name"] for p in c["parts"]] == [
        "qalign-zh-de mlqa/fr-ja",
        "qalign-zh-de polysent/fr",
        "qalign-zh-de polysent/ja",
    ]
    assert c["parts"][0]["effect"] == pytest.approx(10.0)  # F1 per item, in points
    assert c["verdict"] == "supported"
    assert c["line"].startswith(
        "Question alignment transfers to languages it never saw: supported — pooled over unseen"
    )
    assert (
        "decided on 3 unseen tasks, F1/accuracy per item (the same items in several parts resampled together: "
        "70 distinct), 1000 paired resamples" in c["line"]
    )
    # each task's own pooled effect beside the deciding one: which task moved (F1 +10 on mlqa, by construction)
    assert c["by_task"]["mlqa"]["effect"] == pytest.approx(10.0) and c["by_task"]["mlqa"]["n"] == 10
    assert c["by_task"]["polysent"]["n"] == 60 and c["by_task"]["polysent"]["low"] > 0
    assert "; by task, not deciding: mlqa +10.00 [+10.00, +10.00] F1, polysent +" in c["line"]
    one = claims.qalign_transfers(
        doc_of(
            {k: v for k, v in base.items() if k.startswith("polysent")},
            {"qalign-zh-de": {k: v for k, v in tuned.items() if k.startswith("polysent")}},
            {"qalign-zh-de": arm("qalign", ["zh", "de"])},
        )
    )
    assert "by_task" not in one and "by task" not in one["line"]  # one task: its pooled effect is the claim's
    same = doc_of(base, {"qalign-zh-de": base}, {"qalign-zh-de": arm("qalign", ["zh", "de"])})
    assert claims.qalign_transfers(same)["verdict"] == "inconclusive"
    assert claims.qalign_transfers(doc_of({}, {}, {}))["verdict"] == "not measured"


def test_every_claim_in_order_on_an_empty_run():
    lines = [c["line"] for c in claims.judge_claims({"base": None, "arms": {}})]
    assert [x.split(":")[0] for x in lines] == [
        "CoIT raises translation",
        "MuIT within 1 chrF++ of per-language CoIT",
        "Quality follows the fitted scaling law",
        "The planned budget beats uniform",
        "Tuning raises middle-layer alignment",
        "Question alignment transfers to languages it never saw",
    ]
    assert all(": not measured (" in x for x in lines)


def test_muit_names_a_language_whose_coit_arm_did_not_run():
    d = muit_doc(0.0, 0.3)
    d["recipe"] = {
        "arms": [
            {"name": "coit-es", "builder": "coit", "languages": ["es"]},
            {"name": "coit-ru", "builder": "coit", "languages": ["ru"]},
        ]
    }
    c = claims.muit_matches_coit(d)
    assert c["verdict"] == "inconclusive"
    assert "; measured for es; ru (its CoIT arm not run) missing" in c["line"]


def test_a_coit_arm_with_corpus_scores_only_is_named():
    d = coit_doc(5.0, 2.0)
    d["arms"]["coit-ru"] = arm("coit", ["ru"], results={"translation/en-ru": {"chrf": 30.0}})
    d["base"] = {"translation/en-ru": {"chrf": 20.0}}
    c = claims.coit_raises_translation(d)
    assert c["verdict"] == "inconclusive"
    assert "; measured for coit-es; coit-ru (no per-item samples) missing" in c["line"]


def test_the_claim_interval_covers_the_true_gain():
    """200 simulated runs (a CoIT arm 2.0 chrF++ above the base on 30 items per direction, seeded):
    the claim's pooled 95% interval covers the true gain at least 90% of the time."""
    rng = np.random.default_rng(2026)
    covered = 0
    for k in range(200):
        base = {t: rng.normal(30.0, 8.0, 30) for t in ("en-es", "es-en")}
        tuned = {t: v + 2.0 + rng.normal(0.0, 4.0, 30) for t, v in base.items()}
        d = doc_of(
            {f"translation/{t}": rows(v) for t, v in base.items()},
            {"coit-es": {f"translation/{t}": rows(v) for t, v in tuned.items()}},
            {"coit-es": arm("coit", ["es"])},
            {"seed": k},
        )
        c = claims.coit_raises_translation(d, resamples=300)
        covered += c["low"] <= 2.0 <= c["high"]
    assert covered >= 180, covered


def test_transfer_says_which_parts_could_not_move():
    """A classification part where base and arm gave every item the same one label (polysent at its majority
    rate) stays in the pool as no change, and the claim says how many such parts it holds."""
    fixed = [{"id": f"s{i}", "correct": i < 3} for i in range(5)]  # "negative" for all five: 3 of 5 right
    moving_base = [{"id": f"q{i}", "f1": 0.2} for i in range(12)]
    moving_arm = [{"id": f"q{i}", "f1": 0.6} for i in range(12)]
    base = {"polysent/fr": fixed, "polysent/ja": fixed, "polyqa/ru": moving_base}
    tuned = {"polysent/fr": fixed, "polysent/ja": fixed, "polyqa/ru": moving_arm}
    const = {"accuracy": 60.0, "constant_prediction": "negative"}
    d = doc_of(base, {"qalign-zh-de": tuned}, {"qalign-zh-de": arm("qalign", ["zh", "de"])})
    d["base"] = {"polysent/fr": const, "polysent/ja": const, "polyqa/ru": {"f1": 20.0}}
    d["arms"]["qalign-zh-de"]["results"] = {"polysent/fr": const, "polysent/ja": {**const, "constant_prediction": None}}
    line = claims.qalign_transfers(d)["line"]
    assert (
        "; in 1 of 3 parts base and arm gave every item one and the same label (a measurement that did not move)"
        in line
    )
    d["arms"]["qalign-zh-de"]["results"]["polysent/ja"] = const
    assert "; in 2 of 3 parts base and arm" in claims.qalign_transfers(d)["line"]
