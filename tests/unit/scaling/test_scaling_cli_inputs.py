"""``polyalign scaling`` on the inputs a user gives it: every numeric flag checked where it is parsed,
``--out`` never replacing a file polyalign did not write, a falling or bound-pinned fit not called
rising (and said), scores outside 0–100 refused, predictions outside the measured sizes marked."""

from __future__ import annotations

import json

import pytest

from polyalign.cli import main
from polyalign.cli import scaling as cli_scaling
from polyalign.io import InputError
from polyalign.scaling import allocate
from polyalign.scaling.fit import data_rise, fit_one, is_rising
from polyalign.scaling.fits import fit_points
from polyalign.scaling.laws import Points, extrapolation

POINTS = "lang,size,score\nes,50,28.06\nes,100,26.53\nes,200,31.13\nes,400,35.79\nfr,50,26.20\nfr,100,24.56\nfr,200,28.22\nfr,400,29.74\n"  # noqa: E501  the README's measured pilot
FALLING = "lang,size,score\nes,50,30\nes,100,25\nes,200,20\nes,400,15\n"


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse ends a bad flag with SystemExit(2)
        return int(e.code or 0)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "points.csv").write_text(POINTS)
    (tmp_path / "falling.csv").write_text(FALLING)
    assert main(["scaling", "fit", "points.csv", "--bootstrap", "50", "--out", "fits.json"]) == 0
    return tmp_path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("[polyalign]")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# --- 1. every numeric flag of every scaling subcommand: one line, exit 2, before any work -------------

FLAGS = [
    (["fit", "points.csv", "--seed", "-1"], "<command line>: argument --seed: must be at least 0, got -1"),
    (["fit", "points.csv", "--seed", "x"], "<command line>: argument --seed: expected a whole number, got 'x'"),
    (["fit", "points.csv", "--bootstrap", "-1"], "<command line>: argument --bootstrap: must be at least 0, got -1"),
    (["fit", "points.csv", "--similarity", "es=inf"], "<command line>: argument --similarity: 'es=inf'"),
    (["predict", "fits.json", "--size", "nan"], "<command line>: argument --size: must be a number above 0"),
    (["predict", "fits.json", "--size", "1e999"], "<command line>: argument --size: must be a number above 0"),
    (
        ["allocate", "fits.json", "--budget", "100000000000000000000000"],
        "<command line>: argument --budget: '100000000000000000000000': must be at most 1e+15",
    ),
    (
        ["allocate", "fits.json", "--budget", "800", "--min-per-lang", "0"],
        "<command line>: argument --min-per-lang: must be at least 1",
    ),
    (
        ["allocate", "fits.json", "--budget", "800", "--weight", "es=1e308"],
        "<command line>: argument --weight: 'es=1e308': must be at most 1e+06 (weights are relative)",
    ),
    (
        ["allocate", "fits.json", "--budget", "800", "--weight", "es=0", "--weight", "fr=0"],
        "<command line>: every language's --weight is 0: there is nothing to maximise",
    ),
    (
        ["allocate", "fits.json", "--budget", "800", "--available", "es=0"],
        "<command line>: es has 0 pairs available, below --min-per-lang 1",
    ),
    (
        ["allocate", "fits.json", "--budget", "800", "--available", "es=-1"],
        "<command line>: argument --available: 'es=-1'",
    ),
]


@pytest.mark.parametrize(("argv", "said"), FLAGS, ids=[" ".join(a) for a, _ in FLAGS])
def test_a_bad_number_is_one_line_exit_2_and_no_output(ws, capsys, argv, said):
    before = (ws / "fits.json").read_bytes()
    out = [] if argv[0] == "predict" else ["--out", "o.json"]
    capsys.readouterr()
    assert _code(["scaling", *argv, *out]) == 2
    assert _one_error_line(capsys).startswith(f"error: {said}")
    assert not (ws / "o.json").exists() and (ws / "fits.json").read_bytes() == before


