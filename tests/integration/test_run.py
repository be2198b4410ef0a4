"""`polyalign run` end to end on a tiny random Llama with the default tokenizer, on CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import spanish_locale

pytestmark = pytest.mark.slow


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=900
    )


def test_run_end_to_end_then_resume(tmp_path, tiny_model_dir):
    locale = spanish_locale(tmp_path / "locale")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(f"""
name: tiny
runs_dir: {tmp_path / "runs"}
seed: 0
model:
  model_name_or_path: {tiny_model_dir}
data:
  languages: [es]
  gettext_dirs: [{locale}]
  instructions: []  # translation tasks only: regular enough that a tiny random model's loss falls fast
  direction: both
  max_train_pairs: 200
  test_size: 12
train:
  finetuning_type: lora
  lora_rank: 8
  learning_rate: 1.0e-2
  per_device_train_batch_size: 8
  max_steps: 30
  warmup_steps: 0.1
  save_steps: 10
  max_seq_length: 128
eval:
  batch_size: 8
  max_new_tokens: 8
""")
    proc = run_cli("run", str(recipe), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "tiny"
    for rel in [
        "config.yaml",
        "data/train.jsonl",
        "data/manifest.json",
        "data/test_en-es.jsonl",
        "data/test_es-en.jsonl",
        "eval/before/results.json",
        "eval/after/results.json",
        "eval/before/samples_translation_en-es.jsonl",
        "model/adapter_model.safetensors",
        "model/adapter_config.json",
        "report.md",
        "summary.json",
        "train_log.jsonl",
        "checkpoints/step-30/trainer_state.json",
    ]:
        assert (run_dir / rel).is_file(), rel

    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary) == {"before", "after", "claims", "deltas"}
    (tuned,) = summary["deltas"]  # the one tuned model: each delta of the before/after table with its interval
    for task in ("translation/en-es", "translation/es-en"):
        for metric in ("chrf", "bleu", "fidelity"):
            d = summary["deltas"][tuned][task][metric]
            gap = summary["after"][task][metric] - summary["before"][task][metric]
            assert d["effect"] == pytest.approx(gap, abs=1e-4) and d["low"] <= d["effect"] <= d["high"]
    coit = summary["claims"][0]  # paired on the same 12 items per direction, with its method
    assert coit["id"] == "coit" and coit["verdict"] in ("supported", "contradicted", "inconclusive")
    assert [p["n"] for p in coit["parts"]] == [12, 12] and coit["method"]["resamples"] == 1000
    for stage in ("before", "after"):
        assert set(summary[stage]) == {"translation/en-es", "translation/es-en"}
        doc = json.loads((run_dir / "eval" / stage / "results.json").read_text())["results"]
        for task, m in summary[stage].items():  # the summary carries the evaluation's own numbers
            assert (m["chrf"], m["bleu"], m["fidelity"]) == (
                doc[task]["chrf"],
                doc[task]["bleu"],
                doc[task]["fidelity"],
            )

    # Fidelity is the share of non-empty outputs identified as the target language, per sample.
    for task, tgt in (("translation_en-es", "es"), ("translation_es-en", "en")):
        rows = [
            json.loads(line) for line in (run_dir / "eval" / "after" / f"samples_{task}.jsonl").read_text().splitlines()
        ]
        found = [r["detected_lang"] for r in rows if r["output"].strip()]
        assert all(r["detected_lang"] is None for r in rows if not r["output"].strip())
        expected = 100.0 * sum(d == tgt for d in found) / len(found) if found else 0.0
        assert summary["after"][task.replace("_", "/")]["fidelity"] == pytest.approx(expected)
    assert "fidelity %" in (run_dir / "report.md").read_text() and "fidelity %" in proc.stdout

    log = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 31))
    first, last = sum(r["loss"] for r in log[:5]) / 5, sum(r["loss"] for r in log[-5:]) / 5
    assert last < first - 1.0, (first, last)

    results = json.loads((run_dir / "eval" / "after" / "results.json").read_text())
    assert results["results"]["translation/en-es"]["n"] == 12
    assert "tok:13a" in results["results"]["translation/en-es"]["bleu_signature"]
    assert "translation/en-es" in proc.stdout and "chrF++" in proc.stdout

    # Running the same recipe again resumes: every stage is found done, the summary is unchanged.
    again = run_cli("run", str(recipe), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already" in again.stderr
    assert json.loads((run_dir / "summary.json").read_text()) == summary

    # A different recipe under the same name is refused with the keys that differ, nothing overwritten.
    config = (run_dir / "config.yaml").read_text()
    other = run_cli("run", str(recipe), "train.max_steps=5", "eval.max_new_tokens=9", cwd=tmp_path)
    assert other.returncode == 2
    assert other.stderr.strip().splitlines() == [
        f"error: {run_dir / 'config.yaml'}: this run directory was made by a different recipe "
        "(eval.max_new_tokens: 8 -> 9; "
        "train.max_steps: 30 -> 5); choose another name=... or remove it"
    ]
    assert (run_dir / "config.yaml").read_text() == config
    # The evaluation batch size changes no result: allowed, and every stage is still found done.
    batch = run_cli("run", str(recipe), "eval.batch_size=4", cwd=tmp_path)
    assert batch.returncode == 0, batch.stderr[-2000:]
    assert "recipe changed (eval.batch_size)" in batch.stderr
    assert json.loads((run_dir / "summary.json").read_text()) == summary


def test_run_evaluates_the_recipe_suite_before_and_after(tmp_path, tiny_model_dir):
    from eval_fixtures import write_mgsm

    locale = spanish_locale(tmp_path / "locale")
    cls = tmp_path / "cls.jsonl"
    cls.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "text": t, "label": y}) + "\n"
            for i, (t, y) in enumerate(
                [("muy bien", "bueno"), ("fatal", "malo"), ("genial", "bueno"), ("horrible", "malo")]
            )
        )
    )
    mgsm = write_mgsm(tmp_path / "mgsm")
    recipe = tmp_path / "suite.yaml"
    recipe.write_text(f"""
name: suite
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {tiny_model_dir}
data:
  languages: [es]
  gettext_dirs: [{locale}]
  instructions: []
  max_train_pairs: 40
  test_size: 4
train:
  lora_rank: 4
  per_device_train_batch_size: 8
  max_steps: 3
  max_seq_length: 128
eval:
  max_new_tokens: 6
  suite: [local_classification, mgsm]
  suite_langs: [es]
  data_files: ["local_classification={cls}", "mgsm={mgsm}"]
""")
    proc = run_cli("run", str(recipe), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "suite"
    summary = json.loads((run_dir / "summary.json").read_text())
    for stage in ("before", "after"):
        assert set(summary[stage]) == {"translation/en-es", "local_classification/es", "mgsm/es"}
        doc = json.loads((run_dir / "eval" / stage / "suite" / "results.json").read_text())
        for key in ("local_classification/es", "mgsm/es"):
            assert summary[stage][key]["accuracy"] == doc["results"][key]["accuracy"]
        assert "fidelity" in summary[stage]["mgsm/es"] and summary[stage]["local_classification/es"]["fidelity"] is None
    after = json.loads((run_dir / "eval" / "after" / "suite" / "results.json").read_text())
    assert after["request"]["adapter"] == str(run_dir / "model")  # the tuned model, recorded as such
    before = json.loads((run_dir / "eval" / "before" / "suite" / "results.json").read_text())
    assert before["request"]["adapter"] is None
    assert "mgsm/es" in proc.stdout and "accuracy %" in (run_dir / "report.md").read_text()
