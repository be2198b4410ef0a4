"""Similarity measures against values worked out by hand on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyalign.analysis import similarity as sim


def test_derangement_has_no_fixed_point_and_is_seeded():
    for n in (2, 3, 10, 101):
        p = sim.derangement(n, seed=7)
        assert sorted(p.tolist()) == list(range(n))
        assert (p != np.arange(n)).all()
    assert sim.derangement(2, 0).tolist() == [1, 0]
    assert sim.derangement(50, 3).tolist() == sim.derangement(50, 3).tolist()
    assert sim.derangement(50, 3).tolist() != sim.derangement(50, 4).tolist()


def test_cosine_raw_and_centred():
    # x0=(1,0) x1=(0,1); y0=(2,0) y1=(1,1). Parallel: 1 and 1/√2; mismatched: 1/√2 and 0.
    # Centred: both become ±(.5,-.5): parallel +1, mismatched -1.
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[2.0, 0.0], [1.0, 1.0]])
    got = sim.cosine_stats(x, y, seed=0)
    assert got["cosine_parallel"] == pytest.approx((1 + 1 / math.sqrt(2)) / 2, abs=1e-6)
    assert got["cosine_random"] == pytest.approx((1 / math.sqrt(2)) / 2, abs=1e-6)
    assert got["cosine_parallel_centred"] == pytest.approx(1.0, abs=1e-6)
    assert got["cosine_random_centred"] == pytest.approx(-1.0, abs=1e-6)


def test_retrieval_shares_credit_between_ties():
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # q0: keys 0 and 1 tie at 1 -> 1/2; q1: key 2 beats key 1 -> 0; q2: all three tie -> 1/3.
    assert sim.retrieval_top1(q, k) == pytest.approx((0.5 + 0 + 1 / 3) / 3, abs=1e-9)
    assert sim.retrieval_top1(k, k) == pytest.approx((0.5 + 0.5 + 1) / 3, abs=1e-9)
    assert sim.retrieval_top1(q, q * 5) == 1.0


def test_retrieval_in_blocks_matches_one_block(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
    y[:20] = x[:20] + 0.1 * y[:20]
    whole = (sim.retrieval_top1(x, y), *sim.margin_retrieval(x, y, 3))
    monkeypatch.setattr(sim, "BLOCK", 7)
    assert (sim.retrieval_top1(x, y), *sim.margin_retrieval(x, y, 3)) == pytest.approx(whole, abs=1e-12)


def test_margin_retrieval_breaks_a_hub_tie():
    # x0 at 0°, x1 at 90°; y0 at 10°, y1 at 45°. Plain y1 -> x: x0 and x1 tie at cos 45° (credit 1/2).
    # k=1: knn(x0)=cos10 knn(x1)=cos45 knn(y0)=cos10 knn(y1)=cos45, so
    # margin(y1,x1) = cos45/cos45 = 1 > margin(y1,x0) = cos45/((cos10+cos45)/2) = 0.836: right.
    a = math.radians(10)
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[math.cos(a), math.sin(a)], [1.0, 1.0]])
    assert sim.retrieval_top1(x, y) == 1.0
    assert sim.retrieval_top1(y, x) == 0.75
    assert sim.margin_retrieval(x, y, k=1) == (1.0, 1.0)
    # k past n is clipped to n: every knn mean is then the row mean of the cosines.
    assert sim.margin_retrieval(x, y, k=10) == sim.margin_retrieval(x, y, k=2)


def test_margin_retrieval_with_an_exact_tie():
    x = np.array([[1.0, 0.0], [1.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert sim.margin_retrieval(x, y, k=1) == (0.5, 0.5)


def test_retrieval_scores_agree_with_the_one_way_function():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(30, 6))
    y[:10] = x[:10] + 0.2 * y[:10]
    y[20] = y[21]  # a tie
    got = sim.retrieval_scores(x, y, k=3)
    assert got["retrieval_x2en"] == pytest.approx(sim.retrieval_top1(x, y), abs=1e-12)
    assert got["retrieval_en2x"] == pytest.approx(sim.retrieval_top1(y, x), abs=1e-12)
    # margin by brute force on the full matrix
    c = sim.unit_rows(x) @ sim.unit_rows(y).T
    kx, ky = np.sort(c, axis=1)[:, -3:].mean(1), np.sort(c, axis=0)[-3:].mean(0)
    marg = c / ((kx[:, None] + ky[None, :]) / 2)
    assert got["margin_retrieval_x2en"] == pytest.approx(np.mean(marg.argmax(1) == np.arange(30)), abs=1e-9)
    assert got["margin_retrieval_en2x"] == pytest.approx(np.mean(marg.argmax(0) == np.arange(30)), abs=1e-9)


def test_linear_cka_hand_values():
    # 1-D: CKA is the squared correlation; centred x=(-1,0,1), y=(-1,1,0): r = 1/2.
    assert sim.linear_cka(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [3.0], [2.0]])) == pytest.approx(0.25)
    # Centred already: XᵀX=[[2,1],[1,2]] (‖‖=√10), YᵀY=[[2,0],[0,0]] (‖‖=2), YᵀX=[[2,1],[0,0]] (‖‖²=5).
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    y = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]])
    assert sim.linear_cka(x, y) == pytest.approx(5 / (2 * math.sqrt(10)))
    assert sim.linear_cka(x, x) == pytest.approx(1.0)


def test_linear_cka_invariances():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 9))
    y[:, :6] += x
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    base = sim.linear_cka(x, y)
    assert 0.2 < base < 0.99
    assert sim.linear_cka(x @ q, y) == pytest.approx(base, rel=1e-9)
    assert sim.linear_cka(3.7 * x, 0.01 * y) == pytest.approx(base, rel=1e-9)
    assert sim.linear_cka(x + 5.0, y - 2.0) == pytest.approx(base, rel=1e-9)
    # not invariant to an anisotropic scaling
    assert sim.linear_cka(x * np.array([10.0, 1, 1, 1, 1, 1]), y) != pytest.approx(base, rel=1e-3)


def test_pca_2d_and_pc1_correlations():
    x = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    proj, comps, ratios = sim.pca_2d(x)
    assert comps.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert ratios == pytest.approx([0.8, 0.2])
    assert proj[:, 0].tolist() == [2.0, -2.0, 0.0, 0.0]
    got = sim.pc1_correlations(
        {"en": np.array([1.0, 2.0, 3.0]), "es": np.array([2.0, 4.0, 6.0]), "zh": np.array([3.0, 2.0, 1.0])}
    )
    assert got["matrix"]["en"]["es"] == 1.0 and got["matrix"]["en"]["zh"] == -1.0
    assert got["mean"] == pytest.approx((1 - 1 - 1) / 3)


def test_layer_store_float32_is_exact_and_float16_is_close():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(3, 10, 4)).astype(np.float32) * 1000  # large values: float16 must not overflow
    for dtype, tol in (("float32", 0.0), ("float16", 1e-3)):
        store = sim.LayerStore(3, 10, 4, dtype)
        store.add(np.array([7, 8, 9]), data[:, 7:])
        with pytest.raises(ValueError, match="7 of 10 items never added"):
            store.layer(0)
        store.add(np.arange(7), data[:, :7])
        for i in range(3):
            np.testing.assert_allclose(store.layer(i), data[i], rtol=tol, atol=tol * 1000)
            np.testing.assert_allclose(store.mean(i), data[i].astype(np.float64).mean(axis=0), rtol=1e-6)
    assert sim.LayerStore.nbytes(31, 10_000, 576, "float16") == 31 * 10_000 * (576 * 2 + 4)


def test_alignment_metrics_keys():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 5))
    got = sim.alignment_metrics(x, x + 0.01 * rng.normal(size=(12, 5)))
    assert got["retrieval_x2en"] == got["retrieval_en2x"] == 1.0
    assert got["margin_retrieval_x2en"] == got["margin_retrieval_en2x"] == 1.0
    assert got["cka"] > 0.99 and got["cosine_parallel_centred"] > 0.99 > got["cosine_random_centred"]


def test_pair_cosines_centred_are_per_pair_and_average_to_the_centred_cosine():
    x = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 4.0]])
    y = np.array([[2.0, 0.0], [0.0, 0.0], [1.0, 3.0]])
    got = sim.pair_cosines_centred(x, y)
    # means (2, 2) and (1, 1): centred pairs ((1,-1),(1,-1)), ((-1,-1),(-1,-1)), ((0,2),(0,2))
    np.testing.assert_allclose(got, [1.0, 1.0, 1.0], atol=1e-6)
    y2 = np.array([[1.0, 2.0], [0.0, 0.0], [2.0, 1.0]])  # means (1, 1): ((0,1)), ((-1,-1)), ((1,0))
    got2 = sim.pair_cosines_centred(x, y2)
    np.testing.assert_allclose(got2, [-np.sqrt(0.5), 1.0, 0.0], atol=1e-6)
    assert got2.mean() == pytest.approx(sim.cosine_stats(x, y2)["cosine_parallel_centred"], abs=1e-6)
