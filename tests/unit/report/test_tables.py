"""Report tables: the majority-label baseline beside accuracy, constant predictors marked."""

from polyalign.report import tables
from polyalign.report.collect import pick_metrics

CONSTANT = {
    "accuracy": 60.0,
    "majority_baseline": 60.0,
    "majority_label": "positive",
    "constant_prediction": "positive",
    "n": 5,
}
MOVING = {"accuracy": 80.0, "majority_baseline": 60.0, "majority_label": "positive", "n": 5}


def doc():
    return {
        "base": {"polysent/es": CONSTANT, "polysent/sw": MOVING},
        "arms": {
            "qalign-zh-de": {"languages": ["zh", "de"], "results": {"polysent/es": MOVING, "polysent/sw": MOVING}}
        },
    }


def test_collect_keeps_the_baseline_and_the_constant_label():
    raw = {**CONSTANT, "accuracy_stderr": 24.5, "signature": "acc|..."}
    assert pick_metrics({"polysent/es": raw})["polysent/es"] == {
        "accuracy": 60.0,
        "accuracy_stderr": 24.5,  # intervals are kept (issue 19)
        "majority_baseline": 60.0,
        "majority_label": "positive",
        "constant_prediction": "positive",
        "n": 5,
    }
    assert (
        "constant_prediction"
        not in pick_metrics({"polysent/sw": {**MOVING, "constant_prediction": None}})["polysent/sw"]
    )


def test_results_table_shows_the_baseline_under_accuracy_and_marks_constant_cells():
    t = tables.results_table(doc(), "polysent")
    assert t["header"] == ["language", "metric", "base", "qalign-zh-de"]
    assert t["rows"] == [
        ["es", "accuracy %", "60.00 [constant: positive]", "80.00 (+20.00)"],
        ["es", "majority baseline %", "60.00", "60.00"],
        ["sw", "accuracy %", "80.00", "80.00 (+0.00)"],
        ["sw", "majority baseline %", "60.00", "60.00"],
    ]


def test_transfer_matrix_flags_cells_where_either_side_is_constant():
    tm = tables.transfer_matrix(doc())
    assert (tm["cols"], tm["values"], tm["constant"]) == (["es", "sw"], [[20.0, 0.0]], [[True, False]])


def test_only_deltas_are_counted_as_shown_without_an_interval():
    # no per-item rows here: the two accuracy deltas have no interval; the majority-label baseline rows
    # carry no delta at all and are not counted
    t = tables.results_table(doc(), "polysent", {})
    assert t["unpaired"] == 2
    assert [r[1] for r in t["rows"]] == ["accuracy %", "majority baseline %", "accuracy %", "majority baseline %"]
