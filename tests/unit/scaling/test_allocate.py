"""Budget allocation: equals brute force, never below uniform, sums exactly, keeps the bounds."""

from __future__ import annotations

import itertools
import json

import pytest

from polyalign.cli import main
from polyalign.scaling.allocate import Curve, plan

FITS = {
    "es": {"form": "xllama", "params": {"alpha": 80.0, "beta": -0.3}, "gamma": 0.9},
    "fr": {"form": "power", "params": {"a": 60.0, "b": 0.5, "c": 70.0}},
    "de": {"form": "log", "params": {"a": 5.0, "b": 4.0}},
}


def brute_force(fits, budget, lo, hi, weights):
    curves = {k: Curve(f["form"], f["params"], f.get("gamma", 1.0), weights.get(k, 1.0)) for k, f in fits.items()}
    best = None
    keys = list(fits)
    for head in itertools.product(*(range(lo, min(hi.get(k, budget), budget) + 1) for k in keys[:-1])):
        last = budget - sum(head)
        if last < lo or last > hi.get(keys[-1], budget):
            continue
        x = dict(zip(keys, [*head, last]))
        total = sum(float(curves[k].value(v)) for k, v in x.items())
        if best is None or total > best[0] + 1e-12:
            best = (total, x)
    return best


@pytest.mark.parametrize(
    "budget, lo, hi, weights",
    [
        (30, 1, {}, {}),
        (45, 2, {"es": 10}, {}),
        (60, 3, {"fr": 12, "de": 25}, {"de": 4.0}),
        (12, 4, {}, {"es": 0.5}),
    ],
)
def test_plan_equals_brute_force_and_beats_uniform(budget, lo, hi, weights):
    out = plan(FITS, budget, lo, hi, weights)
    total, _ = brute_force(FITS, budget, lo, hi, weights)
    assert out["total_predicted"] == pytest.approx(total, abs=1e-9)
    assert sum(out["allocation"].values()) == budget
    assert all(lo <= v <= hi.get(k, budget) for k, v in out["allocation"].items())
    assert out["total_predicted"] >= out["uniform"]["total_predicted"] - 1e-12
    assert out["gain_over_uniform"] == pytest.approx(out["total_predicted"] - out["uniform"]["total_predicted"])
    assert sum(out["uniform"]["allocation"].values()) == budget and out["non_concave"] == []


def test_a_non_concave_curve_is_reported_and_searched():
    fits = {**FITS, "de": {"form": "log", "params": {"a": 5.0, "b": -2.0}}}  # falling: convex, not concave increasing
    out = plan(fits, 40, 1)
    assert out["non_concave"] == ["de"] and out["method"].startswith("discrete search")
    assert out["total_predicted"] == pytest.approx(brute_force(fits, 40, 1, {}, {})[0], abs=1e-9)
    assert out["allocation"]["de"] == 1


def test_large_budget_is_exact_to_the_pair():
    out = plan(FITS, 100003, 10, {"es": 20000})
    assert sum(out["allocation"].values()) == 100003 and out["allocation"]["es"] <= 20000
    assert out["proportional"] is None


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--budget", "5", "--min-per-lang", "2"], "<command line>: budget 5 is below the minimum 2 × 3 languages = 6"),
        (
            ["--budget", "100", "--available", "es=10", "--available", "fr=10", "--available", "de=10"],
            "<command line>: budget 100 is above the 30 pairs available in all",
        ),
        (
            ["--budget", "100", "--available", "it=10"],
            "<command line>: --available names it, which the fits do not have (fitted: es, fr, de)",
        ),
        (  # issue 17: checked where the flag is parsed
            ["--budget", "100", "--weight", "es"],
            "<command line>: argument --weight: expected LANG=VALUE, got 'es' (see polyalign scaling allocate --help)",
        ),
    ],
)
def test_bad_allocation_requests(tmp_path, capsys, argv, expected):
    fits = tmp_path / "fits.json"
    fits.write_text(json.dumps({"fits": FITS}))
    out = tmp_path / "plan.json"
    try:
        code = main(["scaling", "allocate", str(fits), *argv, "--out", str(out)])
    except SystemExit as e:
        code = e.code
    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: {expected}"
    assert not out.exists()


def test_allocate_cli_writes_a_plan_data_build_can_read(tmp_path, capsys):
    fits = tmp_path / "fits.json"
    fits.write_text(json.dumps({"fits": FITS}))
    out = tmp_path / "plan.json"
    assert (
        main(
            [
                "scaling",
                "allocate",
                str(fits),
                "--budget",
                "300",
                "--out",
                str(out),
                "--available",
                "es=200",
                "--available",
                "fr=200",
                "--available",
                "de=200",
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc == json.loads(capsys.readouterr().out)
    assert sum(doc["allocation"].values()) == 300 and sum(doc["proportional"]["allocation"].values()) == 300
    from polyalign.data.mixtures import allocate

    assert allocate(["es", "fr", "de"], str(out), None, None) == doc["allocation"]
    with pytest.raises(Exception, match="the plan allocates to de, which data.languages does not name"):
        allocate(["es", "fr"], str(out), None, None)
