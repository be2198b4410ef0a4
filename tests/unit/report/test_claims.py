"""Each claim in one line, from small hand-written report documents: exact strings."""

from polyalign.report import claims


def tr(**chrf):
    """``tr(en_es=20)`` -> ``{"translation/en-es": {"chrf": 20}}``."""
    return {f"translation/{k.replace('_', '-')}": {"chrf": v} for k, v in chrf.items()}


def arm(builder, langs, results, allocation="uniform"):
    return {"builder": builder, "languages": langs, "allocation": allocation, "results": results}


BASE = tr(en_es=20.0, es_en=30.0, en_zh=10.0)


def test_coit_yes_not_supported_and_not_measured():
    doc = {"base": BASE, "arms": {"coit-es": arm("coit", ["es"], tr(en_es=25.0, es_en=31.5))}}
    assert claims.coit_raises_translation(doc)["line"] == (
        "CoIT raises translation: yes — chrF++ base→tuned: coit-es en→es 20.00→25.00 (+5.00), es→en 30.00→31.50 (+1.50)"
    )
    doc["arms"]["coit-zh"] = arm("coit", ["zh"], tr(en_zh=9.5))
    c = claims.coit_raises_translation(doc)
    assert c["verdict"] == "not supported"
    assert c["line"].endswith("; coit-zh en→zh 10.00→9.50 (-0.50)")
    assert claims.coit_raises_translation({"base": BASE, "arms": {}})["line"] == (
        "CoIT raises translation: not measured (no CoIT arm with base and tuned chrF++)"
    )


def test_muit_within_one_point_of_coit():
    arms = {
        "coit-es": arm("coit", ["es"], tr(en_es=25.0)),
        "coit-zh": arm("coit", ["zh"], tr(en_zh=14.0)),
        "muit-uniform": arm("muit", ["es", "zh"], tr(en_es=24.2, en_zh=14.5)),
    }
    assert claims.muit_matches_coit({"base": BASE, "arms": arms})["line"] == (
        "MuIT within 1 chrF++ of per-language CoIT: yes — chrF++ muit-uniform vs CoIT: en→es 24.20 vs 25.00 (-0.80), "
        "en→zh 14.50 vs 14.00 (+0.50)"
    )
    arms["muit-uniform"] = arm("muit", ["es", "zh"], tr(en_es=23.9, en_zh=14.5))
    assert claims.muit_matches_coit({"base": BASE, "arms": arms})["verdict"] == "not supported"
    assert claims.muit_matches_coit({"arms": {"coit-es": arms["coit-es"]}})["verdict"] == "not measured"


def test_law_r2_threshold():
    doc = {"scaling": {"fits": {"fits": {"es": {"form": "power", "r2": 0.95}, "zh": {"form": "log", "r2": 0.85}}}}}
    assert claims.quality_follows_law(doc)["line"] == (
        "Quality follows the fitted scaling law: not supported — es power R² 0.950, zh log R² 0.850 (threshold 0.90)"
    )
    assert claims.quality_follows_law({})["line"] == (
        "Quality follows the fitted scaling law: not measured (no scaling pilot fits in this run)"
    )


def test_planned_against_uniform():
    arms = {
        "muit-uniform": arm("muit", ["es", "zh"], tr(en_es=24.0, en_zh=12.0)),
        "muit-planned": arm("muit", ["es", "zh"], tr(en_es=23.0, en_zh=14.0), "plan"),
    }
    doc = {"arms": arms, "scaling": {"plan": {"gain_over_uniform": 0.75}}}
    assert claims.planned_beats_uniform(doc)["line"] == (
        "The planned budget beats uniform: yes — mean chrF++ En→X over es, zh: planned 18.50 vs uniform 18.00 (+0.50); "
        "predicted gain +0.75"
    )
    arms["muit-planned"]["results"] = tr(en_es=23.0, en_zh=13.0)
    assert claims.planned_beats_uniform(doc)["verdict"] == "not supported"
    del arms["muit-planned"]
    assert claims.planned_beats_uniform(doc)["verdict"] == "not measured"


def layers(values):
    return {"lang": "es", "layers": [{"layer": i, "cosine_parallel_centred": v} for i, v in enumerate(values)]}


