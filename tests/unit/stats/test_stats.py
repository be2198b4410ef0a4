"""Paired bootstrap, verdicts, Holm and power, on data whose truth is known: exact values."""

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF

from polyalign.stats import decide, power
from polyalign.stats.bootstrap import Effect, corpus_measure, effect_of, mean_measure, paired_bootstrap


def eff(low, high, effect=None, draws=None):
    e = (low + high) / 2 if effect is None else effect
    return Effect(e, low, high, 10, (high - low) / 4, np.asarray(draws if draws is not None else [e]))


def test_a_constant_paired_difference_has_a_zero_width_interval():
    c = paired_bootstrap({"x": (mean_measure([3.0, 4.0, 5.0, 6.0]), mean_measure([1.0, 2.0, 3.0, 4.0]))}, 200, 0)
    e = c.parts["x"]
    assert (e.effect, e.low, e.high, e.n, e.se) == (2.0, 2.0, 2.0, 4, 0.0)
    assert c.method()["resamples"] == 200 and c.method()["seed"] == 0


def test_seeded_resamples_repeat_and_parts_pool_by_their_mean():
    rng = np.random.default_rng(3)
    a, b = rng.normal(50, 10, 30), rng.normal(48, 10, 30)
    parts = {"p": (mean_measure(a), mean_measure(b)), "q": (mean_measure(a + 4), mean_measure(b))}
    one, two = paired_bootstrap(parts, 300, 7), paired_bootstrap(parts, 300, 7)
    assert one.parts["p"].low == two.parts["p"].low and one.pooled.high == two.pooled.high
    assert one.parts["q"].effect == pytest.approx(one.parts["p"].effect + 4)
    assert one.pooled.effect == pytest.approx(one.parts["p"].effect + 2)
    assert one.pooled.n == 60
    assert paired_bootstrap(parts, 300, 8).parts["p"].low != one.parts["p"].low


def test_unpaired_inputs_are_refused():
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap({"x": (mean_measure([1.0, 2.0]), mean_measure([1.0]))})
    with pytest.raises(ValueError, match="nothing to compare"):
        paired_bootstrap({})


def test_corpus_measures_score_exactly_as_sacrebleu():
    hyps = ["the cat sat on the mat", "a dog barks loudly", "it rains today in the city"]
    refs = ["the cat sat on a mat", "the dog barks loudly", "it is raining today in the city"]
    chrf = corpus_measure(hyps, refs, "chrf", "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0")
    assert chrf.name == "chrF++"
    assert chrf.total() == pytest.approx(CHRF(word_order=2).corpus_score(hyps, [refs]).score)
    zh = ["我们今天去公园", "天气很好"]
    zref = ["我们今天去了公园", "今天天气很好"]
    bleu = corpus_measure(zh, zref, "bleu", "nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0")
    assert bleu.total() == pytest.approx(BLEU(tokenize="zh").corpus_score(zh, [zref]).score)
    with pytest.raises(ValueError, match="SentencePiece"):
        corpus_measure(zh, zref, "bleu", "tok:flores200")


def test_a_corpus_difference_is_recomputed_on_each_resample():
    refs = [f"word{i} and word{i + 1} go to the market {i}" for i in range(20)]
    good = list(refs)
    bad = [r.replace("market", "house").replace("and", "or") for r in refs]
    c = paired_bootstrap({"x": (corpus_measure(good, refs, "chrf"), corpus_measure(bad, refs, "chrf"))}, 200, 0)
    e = c.parts["x"]
    assert e.effect == pytest.approx(100.0 - CHRF(word_order=2).corpus_score(bad, [refs]).score)
    assert 0 < e.low <= e.effect <= e.high


def test_one_sided_verdicts():
    assert decide.above(eff(0.5, 3.0)) == "supported"
    assert decide.above(eff(-3.0, -0.5)) == "contradicted"
    assert decide.above(eff(-6.5, 6.5, 0.01)) == "inconclusive"  # a tiny effect with a wide interval


def test_equivalence_inside_outside_and_straddling():
    assert decide.equivalent(eff(-0.6, 0.8), 1.0) == "supported"
    assert decide.equivalent(eff(-3.0, -1.2), 1.0) == "contradicted"
    assert decide.equivalent(eff(1.1, 2.0), 1.0) == "contradicted"
    assert decide.equivalent(eff(-1.4, 0.3), 1.0) == "inconclusive"
    assert decide.equivalent(eff(-2.0, 2.0), 1.0) == "inconclusive"


