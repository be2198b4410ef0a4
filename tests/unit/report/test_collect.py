"""collect keeps what the claims need: intervals, standard errors and the per-item samples."""

import json
import subprocess
import sys

import pytest

from polyalign.io import InputError
from polyalign.report.collect import collect, pick_metrics
from report_fixtures import ITEMS, write_finished_run


def test_intervals_and_standard_errors_are_kept():
    got = pick_metrics(
        {
            "translation/en-es": {
                "chrf": 30.0,
                "chrf_ci": 2.5,
                "bleu": 9.0,
                "bleu_ci": 1.5,
                "fidelity_stderr": 3.0,
                "fidelity": 90.0,
                "chrf_signature": "nc:6|nw:2",
                "n": 40,
            },
            "polysent/es": {"accuracy": 60.0, "accuracy_stderr": 7.1, "n": 50},
        }
    )
    assert got == {
        "translation/en-es": {
            "chrf": 30.0,
            "bleu": 9.0,
            "fidelity": 90.0,
            "chrf_ci": 2.5,
            "bleu_ci": 1.5,
            "fidelity_stderr": 3.0,
            "chrf_signature": "nc:6|nw:2",
            "n": 40,
        },
        "polysent/es": {"accuracy": 60.0, "accuracy_stderr": 7.1, "n": 50},
    }


def test_per_item_rows_are_read_beside_each_results_file(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    doc = collect(run)
    base = doc["items"]["base"]
    assert len(base["translation/en-es"]) == ITEMS and set(base["translation/en-es"][0]) == {"id", "chrf"}
    assert sum(r["chrf"] for r in base["translation/en-es"]) / ITEMS == pytest.approx(25.0)
    assert base["polysent/de"][0] == {"id": 0, "correct": 1.0} and len(base["polysent/de"]) == 50
    assert set(doc["items"]["arms"]) == {"coit-es", "coit-zh", "muit-uniform", "muit-planned", "qalign-zh-de"}
    # a suite folder's samples sit beside its own results.json
    suite = run / "arms" / "coit-es" / "eval" / "suite"
    suite.mkdir()
    (suite / "results.json").write_text(json.dumps({"results": {"mlqa/en-zh": {"f1": 40.0, "f1_stderr": 4.0}}}))
    (suite / "samples_mlqa_en-zh.jsonl").write_text(
        json.dumps({"id": "q1", "question": "?", "output": "x", "reference": ["x"], "f1": 1.0, "exact_match": 1.0})
        + "\n"
    )
    doc = collect(run)
    assert doc["items"]["arms"]["coit-es"]["mlqa/en-zh"] == [
        {"id": "q1", "output": "x", "reference": ["x"], "f1": 1.0, "exact_match": 1.0}
    ]
    assert doc["arms"]["coit-es"]["results"]["mlqa/en-zh"] == {"f1": 40.0, "f1_stderr": 4.0}


def test_a_broken_samples_file_is_refused_with_its_line(tmp_path):
    run = write_finished_run(tmp_path / "demo", scaling=False, analysis=False)
    bad = run / "eval" / "base" / "samples_translation_en-es.jsonl"
    bad.write_text('{"id": 0, "chrf": 3.0}\n{"id": 1, "chrf"\n')
    with pytest.raises(InputError) as e:
        collect(run)
    assert str(bad) in str(e.value) and ":2" in str(e.value)
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "report", str(run)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {bad}:2: ") and "Traceback" not in proc.stderr
    assert not (run / "report.md").exists()
