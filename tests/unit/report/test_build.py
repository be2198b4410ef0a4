"""The report rebuilt from a run's JSON files alone: every section, figure and table; bad folders refused."""

import json
import re
import subprocess
import sys

import pytest

from polyalign.io import InputError
from polyalign.report.build import build_report
from report_fixtures import write_finished_run


def test_report_from_a_finished_run(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    out = build_report(run)
    for png in (
        "forest.png",
        "transfer.png",
        "losses.png",
        "alignment_cosine.png",
        "alignment_retrieval.png",
        "lens.png",
    ):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    md = (run / "report.md").read_text()
    assert "| polysent |" not in md and "| language | metric | base | coit-es | coit-zh | muit-uniform |" in md
    # every delta with its paired interval (the fixture's samples hold per-item chrF++ and correctness)
    assert (
        "| en-es | chrF++ | 25.00 | 30.00 (+5.00 [+3.64, +6.32]) | 24.00 (-1.00 [-2.16, +0.26]) "
        "| 29.50 (+4.50 [+3.35, +5.61]) | 29.00 (+4.00 [+2.76, +5.48]) | 25.00 (+0.00 [-1.07, +1.08]) |" in md
    )
    assert (  # transfer row: de es fr ja ru zh
        "| qalign-zh-de | +6.00 [+0.00, +12.00] | +2.00 [+0.00, +6.00] | +2.00 [+0.00, +6.00] | +2.00 [+0.00, +6.00] "
        "| +2.00 [+0.00, +7.68] | +6.00 [+0.00, +14.00] |" in md
    )
    assert out["summary"]["deltas"]["coit-es"]["translation/en-es"]["chrf"]["low"] == pytest.approx(3.64, abs=0.005)
    assert (
        "- Quality follows the fitted scaling law: inconclusive — es inconclusive (power, k=3, 3 sizes, R² 0.970, "
        "rises 26.00→29.50 over 50–200 pairs, leave-one-size-out RMSE n/a (too few sizes); 3 sizes, the power form "
        "needs ≥ 5); zh inconclusive (log, k=2, 3 sizes, R² 0.930, rises 11.00→14.00 over 50–200 pairs, "
        "leave-one-size-out RMSE 0.87; 3 sizes, the log form needs ≥ 4)"
    ) in md
    assert "| CoIT raises translation | supported | +5.00 [+4.25, +5.77] chrF++ |" in md
    assert "![each claim's parts with their 95% paired intervals](forest.png)" in md
    assert "Not run: the recipe names no judge endpoint." in md
    page = (run / "report.html").read_text()
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 6
    assert not re.search(r'(src|href)="(http|//)', page)  # self-contained
    assert page.count("<table") == 8  # claims, arms, time, translation, polysent, transfer, scaling fits, allocation
    assert '<li class="yes">CoIT raises translation: supported — every part above the base (Holm)' in page
    assert '<li class="inc">MuIT within 1 chrF++ of per-language CoIT: inconclusive' in page
    assert out["claims"][0].startswith("CoIT raises translation: supported")
    assert [c["verdict"] for c in out["summary"]["claims"]] == [
        "supported",
        "inconclusive",
        "inconclusive",
        "inconclusive",
        "supported",
        "supported",
    ]
    assert "items" not in out["summary"] and out["summary"]["claims"][0]["method"]["resamples"] == 1000


def test_sections_say_not_run_when_their_artefacts_are_absent(tmp_path):
    run = write_finished_run(tmp_path / "bare", scaling=False, analysis=False)
    build_report(run)
    md = (run / "report.md").read_text()
    assert "Not run: no scaling pilot (scaling/fits.json) in this run." in md
    assert "Not run: no alignment-by-layer or logit-lens results in this run." in md
    assert "- Tuning raises middle-layer alignment: not measured (no base and tuned alignment by layer)" in md


def test_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a polyalign run directory"):
        build_report(tmp_path / "x")
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "report", str(tmp_path / "x")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'x'}: not a polyalign run directory (no config.yaml with evaluations beside it)"
    ]
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["notes.txt"]