def test_too_few_items_decide_nothing():
    rng = np.random.default_rng(0)
    few = effect_of(3.0, rng.normal(3.0, 0.1, 1000), 9)
    enough = effect_of(3.0, rng.normal(3.0, 0.1, 1000), 10)
    assert (decide.too_few([few, enough]), decide.too_few([enough])) == (9, None)
    assert (decide.above(few), decide.above(enough)) == ("inconclusive", "supported")
    assert (decide.above(effect_of(-3.0, -few.draws, 9)), decide.equivalent(few, 1.0)) == ("inconclusive",) * 2
    assert decide.equivalent(effect_of(-3.0, -enough.draws, 10), 1.0) == "contradicted"
    assert (decide.every_above([enough, few]), decide.every_above([enough, enough])) == ("inconclusive", "supported")
    assert decide.every_equivalent([few, few], 1.0) == "inconclusive"


def test_holm_adjusts_step_down():
    assert decide.holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert decide.holm([0.2, 0.001, 0.6, 0.01]) == [0.4, 0.004, 0.6, 0.03]
    assert decide.holm([]) == []


def test_every_part_under_holm():
    rng = np.random.default_rng(0)
    clear = [effect_of(3.0, rng.normal(3.0, 0.5, 1000), 40) for _ in range(3)]
    assert decide.every_above(clear) == "supported"
    # each of three parts alone is just past its 95% line (one-sided p ≈ 0.016), not after Holm
    weak = [effect_of(2.15, rng.normal(2.15, 1.0, 4000), 40) for _ in range(3)]
    assert all(decide.above(e) == "supported" for e in weak)
    assert decide.every_above(weak) == "inconclusive"
    assert decide.every_above([*clear, effect_of(-3.0, rng.normal(-3.0, 0.5, 1000), 40)]) == "contradicted"
    near = [effect_of(0.0, rng.normal(0.0, 0.2, 1000), 40) for _ in range(2)]
    assert decide.every_equivalent(near, 1.0) == "supported"
    assert decide.every_equivalent([*near, effect_of(3.0, rng.normal(3.0, 0.3, 1000), 40)], 1.0) == "contradicted"
    assert decide.every_equivalent([*near, effect_of(1.0, rng.normal(1.0, 0.3, 1000), 40)], 1.0) == "inconclusive"


def test_combine_parts_decided_alone():
    assert decide.combine(["supported", "supported"]) == "supported"
    assert decide.combine(["supported", "contradicted"]) == "contradicted"
    assert decide.combine(["supported", "not measured"]) == "inconclusive"
    assert decide.combine(["not measured"]) == "not measured"


def test_the_interval_covers_the_true_difference():
    """200 simulated paired data sets (30 items, true difference 1.0): the 95% interval covers ≥ 90%."""
    rng = np.random.default_rng(12345)
    covered = 0
    for k in range(200):
        base = rng.normal(50.0, 10.0, 30)
        tuned = base + 1.0 + rng.normal(0.0, 3.0, 30)
        e = paired_bootstrap({"x": (mean_measure(tuned), mean_measure(base))}, 400, k).parts["x"]
        covered += e.low <= 1.0 <= e.high
    assert covered >= 180, covered


def test_detectable_effects():
    assert power.detectable(10.0, 40) == pytest.approx(4.42968, abs=1e-4)
    assert power.detectable(10.0, 160) == pytest.approx(4.42968 / 2, abs=1e-4)
    assert power.sd_of_differences([3.0, 5.0, 7.0], [1.0, 2.0, 3.0]) == 1.0
    e = Effect(0.3, -1.0, 1.6, 25, 0.5, np.zeros(1))
    assert e.detectable == pytest.approx(2.801585 * 0.5, abs=1e-5)
    assert e.sd_item == 2.5
    assert power.plan_line("CoIT", 40, "items per direction", "chrF++", None, "") == (
        "CoIT: 40 items per direction, detectable ≥ 4.4 chrF++ (80% power, 95% two-sided; per-item σ 10.0 "
        "from stated default)"
    )
    assert power.plan_line("CoIT", 40, "items per direction", "chrF++", 9.26, "runs/old").startswith(
        "CoIT: 40 items per direction, detectable ≥ 4.1 chrF++"
    )
    with pytest.raises(ValueError):
        power.detectable(1.0, 0)


