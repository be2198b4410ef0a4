"""`polyalign run` with arms on a tiny random Llama: --quick end to end (scaling pilot, arms through the
grid, suite, look inside, judge on a real local HTTP server), resume, --dry-run, bad input, report."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import spanish_locale

pytestmark = pytest.mark.slow


def run_cli(*args, cwd, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def recipe_text(tmp_path, model, plan, arms_extra="", extra=""):
    locale = spanish_locale(tmp_path / "locale")
    plan_line = f"plan: {plan}" if plan else ""
    return f"""
name: exp
runs_dir: {tmp_path / "runs"}
{plan_line}
{extra}
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


class LongerIsBetterJudge(BaseHTTPRequestHandler):
    """A judge that scores an answer by its length (1 + chars // 10, at most 10); counts its calls."""

    calls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        first = user.split("[Answer A]\n", 1)[1].split("\n\n[Answer B]", 1)[0]
        second = user.split("[Answer B]\n", 1)[1].split("\n\nScore each", 1)[0]
        LongerIsBetterJudge.calls += 1
        text = f"A: {min(10, 1 + len(first) // 10)} B: {min(10, 1 + len(second) // 10)}"
        data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def judge_url():
    LongerIsBetterJudge.calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LongerIsBetterJudge)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


ARMS = ("coit-es", "muit-uniform", "muit-planned", "qalign-zh-de")


def test_quick_runs_every_arm_then_resumes_and_report_rebuilds(tmp_path, tiny_model_dir, judge_url):
    recipe = tmp_path / "exp.yaml"
    extra = (
        f"analysis_language: es\njudge: {{endpoint: '{judge_url}', model: fake-judge, languages: [es, zh]}}\n"
        "scaling: {bootstrap: 10}"
    )
    recipe.write_text(
        recipe_text(tmp_path, tiny_model_dir, None, extra=extra).replace(
            "  max_new_tokens: 8", "  max_new_tokens: 8\n  suite: [polyqa, polysent]\n  suite_langs: [es, zh, ru]"
        )
    )
    proc = run_cli("run", str(recipe), "--quick", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "runs" / "exp-quick"
    for rel in [
        "config.yaml",
        "data/manifest.json",
        "eval/base/results.json",
        "timings.json",
        "summary.json",
        "report.md",
        "report.html",
        "transfer.png",
        "losses.png",
        "scaling/points.csv",
        "scaling/fits.json",
        "scaling/plan.json",
        "scaling/fits.png",
        "analysis/base/alignment.json",
        "analysis/base/lens.json",
        "alignment_cosine.png",
        "lens.png",
        "judge/results.json",
    ]:
        assert (run / rel).is_file(), rel
    # the pilot: 1 language × --quick's 3 sizes, each point an ordinary run
    assert sorted(p.name for p in (run / "points").iterdir()) == ["es-12", "es-4", "es-8"]
    assert (run / "scaling" / "points.csv").read_text().count("\n") == 4
    plan = json.loads((run / "scaling" / "plan.json").read_text())
    assert plan["allocation"] == {"es": 40}  # the planned arm's budget (40) over its one language
    for arm in ARMS:
        for rel in [
            "data/train.jsonl",
            "model/adapter_model.safetensors",
            "eval/results.json",
            "train_summary.json",
            "summary.json",
            "analysis/alignment.json",
            "eval/instruct/results.json",
        ]:
            assert (run / "arms" / arm / rel).is_file(), (arm, rel)
        # the logit lens reads the base and the question-alignment arms (analysis_lens: qalign)
        assert (run / "arms" / arm / "analysis" / "lens.json").is_file() == arm.startswith("qalign"), arm
        assert json.loads((run / "arms" / arm / "train_summary.json").read_text())["steps"] == 3  # --quick
    manifest = json.loads((run / "arms" / "muit-planned" / "data" / "manifest.json").read_text())
    assert manifest["languages"]["es"]["train_pairs"] == 24  # the plan's 40, capped by --quick's 24 per language
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["arms"]) == set(ARMS)
    base = json.loads((run / "eval" / "base" / "results.json").read_text())["results"]
    assert summary["base"]["translation/en-es"]["chrf"] == base["translation/en-es"]["chrf"]
    # the suite (three languages here, to stay fast; the default runs all of each set's), two items each (--quick)
    assert sorted(t for t in summary["base"] if t.startswith(("polyqa/", "polysent/"))) == [
        "polyqa/es",
        "polyqa/ru",
        "polyqa/zh",
        "polysent/es",
        "polysent/ru",
        "polysent/zh",
    ]
    assert summary["base"]["polysent/ru"]["n"] == 2
    claims = summary["claims"]
    assert [c["claim"] for c in claims] == [
        "CoIT raises translation",
        "MuIT within 1 chrF++ of per-language CoIT",
        "Quality follows the fitted scaling law",
        "The planned budget beats uniform",
        "Tuning raises middle-layer alignment",
        "Question alignment transfers to languages it never saw",
    ]
    assert all(c["verdict"] != "not measured" for c in claims), [c["line"] for c in claims]
    coit = claims[0]
    assert coit["method"]["resamples"] == 1000 and coit["low"] <= coit["effect"] <= coit["high"]
    assert {p["name"] for p in coit["parts"]} == {"coit-es en→es", "coit-es es→en"}
    # the judge: every arm against the base, both orders, on 2 items in each of 2 languages
    judged = json.loads((run / "judge" / "results.json").read_text())
    assert set(judged["arms"]) == set(ARMS)
    assert all(a["n"] == 4 and a["judged"] == 4 for a in judged["arms"].values())
    assert LongerIsBetterJudge.calls == 2 * 4 * len(ARMS)
    assert "win rate" in (run / "report.md").read_text()
    timings = json.loads((run / "timings.json").read_text())
    assert {
        "data",
        "eval/base",
        "scaling pilot",
        "train/coit-es",
        "eval/qalign-zh-de",
        "analysis/coit-es",
        "judge",
    } <= set(timings)

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
    assert lines[1].startswith(
        "  evaluation of the base (an arm: what its claims read, below): 24 held-out translation items "
        "(1 languages × 2 direction(s)); ~"
    )
    assert lines[2].startswith(
        "  arm coit-es: coit es, allocation uniform, ≤200 parallel pairs, 20 steps, ≤10240 tokens"
    )
    assert any(x.startswith("  evaluations: 5 models; estimated total ~") for x in lines)
    assert not (tmp_path / "runs").exists()