def test_the_cli_bounds_are_the_planners():
    assert (cli_scaling.MAX_BUDGET, cli_scaling.MAX_WEIGHT) == (allocate.MAX_BUDGET, allocate.MAX_WEIGHT)
    with pytest.raises(InputError, match="budget must be at most 1e\\+15 pairs"):
        allocate.plan({"es": {"form": "log", "params": {"a": 1.0, "b": 1.0}}}, 10**16)


def test_a_negative_seed_is_refused_by_the_fit_itself():
    """The pilot passes its recipe's seed straight to the fit: one line there too, not numpy's traceback."""
    with pytest.raises(InputError, match="p.csv: the bootstrap seed must be at least 0, got -1"):
        fit_points({"es": Points([50, 100, 200, 400], [20, 25, 28, 30])}, "xllama", 10, -1, source="p.csv")


# --- 2. --out replaces only what polyalign wrote --------------------------------------------------


@pytest.mark.parametrize("command", ["fit", "allocate"])
@pytest.mark.parametrize("content", ['{"mine": 1}\n', "", "not json\n", '{"fits": {"es": 1}}\n', "[1, 2]\n"])
def test_out_refuses_a_file_polyalign_did_not_write(ws, capsys, command, content):
    mine = ws / "mine.json"
    mine.write_text(content)
    argv = ["fit", "points.csv"] if command == "fit" else ["allocate", "fits.json", "--budget", "800"]
    capsys.readouterr()
    assert _code(["scaling", *argv, "--out", "mine.json"]) == 2
    assert _one_error_line(capsys) == (
        f"error: mine.json: exists and was not written by polyalign scaling {command}: "
        "choose another --out (nothing was changed)"
    )
    assert mine.read_text() == content


def test_out_replaces_polyaligns_own_earlier_fits_and_plan(ws, capsys):
    old_fits = json.loads((ws / "fits.json").read_text())
    old_fits["settings"]["seed"] = 99  # an earlier run's file, told by its shape, not its bytes
    (ws / "again.json").write_text(json.dumps(old_fits))
    assert main(["scaling", "fit", "points.csv", "--bootstrap", "0", "--out", "again.json"]) == 0
    assert json.loads((ws / "again.json").read_text())["settings"]["seed"] == 0
    assert main(["scaling", "allocate", "fits.json", "--budget", "800", "--out", "plan.json"]) == 0
    assert main(["scaling", "allocate", "fits.json", "--budget", "900", "--out", "plan.json"]) == 0
    assert json.loads((ws / "plan.json").read_text())["budget"] == 900
    capsys.readouterr()
    # a plan is not a fits file, nor fits a plan: each command replaces only its own kind
    assert _code(["scaling", "fit", "points.csv", "--out", "plan.json"]) == 2
    assert "not written by polyalign scaling fit" in _one_error_line(capsys)
    assert _code(["scaling", "allocate", "fits.json", "--budget", "800", "--out", "again.json"]) == 2
    assert "not written by polyalign scaling allocate" in _one_error_line(capsys)


# --- 3. direction of the curve, warnings, score range ---------------------------------------------


def test_falling_data_are_not_called_rising_and_the_fit_says_so(ws, capsys):
    capsys.readouterr()
    assert main(["scaling", "fit", "falling.csv", "--bootstrap", "0", "--out", "f.json"]) == 0
    out, err = capsys.readouterr()
    es = json.loads((ws / "f.json").read_text())["fits"]["es"]
    assert (es["form"], es["at_bound"], es["rising"]) == ("xllama", True, False)
    assert json.loads(out)["fits"]["es"]["rising"] is False
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        "[polyalign] warning: es: the xllama fit's beta = -0.001 sits on its bound (the data cannot pin it); "
        "the xllama curve does not rise over the measured 50–400 pairs: check the points"
    ]


def test_the_readme_pilot_points_still_rise_without_a_warning(ws, capsys):
    capsys.readouterr()
    assert main(["scaling", "fit", "points.csv", "--bootstrap", "0"]) == 0
    out, err = capsys.readouterr()
    fits = json.loads(out)["fits"]
    assert {k: (f["rising"], f["at_bound"]) for k, f in fits.items()} == {"es": (True, False), "fr": (True, False)}
    assert "warning" not in err