def _parallel_parts(rng, questions=16, languages=9, truth=1.0, ids=True):
    """A parallel set: the same ``questions`` asked in ``languages`` languages. What tuning does to a
    question (its per-question effect, spread 6 around ``truth``) shows in every language; a language
    adds a little of its own (spread 1)."""
    per_question = truth + rng.normal(0.0, 6.0, questions)
    parts = {}
    for lang in range(languages):
        base = rng.normal(50.0, 10.0, questions)
        tuned = base + per_question + rng.normal(0.0, 1.0, questions)
        q = [f"q{i}" for i in range(questions)] if ids else None
        parts[f"l{lang}"] = (mean_measure(tuned, ids=q), mean_measure(base, ids=q))
    return parts


def test_the_same_items_in_several_parts_are_resampled_together():
    """Parts that share item ids (a parallel set scored in several languages) draw the ids once per
    resample: the pooled interval counts distinct items, and repeats with the seed."""
    parts = _parallel_parts(np.random.default_rng(4))
    c = paired_bootstrap(parts, 400, 0)
    assert c.clustered and c.pooled.n == 16 and all(e.n == 16 for e in c.parts.values())
    assert c.method()["pooled"].startswith("mean of the parts' differences; items resampled by id")
    again = paired_bootstrap(parts, 400, 0)
    assert (again.pooled.low, again.pooled.high) == (c.pooled.low, c.pooled.high)
    alone = paired_bootstrap(
        {k: (mean_measure(a.stats[:, 0]), mean_measure(b.stats[:, 0])) for k, (a, b) in parts.items()}, 400, 0
    )
    assert not alone.clustered and alone.pooled.n == 144
    # nine copies of 16 questions are not 144 independent items: the honest interval is much wider
    assert c.pooled.high - c.pooled.low > 2 * (alone.pooled.high - alone.pooled.low)
    assert c.pooled.effect == pytest.approx(alone.pooled.effect)


def test_the_pooled_interval_over_a_parallel_set_covers_the_truth():
    """200 simulated parallel sets (16 questions × 9 languages, true pooled difference 1.0): resampled by
    question the 95% interval covers ≥ 90%; resampled by language apart (each copy an independent item)
    it covers far less, the overconfidence the clustering removes."""
    rng = np.random.default_rng(2024)
    by_id = apart = 0
    for k in range(200):
        parts = _parallel_parts(rng)
        c = paired_bootstrap(parts, 300, k)
        by_id += c.pooled.low <= 1.0 <= c.pooled.high
        flat = {n: (mean_measure(a.stats[:, 0]), mean_measure(b.stats[:, 0])) for n, (a, b) in parts.items()}
        p = paired_bootstrap(flat, 300, k).pooled
        apart += p.low <= 1.0 <= p.high
    assert by_id >= 180, by_id
    assert apart < 120, apart


def test_a_part_none_of_whose_ids_a_resample_drew_has_no_value_there():
    """Two parts with disjoint ids in one cluster draw: a resample that misses every id of a part leaves it
    out of that resample (not a zero) and the pooled mean with it, so every interval holds real values only."""
    a = {"x": (mean_measure([5.0, 6.0], ids=["a", "b"]), mean_measure([1.0, 1.0], ids=["a", "b"]))}
    a["y"] = (mean_measure([2.0] * 3, ids=["a", "c", "d"]), mean_measure([1.0] * 3, ids=["a", "c", "d"]))
    c = paired_bootstrap(a, 500, 1)
    assert c.clustered and c.pooled.n == 4
    assert 4.0 <= c.parts["x"].low <= c.parts["x"].high <= 5.0  # never 0: an empty resample is not a value
    assert c.parts["y"].low == c.parts["y"].high == 1.0
    assert np.isfinite(c.pooled.draws).all() and 2.5 <= c.pooled.low <= c.pooled.high <= 3.0
    assert len(c.pooled.draws) < 500  # the resamples without "b" and without "a" left out
