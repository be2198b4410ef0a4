"""`polyalign run` with arms on a tiny random Llama: --quick end to end, resume, --dry-run, bad input, report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import spanish_locale

pytestmark = pytest.mark.slow


def run_cli(*args, cwd, timeout=900):
    return subprocess.run([sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def recipe_text(tmp_path, model, plan, arms_extra=""):
    locale = spanish_locale(tmp_path / "locale")
    return f"""
name: exp
output_dir: {tmp_path / 'runs'}
plan: {plan}
model:
  model_name_or_path: {model}
data:
  languages: [es]
  gettext_dirs: [{locale}]
  instructions: [polyinstruct]
  direction: both
  max_train_pairs: 200
  test_size: 12
arms:
  - {{name: coit-es, builder: coit, languages: [es]}}
  - {{name: muit-uniform, builder: muit, languages: [es], allocation: uniform, pair_budget: 40}}
  - {{name: muit-planned, builder: muit, languages: [es], allocation: plan, pair_budget: 40}}
  - {{name: qalign-zh-de, builder: qalign, languages: [zh, de], train: {{learning_rate: 5.0e-3}}}}
{arms_extra}
train:
  lora_rank: 4
  per_device_train_batch_size: 4
  max_steps: 20
  max_seq_length: 128
eval:
  batch_size: 8
  max_new_tokens: 8
"""


@pytest.fixture
def plan(tmp_path):
    p = tmp_path / "plan.json"
    p.write_text(json.dumps({"allocation": {"es": 30}}))
    return p


def test_quick_runs_every_arm_then_resumes_and_report_rebuilds(tmp_path, tiny_model_dir, plan):
    recipe = tmp_path / "exp.yaml"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir, plan))
    proc = run_cli("run", str(recipe), "--quick", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "runs" / "exp-quick"
    for rel in ["config.yaml", "data/manifest.json", "eval/base/results.json", "timings.json", "summary.json",
                "report.md", "report.html", "transfer.png", "losses.png"]:
        assert (run / rel).is_file(), rel
    for arm in ("coit-es", "muit-uniform", "muit-planned", "qalign-zh-de"):
        for rel in ["data/train.jsonl", "model/adapter_model.safetensors", "eval/results.json", "train_summary.json"]:
            assert (run / "arms" / arm / rel).is_file(), (arm, rel)
        assert json.loads((run / "arms" / arm / "train_summary.json").read_text())["steps"] == 3  # --quick
    manifest = json.loads((run / "arms" / "muit-planned" / "data" / "manifest.json").read_text())
    assert manifest["languages"]["es"]["train_pairs"] == 24  # the plan's 30, capped by --quick's 24 per language
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["arms"]) == {"coit-es", "muit-uniform", "muit-planned", "qalign-zh-de"}
    base = json.loads((run / "eval" / "base" / "results.json").read_text())["results"]
    assert summary["base"]["translation/en-es"]["chrf"] == base["translation/en-es"]["chrf"]
    assert [c.split(":")[0] for c in summary["claims"]][:2] == ["CoIT raises translation",
                                                               "MuIT within 1 chrF++ of per-language CoIT"]
    assert summary["claims"][2].endswith("not measured (no scaling pilot fits in this run)")
    timings = json.loads((run / "timings.json").read_text())
    assert {"data", "eval/base", "train/coit-es", "eval/qalign-zh-de"} <= set(timings)

    # a second run does nothing again: every stage is found done
    stamp = (run / "arms" / "coit-es" / "eval" / "results.json").stat().st_mtime_ns
    again = run_cli("run", str(recipe), "--quick", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "model: loading" not in again.stderr
    assert (run / "arms" / "coit-es" / "eval" / "results.json").stat().st_mtime_ns == stamp

    # the report rebuilds from the JSON files alone
    (run / "report.html").unlink()
    rep = run_cli("report", str(run), cwd=tmp_path, timeout=120)
    assert rep.returncode == 0, rep.stderr
    assert (run / "report.html").is_file() and rep.stdout.startswith("CoIT raises translation: ")


def test_dry_run_loads_no_model(tmp_path, plan):
    recipe = tmp_path / "exp.yaml"
    recipe.write_text(recipe_text(tmp_path, "no/such-model", plan))
    proc = run_cli("run", str(recipe), "--dry-run", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "run exp: model no/such-model, 4 arm(s) + the untuned base"
    assert lines[1] == "  evaluation per model: 24 translation items (1 languages × 2 direction(s))"
    assert lines[2].startswith("  arm coit-es: coit es, allocation uniform, ≤200 parallel pairs, 20 steps, ≤10240 tokens")
    assert any(x.startswith("  evaluations: 5 models; estimated total ~") for x in lines)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("extra, plan_json, message", [
    ("  - {name: coit-es, builder: coit, languages: [es]}", None, "two arms share the name coit-es"),
    ("  - {name: coit-xx, builder: coit, languages: [eu]}", None, "arm 'coit-xx' names eu, for which no source"),
    ("", {"allocation": {"fr": 30}}, "the plan allocates fr but arm 'muit-planned' tunes es"),
])
def test_bad_arms_one_line_exit_2_nothing_written(tmp_path, plan, extra, plan_json, message):
    if plan_json:
        plan.write_text(json.dumps(plan_json))
    recipe = tmp_path / "exp.yaml"
    recipe.write_text(recipe_text(tmp_path, "no/such-model", plan, extra))
    proc = run_cli("run", str(recipe), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert message in proc.stderr
    assert not (tmp_path / "runs").exists()