def test_rising_rule_a_curve_on_its_bound_needs_the_data_to_rise_too():
    assert is_rising(20.0, 21.0) and not is_rising(20.0, 20.005)
    assert not is_rising(20.0, 21.0, at_bound=True, trend=-15.0)  # pinned flat-ish on falling data
    assert not is_rising(20.0, 21.0, at_bound=True)  # no trend given: not called rising
    assert is_rising(20.0, 21.0, at_bound=True, trend=3.0)  # a steep bound on data that do rise
    assert data_rise([50, 100, 200, 400], [30, 25, 20, 15]) == pytest.approx(-15.0)
    assert data_rise([50, 50], [1, 2]) == 0.0
    # an xllama fit pinned at its steepest bound on data that jump then plateau is still rising
    steep = fit_one("xllama", [10, 20, 40, 80, 160], [99.0, 99.9, 99.99, 99.99, 99.99], bootstrap=0)
    assert steep.at_bound and steep.rising


def test_a_falling_language_of_the_shared_fit_is_not_rising_and_is_said(capsys):
    rise = [100 - 80 * s**-0.3 for s in (100, 200, 400, 800)]
    doc = fit_points(
        {"es": Points([100, 200, 400, 800], rise), "fr": Points([100, 200, 400, 800], [40, 35, 30, 25])},
        bootstrap=0,
        shared=True,
    )
    assert doc["fits"]["es"]["rising"] is True and doc["fits"]["fr"]["rising"] is False
    assert any(
        n.startswith("warning: fr: the xllama curve does not rise over the measured 100–800") for n in doc["notes"]
    )


@pytest.mark.parametrize(
    ("score", "ok"), [("130", False), ("-0.5", False), ("100.01", False), ("100", True), ("0", True)]
)
def test_scores_outside_0_to_100_are_refused_at_their_line(tmp_path, capsys, score, ok):
    path = tmp_path / "p.csv"
    path.write_text(f"lang,size,score\nes,50,20\nes,100,25\nes,200,{score}\n")
    capsys.readouterr()
    assert _code(["scaling", "fit", str(path), "--bootstrap", "0"]) == (0 if ok else 2)
    if not ok:
        assert _one_error_line(capsys) == (
            f"error: {path}:4: score must be within 0–100 (chrF++, BLEU, accuracy in percent), got {score}"
        )


# --- 4. predictions outside the measured sizes are marked ------------------------------------------


def test_predict_outside_the_measured_sizes_is_marked_in_the_json_and_one_stderr_line(ws, capsys):
    capsys.readouterr()
    assert main(["scaling", "predict", "fits.json", "--size", "1e9"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["extrapolated"] == {"es": True, "fr": True}
    assert doc["extrapolated_note"]["es"] == "extrapolated: 1000000000 pairs, above the measured 50–400"
    assert doc["measured_range"] == {"es": [50.0, 400.0], "fr": [50.0, 400.0]}
    assert err.splitlines() == [
        "[polyalign] warning: fits.json: extrapolated: es 1000000000 pairs, above the measured 50–400; "
        "fr 1000000000 pairs, above the measured 50–400"
    ]
    assert main(["scaling", "predict", "fits.json", "--size", "100", "--size", "400"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["extrapolated"] == {"es": False, "fr": False} and err == ""


def test_extrapolation_of_several_sizes_and_of_fits_without_sizes():
    assert extrapolation({"sizes": [50, 400]}, [10, 100, 1000]) == (
        True,
        "extrapolated: 10 pairs, below the measured 50–400; 1000 pairs, above the measured 50–400",
        [50, 400],
    )
    assert extrapolation({}, [10]) == (None, "measured range unknown (the fit has no sizes)", None)
    assert extrapolation({"sizes": []}, [10])[0] is True


def test_a_prediction_with_no_finite_score_is_one_line(tmp_path, capsys):
    fits = tmp_path / "fits.json"
    fits.write_text(json.dumps({"fits": {"es": {"form": "power", "params": {"a": 10.0, "b": 3.0, "c": 50.0}}}}))
    assert _code(["scaling", "predict", str(fits), "--size", "1e-300"]) == 2
    assert _one_error_line(capsys) == f"error: {fits}: --size 1e-300: the power fit of es gives no finite score there"