def test_middle_layer_alignment():
    base = layers([1.0, 0.1, 0.2, 0.3, 0.3, 0.2, 0.1])  # layers 1..6; middle third: layers 3 and 4
    tuned = layers([1.0, 0.1, 0.2, 0.4, 0.5, 0.2, 0.1])
    doc = {"analysis": {"lang": "es", "base": {"alignment": base}, "arms": {"coit-es": {"alignment": tuned}}}}
    assert claims.tuning_raises_middle_alignment(doc)["line"] == (
        "Tuning raises middle-layer alignment: yes — centred cosine en–es, layers 3–4: base 0.300, coit-es "
        "0.450 (+0.150)"
    )
    doc["analysis"]["arms"]["coit-es"]["alignment"] = base
    assert claims.tuning_raises_middle_alignment(doc)["verdict"] == "not supported"
    assert claims.tuning_raises_middle_alignment({})["verdict"] == "not measured"


def test_qalign_transfer_to_unseen_languages_only():
    base = {
        "polysent/zh": {"accuracy": 50.0},
        "polysent/fr": {"accuracy": 40.0},
        "polysent/ja": {"accuracy": 30.0},
        "polyqa/fr": {"f1": 20.0, "exact_match": 10.0},
    }
    tuned = {
        "polysent/zh": {"accuracy": 90.0},
        "polysent/fr": {"accuracy": 43.0},
        "polysent/ja": {"accuracy": 32.0},
        "polyqa/fr": {"f1": 19.0, "exact_match": 12.0},
    }
    doc = {"base": base, "arms": {"qalign-zh-de": arm("qalign", ["zh", "de"], tuned)}}
    assert claims.qalign_transfers(doc)["line"] == (
        "Question alignment transfers to languages it never saw: not supported — polyqa f1 on 1 unseen languages: "
        "base 20.00, qalign-zh-de 19.00 (-1.00); polysent accuracy on 2 unseen languages: base 35.00, "
        "qalign-zh-de 37.50 (+2.50)"
    )
    del base["polyqa/fr"]
    assert claims.qalign_transfers(doc)["verdict"] == "yes"
    assert claims.qalign_transfers({"base": base, "arms": {}})["verdict"] == "not measured"


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


def mt(**chrf):
    """``mt(en_es=20)`` -> ``{"polymt/en-es": {"chrf": 20}}``: the shipped general-domain set (issue 20)."""
    return {f"polymt/{k.replace('_', '-')}": {"chrf": v} for k, v in chrf.items()}


def test_translation_claims_read_polymt_when_the_run_measured_it():
    base = {**BASE, **mt(en_es=40.0, es_en=45.0)}
    doc = {
        "base": base,
        "arms": {"coit-es": arm("coit", ["es"], {**tr(en_es=19.0, es_en=29.0), **mt(en_es=42.0, es_en=46.0)})},
    }
    assert claims.coit_raises_translation(doc)["line"] == (
        "CoIT raises translation: yes — chrF++ base→tuned: coit-es polymt en→es 40.00→42.00 (+2.00), "
        "polymt es→en 45.00→46.00 (+1.00)"
    )
    # an arm without polymt falls back to the held-out pairs
    doc["arms"]["coit-es"]["results"] = tr(en_es=19.0, es_en=29.0)
    assert claims.coit_raises_translation(doc)["verdict"] == "not supported"
    arms = {
        "coit-es": arm("coit", ["es"], mt(en_es=42.0)),
        "muit-uniform": arm("muit", ["es"], {**tr(en_es=10.0), **mt(en_es=41.5)}),
        "muit-planned": arm("muit", ["es"], {**tr(en_es=30.0), **mt(en_es=41.0)}, "plan"),
    }
    assert claims.muit_matches_coit({"base": base, "arms": arms})["line"] == (
        "MuIT within 1 chrF++ of per-language CoIT: yes — chrF++ muit-uniform vs CoIT: polymt en→es 41.50 vs 42.00 "
        "(-0.50)"
    )
    assert claims.planned_beats_uniform({"arms": arms})["line"] == (
        "The planned budget beats uniform: not supported — mean chrF++ En→X (polymt) over es: planned 41.00 vs "
        "uniform 41.50 (-0.50)"
    )


def test_qalign_transfer_leaves_translation_out():
    base = {"polysent/fr": {"accuracy": 40.0}, **mt(en_fr=30.0, fr_en=35.0)}
    tuned = {"polysent/fr": {"accuracy": 45.0}, **mt(en_fr=10.0, fr_en=12.0)}
    doc = {"base": base, "arms": {"qalign-zh-de": arm("qalign", ["zh", "de"], tuned)}}
    assert claims.qalign_transfers(doc)["line"] == (
        "Question alignment transfers to languages it never saw: yes — polysent accuracy on 1 unseen languages: "
        "base 40.00, qalign-zh-de 45.00 (+5.00)"
    )