def test_report_rebuild_imports_no_model_code(tmp_path):
    run = write_finished_run(tmp_path / "light")
    code = (
        "import sys\nfrom polyalign.report.build import build_report\n"
        f"build_report({str(run)!r})\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'peft')"
        " or m.startswith(('polyalign.train', 'polyalign.eval'))]\nprint(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_report_command_prints_every_verdict(tmp_path):
    run = write_finished_run(tmp_path / "cli")
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "report", str(run)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [x.split(" — ")[0] for x in lines[:6]] == [
        "CoIT raises translation: supported",
        "MuIT within 1 chrF++ of per-language CoIT: inconclusive",
        "Quality follows the fitted scaling law: inconclusive",
        "The planned budget beats uniform: inconclusive",
        "Tuning raises middle-layer alignment: supported",
        "Question alignment transfers to languages it never saw: supported",
    ]
    assert (run / "forest.png").read_bytes()[:4] == b"\x89PNG"
    # summary.json's claims are the report's after a rebuild (a newer polyalign's intervals), the rest kept
    stale = {"name": "cli", "claims": [{"id": "coit", "verdict": "supported", "line": "from an older polyalign"}]}
    (run / "summary.json").write_text(json.dumps(stale))
    again = subprocess.run(
        [sys.executable, "-m", "polyalign", "report", str(run)], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["name"] == "cli"
        and [c["line"] for c in summary["claims"]] == again.stdout.split("\n\nreport:")[0].splitlines()
    )


def test_a_file_or_a_missing_folder_for_the_run(tmp_path):
    """The wrong thing for the run directory says what it is: a file is not 'no such run directory'."""
    (tmp_path / "summary.csv").write_text("mine\n")
    with pytest.raises(InputError, match="is a file, expected a run directory"):
        build_report(tmp_path / "summary.csv")
    with pytest.raises(InputError, match="no such run directory"):
        build_report(tmp_path / "gone")
    assert (tmp_path / "summary.csv").read_text() == "mine\n"


def test_what_was_run_names_the_files_the_model_resolved_to(tmp_path):
    """model.json (the model frozen when the run started) is in the report and in summary.json, without
    this machine's folder or file times."""
    import json

    run = write_finished_run(tmp_path / "frozen")
    record = {
        "name": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "path": "/home/someone/.cache/polyalign/models/SmolLM2-135M-Instruct-5dce440",
        "source": "the bundled SmolLM2-135M-Instruct.Q4_1.gguf copy, dequantised",
        "files": {"model.safetensors": {"bytes": 9, "mtime": 1.5, "sha256": "ab" * 32}},
        "sha256": "cd" * 32,
    }
    (run / "model.json").write_text(json.dumps(record))
    built = build_report(run)
    md = (run / "report.md").read_text()
    assert (
        "(the bundled SmolLM2-135M-Instruct.Q4_1.gguf copy, dequantised; files sha256 cdcdcdcdcdcd, model.json)" in md
    )
    assert built["summary"]["model_files"] == {
        "source": record["source"],
        "sha256": "cd" * 32,
        "files": {"model.safetensors": "ab" * 32},
    }


def test_a_deleted_samples_file_or_alignment_is_warned_and_named_by_the_claims(tmp_path, capsys):
    """Never a silently smaller claim: a part that lost its per-item rows, or an arm that lost its look
    inside, is named as missing and keeps a verdict from being "supported"."""
    run = write_finished_run(tmp_path / "demo")
    (run / "arms" / "coit-es" / "eval" / "samples_translation_es-en.jsonl").unlink()
    (run / "arms" / "coit-zh" / "analysis" / "alignment.json").unlink()
    out = build_report(run, finished=False)
    err = capsys.readouterr().err
    assert (
        f"warning: {run / 'arms' / 'coit-es' / 'eval' / 'samples_translation_es-en.jsonl'}: missing: no per-item "
        "scores of coit-es on translation/es-en" in err
    )
    coit, alignment = out["judged"][0], out["judged"][4]
    assert "coit-es es→en (no per-item samples)" in coit["missing"] and coit["verdict"] == "inconclusive"
    assert "coit-es es→en (no per-item samples) missing" in coit["line"]
    assert alignment["missing"] == ["coit-zh (no alignment.json)"] and alignment["verdict"] == "inconclusive"
    assert (
        "measured for coit-es, muit-uniform, muit-planned, qalign-zh-de; coit-zh (no alignment.json) missing"
        in (alignment["line"])
    )


def test_missing_results_are_named_where_they_would_be(tmp_path, capsys):
    run = write_finished_run(tmp_path / "demo")
    (run / "arms" / "coit-zh" / "eval" / "results.json").unlink()
    build_report(run, finished=False)
    err = capsys.readouterr().err
    assert (
        f"warning: {run / 'arms' / 'coit-zh' / 'eval'}: missing: no results.json here or in suite/: "
        "no evaluation of arm coit-zh" in err
    )