def test_default_dry_run_plans_the_pilot_and_fits_the_budget(tmp_path, monkeypatch):
    """The embedded default: pilot, five arms, the suite; with no rates recorded on this machine, its
    estimate is the shipped rates scaled by this machine's matmul probe, which the last line states."""
    import os
    import re

    from polyalign import estimate
    from polyalign.recipe import load_recipe

    monkeypatch.setenv("POLYALIGN_CACHE", str(tmp_path / "cache"))  # no rates.json: the uncalibrated estimate
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", "--dry-run", f"runs_dir={tmp_path / 'runs'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        "polyqa 60 items (12 languages), polysent 80 items (16 languages), polymt 160 items (4 directions)" in lines[1]
    )
    assert lines[2].startswith(
        "  scaling pilot: 2 languages × sizes [16, 32, 64, 128, 256] = 10 points (snapshots: one run per language "
        "over 256 pairs, one epoch at a constant rate, its model kept at each size, score 120 held-out pairs a point)"
    )
    assert "no held-out translation items (eval.heldout: none)" in lines[1]
    assert sum(x.startswith("  arm ") for x in lines) == 5
    minutes = float(re.search(r"estimated total ~([\d.]+) min", lines[-1]).group(1))
    probe = float(re.search(r"scaled to this machine's (\d+) ", lines[-1]).group(1))
    # what the shipped rates give at the probe the dry run read (printed to the GFLOP/s): the same arithmetic
    cfg = load_recipe(None, [f"runs_dir={tmp_path / 'runs'}"])
    want = [
        sum(estimate.estimate_stages(cfg, estimate.scaled_rates(estimate.DEFAULT_RATES, g)).values()) / 60
        for g in (probe - 0.5, probe + 0.5)
    ]
    assert min(want) - 0.05 <= minutes <= max(want) + 0.05, lines[-1]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "extra, plan_json, message",
    [
        ("  - {name: coit-es, builder: coit, languages: [es]}", None, "two arms share the name coit-es"),
        ("  - {name: coit-xx, builder: coit, languages: [eu]}", None, "arm 'coit-xx' names eu, for which no source"),
        ("", {"allocation": {"fr": 30}}, "the plan allocates fr but arm 'muit-planned' tunes es"),
    ],
)
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


@pytest.mark.parametrize(
    "name, first, arms",
    [
        ("paper_xllama_7b.yaml", "run xllama-7b: model meta-llama/Llama-2-7b-hf, 8 arm(s) + the untuned base", 8),
        (
            "paper_qalign_lora.yaml",
            "run qalign-lora-7b: model meta-llama/Llama-2-7b-hf, 2 arm(s) + the untuned base",
            2,
        ),
    ],
)
def test_real_scale_recipes_load_and_dry_run(tmp_path, name, first, arms):
    """The cluster recipes shipped next to the default: they load, and --dry-run plans them offline."""
    from pathlib import Path

    from polyalign.recipe import load_recipe

    path = Path(__file__).resolve().parents[2] / "recipes" / name
    cfg = load_recipe(path)
    assert len(cfg.arms) == arms and cfg.model.dtype == "bfloat16"
    proc = run_cli("run", str(path), "--dry-run", f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == first
    assert "estimated total ~" in proc.stdout.splitlines()[-1]
    assert not (tmp_path / "runs").exists()
