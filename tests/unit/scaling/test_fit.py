"""Issue 19's scaling law: honest intervals, AICc only where defined, a robust Huber scale, the shared-γ fit,
leave-one-size-out error, rising, extrapolated plans and sizes > 0 everywhere."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from polyalign.cli import main
from polyalign.io import InputError
from polyalign.scaling import laws
from polyalign.scaling.allocate import plan
from polyalign.scaling.fit import fit_datasets, fit_one, robust_scale
from polyalign.scaling.fits import fit_points, fit_shared

FOUR = [100.0, 200.0, 400.0, 800.0]


def test_noise_free_xllama_from_four_sizes_recovers_alpha_beta_exactly():
    y = laws.predict("xllama", {"alpha": 80.0, "beta": -0.3}, FOUR)
    f = fit_one("xllama", FOUR, y, bootstrap=0)
    assert f.params["alpha"] == pytest.approx(80.0, rel=1e-6) and f.params["beta"] == pytest.approx(-0.3, rel=1e-6)
    assert f.r2 == pytest.approx(1.0) and f.loo_rmse == pytest.approx(0.0, abs=1e-6) and f.rising
    assert (f.k, f.n_sizes) == (2, 4)


def test_shared_fit_recovers_common_alpha_beta_and_each_gamma():
    sizes = [100.0, 200.0, 400.0, 800.0, 1600.0]
    gam = {"es": 0.9, "fr": 0.6, "zh": 0.2}
    pts = {
        lang: laws.Points(sizes, list(laws.predict("xllama", {"alpha": 80.0, "beta": -0.3}, sizes, g)))
        for lang, g in gam.items()
    }
    pts["es"].similarity = 0.9  # es's γ given; fr's and zh's fitted
    doc = fit_shared(pts, bootstrap=0)
    assert doc["shared"]["alpha"] == pytest.approx(80.0, rel=1e-6)
    assert doc["shared"]["beta"] == pytest.approx(-0.3, rel=1e-6)
    for lang, g in gam.items():
        f = doc["fits"][lang]
        assert f["gamma"] == pytest.approx(g, rel=1e-6) and f["params"] == doc["fits"]["es"]["params"]
        assert f["gamma_source"] == ("given" if lang == "es" else "fitted") and f["r2"] == pytest.approx(1.0)
    # No similarity anywhere: the first language is the reference (γ = 1), the others relative to it.
    pts["es"].similarity = None
    ref = fit_shared(pts, bootstrap=0)
    assert ref["fits"]["es"]["gamma"] == 1.0 and ref["fits"]["es"]["gamma_source"].startswith("reference")
    assert ref["fits"]["zh"]["gamma"] == pytest.approx(0.2 / 0.9, rel=1e-6)
    assert ref["shared"]["alpha"] == pytest.approx(80.0 * 0.9**-0.3, rel=1e-6)  # es's level, now at γ = 1


@pytest.mark.slow
def test_intervals_from_four_sizes_cover_the_true_exponent_in_at_least_85_percent_of_200_simulations():
    rng = np.random.default_rng(0)
    ys = laws.predict("xllama", {"alpha": 80.0, "beta": -0.3}, FOUR) + rng.normal(0, 0.5, (200, 4))
    out = fit_datasets("xllama", FOUR, ys, bootstrap=50, seeds=range(200))
    covered = sum(ci["beta"][0] <= -0.3 <= ci["beta"][1] for _, ci in out)
    assert covered >= 170, covered  # 184 of 200 when written
    # the same intervals fit_one gives one dataset: one code path
    one = fit_one("xllama", FOUR, ys[7], bootstrap=50, seed=7)
    assert one.ci["beta"] == pytest.approx(out[7][1]["beta"], rel=1e-9)


def test_two_sizes_fit_but_refuse_intervals_with_one_line(tmp_path, capsys):
    f = fit_one("log", [100.0, 200.0], [30.0, 33.0], bootstrap=100)
    assert f.params["b"] == pytest.approx(3.0 / math.log(2.0)) and f.ci is None and f.draws == []
    assert f.ci_refused == "no intervals: 2 distinct sizes, intervals need at least k + 2 = 4 (2 parameters)"
    assert f.loo_rmse is None  # n_sizes < k + 1
    path = tmp_path / "points.csv"
    path.write_text("lang,size,score\nes,100,30\nes,200,33\n")
    out = tmp_path / "fits.json"
    assert main(["scaling", "fit", str(path), "--form", "log", "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["[polyalign] es: no intervals: 2 distinct sizes, intervals need at least k + 2 = 4 (2 parameters)"]
    es = json.loads(out.read_text())["fits"]["es"]
    assert es["ci"] is None and es["ci_refused"].startswith("no intervals: 2 distinct sizes")
    assert main(["scaling", "predict", str(out), "--size", "300", "--ci"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {out}: the fit of es has no bootstrap draws: no intervals: 2 distinct sizes, "
        "intervals need at least k + 2 = 4 (2 parameters)"
    )


def test_auto_with_too_few_points_for_aicc_says_which_form_it_took_and_why(tmp_path, capsys):
    path = tmp_path / "points.csv"
    path.write_text("lang,size,score\nes,100,30\nes,200,33\nes,400,36\nes,800,38\n")
    out = tmp_path / "fits.json"
    assert main(["scaling", "fit", str(path), "--bootstrap", "0", "--out", str(out)]) == 0
    why = (
        "xllama: AICc is undefined for every form with n = 4 points (xllama (k = 2, needs n ≥ 5), "
        "power (k = 3, needs n ≥ 6), log (k = 2, needs n ≥ 5)); took the fewest parameters, the paper's form first"
    )
    assert f"[polyalign] es: auto took {why}" in capsys.readouterr().err
    es = json.loads(out.read_text())["fits"]["es"]
    assert es["form"] == "xllama" and es["form_choice"] == why


def test_auto_compares_only_the_forms_aicc_is_defined_for():
    x = [100.0, 200.0, 400.0, 800.0, 1600.0]  # n = 5: AICc for the 2-parameter forms, not for power
    y = list(laws.predict("log", {"a": 5.0, "b": 4.0}, x) + np.array([0.1, -0.1, 0.05, 0.0, -0.05]))
    f = fit_points({"es": laws.Points(x, y)}, "auto", bootstrap=0)["fits"]["es"]
    assert f["form"] == "log" and f["aicc_by_form"]["power"] is None
    assert f["form_choice"].startswith("log: lowest AICc (xllama ")
    assert f["form_choice"].endswith("; not compared, AICc undefined with n = 5 points: power (k = 3, needs n ≥ 6)")


def test_huber_scale_is_the_mad_and_one_outlier_leaves_it_unchanged():
    clean = [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert robust_scale(clean)[0] == pytest.approx(1.4826)
    assert robust_scale([-2.0, -1.0, 0.0, 1.0, 1000.0])[0] == pytest.approx(1.4826)
    assert robust_scale([-2.0, -1.0, 0.0, 1.0, 1000.0], [1, 1, 1, 1, 0])[0] == pytest.approx(1.4826 * 1.0)
    # the fit: one 15-point outlier among 8 noisy points moves the log slope far less than least squares does
    x = np.geomspace(50, 6400, 8)
    y = laws.predict("log", {"a": 5.0, "b": 4.0}, x) + np.random.default_rng(0).normal(0, 0.1, 8)
    y[3] += 15.0
    b = fit_one("log", x, y, bootstrap=0).params["b"]
    assert abs(b - 4.0) < 0.1 < abs(np.polyfit(np.log(x), y, 1)[0] - 4.0)


def test_loo_rmse_is_the_leave_one_size_out_error_and_rising_is_false_for_a_fall():
    x = [1.0, math.e, math.e**2]  # ln x = 0, 1, 2; each two-point refit is the line through the others
    f = fit_one("log", x, [0.0, 1.0, 0.0], bootstrap=0)
    assert f.loo_rmse == pytest.approx(math.sqrt(3.0))  # errors -2, 1, -2
    fall = fit_one("log", [100.0, 200.0, 400.0, 800.0], [50.0, 47.0, 44.5, 42.0], bootstrap=0)
    assert fall.params["b"] < 0 and fall.r2 > 0.99 and fall.rising is False


def test_fits_json_per_language_contract(tmp_path):
    x = [100.0, 200.0, 400.0, 800.0, 1600.0]
    y = list(laws.predict("xllama", {"alpha": 80.0, "beta": -0.3}, x) + np.array([0.2, -0.1, 0.1, -0.2, 0.05]))
    f = fit_points({"es": laws.Points(x, y)}, "xllama", bootstrap=50)["fits"]["es"]
    assert {"r2", "form", "k", "n_sizes", "loo_rmse", "rising", "ci", "ci_refused", "params", "gamma"} <= set(f)
    assert (f["form"], f["k"], f["n_sizes"], f["rising"], f["ci_refused"]) == ("xllama", 2, 5, True, None)
    assert f["ci"]["beta"][0] < f["params"]["beta"] < f["ci"]["beta"][1] and f["loo_rmse"] > 0


def test_gamma_changes_the_plan_under_the_shared_fit_only():
    sizes = [100.0, 200.0, 400.0, 800.0]
    law = {"alpha": 80.0, "beta": -0.3}
    pts = {lang: laws.Points(sizes, list(laws.predict("xllama", law, sizes, g))) for lang, g in (("es", 0.9),)}
    near, far = (fit_shared(pts, {"es": 0.9, "de": g}, bootstrap=0)["fits"] for g in (0.9, 0.1))
    assert near["de"]["sizes"] == [] and near["de"]["r2"] is None
    p_near, p_far = plan(near, 1000), plan(far, 1000)
    assert p_near["allocation"] == {"es": 500, "de": 500}  # the same curve: an even split
    assert p_far["allocation"]["de"] > p_near["allocation"]["de"]  # a distant language needs more pairs
    assert p_far["extrapolated"]["de"] is True and p_far["extrapolated_note"]["de"] == (
        "extrapolated: no measured points (planned from its similarity alone)"
    )
    # per language, γ is absorbed into α: (1, 1) and (0.9, 0.1) give the same plan
    two = {
        "es": laws.Points(sizes, pts["es"].scores),
        "fr": laws.Points(sizes, list(laws.predict("log", {"a": 5.0, "b": 4.0}, sizes))),
    }
    a, b = (
        plan(fit_points(two, "xllama", 0, similarity=s)["fits"], 1000)
        for s in ({"es": 1.0, "fr": 1.0}, {"es": 0.9, "fr": 0.1})
    )
    assert a["allocation"] == b["allocation"]


def test_a_plan_beyond_the_measured_sizes_is_marked_extrapolated():
    fits = {
        lang: {"form": "xllama", "params": {"alpha": 80.0, "beta": -0.3}, "gamma": 1.0, "sizes": FOUR}
        for lang in ("es", "fr")
    }
    inside, beyond = plan(fits, 1000), plan(fits, 4000)
    assert inside["extrapolated"] == {"es": False, "fr": False} and inside["measured_range"]["es"] == [100.0, 800.0]
    assert beyond["extrapolated"] == {"es": True, "fr": True}
    assert beyond["extrapolated_note"]["es"] == "extrapolated: 2000 pairs, above the measured 100–800"
    assert beyond["replaced_by"] is None and beyond["method"].startswith("exact")
    hand = plan({"es": {"form": "log", "params": {"a": 5.0, "b": 4.0}}}, 10)
    assert hand["extrapolated"] == {"es": None}


def test_a_plan_replaced_by_a_baseline_says_so(monkeypatch):
    from polyalign.scaling import allocate

    # concave but falling (not concave increasing): the discrete search runs, and is made to lose to uniform
    fits = {lang: {"form": "xllama", "params": {"alpha": 0.001, "beta": 2.0}} for lang in ("es", "fr")}
    monkeypatch.setattr(allocate, "discrete_optimum", lambda curves, budget: ({"es": budget - 1, "fr": 1}, 1))
    out = plan(fits, 100)
    assert out["replaced_by"] == "uniform" and out["allocation"] == {"es": 50, "fr": 50}
    assert out["method"].startswith("the uniform baseline: the search (discrete search")


@pytest.mark.parametrize(
    "call",
    [
        lambda: fit_one("log", [100.0, 0.0, 400.0], [1.0, 2.0, 3.0]),
        lambda: laws.predict("log", {"a": 1.0, "b": 1.0}, [100.0, -5.0]),
        lambda: fit_points({"es": laws.Points([100.0, -1.0, 400.0], [1.0, 2.0, 3.0])}, "log", 0),
        lambda: fit_datasets("log", [0.0, 1.0, 2.0, 3.0], [[1.0, 2.0, 3.0, 4.0]]),
    ],
)
def test_sizes_at_or_below_zero_are_refused_by_every_fit_and_predict(call):
    with pytest.raises(InputError, match=r"must be > 0 \(the laws are defined for X > 0\), got (0|-5|-1)$"):
        call()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["predict", "{fits}", "--size", "0"], "argument --size: must be a number above 0, got '0'"),
        (["allocate", "{fits}", "--budget", "0"], "argument --budget: must be at least 1, got 0"),
        (["fit", "{points}", "--similarity", "es=0"], "argument --similarity: 'es=0': VALUE must be above 0"),
        (
            ["fit", "{points}", "--shared", "--similarity", "de=-1"],
            "argument --similarity: 'de=-1': VALUE must be above 0",
        ),
    ],
)
def test_sizes_at_or_below_zero_are_one_line_on_the_command_line(tmp_path, capsys, argv, expected):
    """Checked where the command line is parsed (issue 17): one line, exit 2."""
    (tmp_path / "points.csv").write_text("lang,size,score\nes,100,30\nes,200,33\n")
    fits = tmp_path / "fits.json"
    fits.write_text(json.dumps({"fits": {"es": {"form": "log", "params": {"a": 5.0, "b": 4.0}}}}))
    with pytest.raises(SystemExit) as stop:
        main(["scaling", *[a.format(fits=fits, points=tmp_path / "points.csv") for a in argv]])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: <command line>: {expected}"), err
