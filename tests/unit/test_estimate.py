"""The dry run's time estimate against recorded stage times: rates recorded from a run give its times back.

A synthetic run of the default recipe (small sizes) is written with stage and per-task times made
by hand from known rates; :func:`polyalign.calibrate.record_rates` must recover those rates, and the
estimate for the same recipe must reproduce every recorded stage time. No time is measured here.
"""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from polyalign import arms, calibrate, dry_run, estimate
from polyalign.coerce import dump_recipe
from polyalign.eval.tasks import TASKS
from polyalign.io import write_json
from polyalign.recipe import load_recipe

# The "true" rates the synthetic run is made from.
LOAD, WRITE, CONVERT = 4.0, 0.5, 30.0  # load before the first item; writing files after; the GGUF conversion
PER_ITEM = {"translation": 0.5, "polyqa": 0.75, "polysent": 0.25}
KIND = {"translation": "translation", "polyqa": "qa", "polysent": "classification"}
TPS, OVERHEAD = 200.0, 3.0  # training tokens/s; training's fixed cost
TPE = {"coit": 50, "muit": 60, "qalign": 80, "pilot": 20}  # tokens per example read
PER_PAIR, PER_LENS = 0.1, 0.05  # look inside: alignment per pair (every model), lens per item (base, qalign)
FIT = 1.0  # the pilot's fit and plan, after its points
LANGS = ["es", "ru"]  # the default recipe's CoIT/MuIT languages
# make demo's rates on the AVX2 machine (the defaults before the AVX-512 machine's): fixed numbers for the arithmetic
AVX2 = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "rates_avx2.json").read_text())


def overrides(tmp_path: Path) -> list[str]:
    return [
        f"runs_dir={tmp_path / 'runs'}",
        "eval.limit=2",
        "data.test_size=4",
        "scaling.sizes=[8, 24]",
        "scaling.points=runs",  # each point its own run (the snapshot pilot: test_the_snapshot_pilot_is_timed_...)
        "eval.suite=polyqa,polysent",  # the suite this synthetic run times (polymt's own limits aside)
        "eval.suite_langs=",
        "eval.task_limits=",
        "analysis_pairs=4",  # as many as the held-out set has: the look inside reads no more
        # the protocol this synthetic run was timed under: held-out pairs both ways, every arm on the whole
        # suite, pilot points trained and scored both ways on eval.limit items
        "eval.heldout=both",
        "eval.arm_tasks=all",
        "scaling.data={instructions: []}",
        "scaling.eval={heldout: both}",
    ]


def recipe(tmp_path: Path):
    return load_recipe(None, overrides(tmp_path))


def eval_docs(folder: Path, suite: bool, first_load: float) -> float:
    """results.json (+ suite/results.json) with per-task seconds; returns the sum of the tasks' seconds."""
    keys = [f"translation/{a}-{b}" for x in LANGS for a, b in (("en", x), (x, "en"))] if suite else []
    total = 0.0
    for sub, task_keys in (
        ("", keys),
        ("suite", [f"{t}/{x}" for t in ("polyqa", "polysent") for x in TASKS[t].languages]),
    ):
        if not suite:
            task_keys = [k for k in task_keys if k.startswith("translation/")]
        if not task_keys:
            continue
        doc = {"results": {}, "configs": {}, "n-samples": {}, "seconds": {}}
        for key in task_keys:
            task = key.split("/")[0]
            secs = 2 * PER_ITEM[task] + (first_load if total == 0.0 else 0.0)
            doc["seconds"][key] = secs
            doc["configs"][key] = {"kind": KIND[task]}
            doc["n-samples"][key] = {"original": 2, "effective": 2}
            total += secs
        write_json(folder / sub / "results.json", doc)
    return total


def point_docs(folder: Path, lang: str) -> float:
    doc = {"seconds": {}, "configs": {}, "n-samples": {}}
    for i, key in enumerate((f"translation/en-{lang}", f"translation/{lang}-en")):
        doc["seconds"][key] = 2 * PER_ITEM["translation"] + (LOAD if i == 0 else 0.0)
        doc["configs"][key] = {"kind": "translation"}
        doc["n-samples"][key] = {"original": 2, "effective": 2}
    write_json(folder / "results.json", doc)
    return sum(doc["seconds"].values())


def train_summary(folder: Path, seen: int, builder: str) -> float:
    tokens = seen * TPE[builder]
    write_json(folder / "train_summary.json", {"steps": 1, "examples": seen, "tokens": tokens, "seconds": tokens / TPS})
    return tokens / TPS + OVERHEAD


def synthetic_run(tmp_path: Path):
    """The default recipe's run directory, every stage timed from the rates above."""
    cfg = recipe(tmp_path)
    run = cfg.run_dir
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(dump_recipe(cfg))
    t: dict[str, float] = {"data": 7.0}
    t["eval/base"] = eval_docs(run / "eval" / "base", True, LOAD + CONVERT) + WRITE
    t["analysis/base"] = 4 * (PER_PAIR + PER_LENS)  # analysis_pairs
    pilot = FIT
    for lang in LANGS:
        for size in (8, 24):
            point = run / "points" / f"{lang}-{size}"
            parts = {"data": 0.3, "train": train_summary(point, 2 * size, "pilot")}  # both directions, one epoch
            parts["eval/after"] = point_docs(point / "eval" / "after", lang) + WRITE
            write_json(point / "timings.json", parts)
            pilot += sum(parts.values())
    t["scaling pilot"] = pilot
    for arm in cfg.arms:
        folder = run / "arms" / arm.name
        t[f"data/{arm.name}"] = 1.5
        t[f"train/{arm.name}"] = train_summary(folder, 12 * 8, arm.builder)  # max_steps × batch
        t[f"eval/{arm.name}"] = eval_docs(folder / "eval", True, LOAD) + WRITE
        t[f"analysis/{arm.name}"] = 4 * (PER_PAIR + (PER_LENS if arm.builder == "qalign" else 0.0))
    t["judge"] = 0.02
    write_json(run / "timings.json", t)
    return cfg, run, t


def test_recorded_rates_are_the_ones_the_run_was_made_from(tmp_path):
    _, run, _ = synthetic_run(tmp_path)
    rates = calibrate.record_rates(run, converted_here=True)
    assert rates["eval_seconds_per_item"] == pytest.approx(
        {"translation": 0.5, "polyqa": 0.75, "qa": 0.75, "polysent": 0.25, "classification": 0.25}
    )
    assert rates["model_load_seconds"] == pytest.approx(LOAD + WRITE)
    assert rates["conversion_seconds"] == pytest.approx(CONVERT)
    assert rates["train_tokens_per_second"] == pytest.approx(TPS)
    assert rates["train_tokens_per_example"] == pytest.approx({k: float(v) for k, v in TPE.items()})
    assert rates["train_overhead_seconds"] == pytest.approx(OVERHEAD)
    assert rates["data_seconds"] == 7.0 and rates["arm_data_seconds"] == 1.5
    assert rates["arm_data_seconds_by_builder"] == {"coit": 1.5, "muit": 1.5, "qalign": 1.5}
    assert rates["analysis_seconds_per_pair"] == pytest.approx(PER_PAIR)
    assert rates["lens_seconds_per_item"] == pytest.approx(PER_LENS)
    # a point's held-out items at their own rate, its load spread over them: (4 × 0.5 + LOAD) / 4 items
    assert rates["pilot_seconds_per_item"] == pytest.approx((4 * PER_ITEM["translation"] + LOAD) / 4)
    # per point: its data build 0.3 and its results' write are not in the core; 4 points share the fit's 1.0
    assert rates["pilot_point_overhead_seconds"] == pytest.approx(0.3 + WRITE + FIT / 4)
    assert rates["model_eval_factor"] == pytest.approx({"base": 1.0} | {a.name: 1.0 for a in recipe(tmp_path).arms})
    assert rates["arm_tokens_per_example"] == {a.name: float(TPE[a.builder]) for a in recipe(tmp_path).arms}
    assert rates["measured_run"] == str(run) and rates["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "judge_seconds_per_item" not in rates  # no judge endpoint: nothing measured


def test_the_estimate_from_recorded_rates_gives_every_stage_time_back(tmp_path):
    _, run, t = synthetic_run(tmp_path)
    rates = calibrate.record_rates(run, converted_here=True)
    rows = {stage: (e, m) for stage, e, m in calibrate.compare(run, rates, converted=True)}
    assert set(rows) == set(t) | {"total"}
    for stage, measured in t.items():
        want = 0.0 if stage == "judge" else measured  # no endpoint: the judge is not estimated
        assert rows[stage] == (pytest.approx(want), measured), stage
    assert rows["total"] == (pytest.approx(sum(t.values()) - 0.02), pytest.approx(sum(t.values())))
    # eval/base by hand: conversion 30 + load and write 4.5 + 8 translation × 0.5 + 24 polyqa × 0.75
    # + 32 polysent × 0.25
    assert rows["eval/base"][0] == pytest.approx(30 + 4.5 + 4 + 18 + 8)


def test_an_arm_that_answers_slower_and_reads_longer_examples_keeps_its_own_time(tmp_path):
    """coit-ru: every answer 1.2× slower and 60 tokens per example where the other CoIT arms read 50."""
    _, run, t = synthetic_run(tmp_path)
    folder = run / "arms" / "coit-ru"
    for doc_path in (folder / "eval" / "results.json", folder / "eval" / "suite" / "results.json"):
        doc = json.loads(doc_path.read_text())
        load = [LOAD if doc_path.parent.name == "eval" else 0.0]  # the held-out document's first task holds it
        for i, (key, secs) in enumerate(doc["seconds"].items()):
            held = load[0] if i == 0 else 0.0
            doc["seconds"][key] = 1.2 * (secs - held) + held
        write_json(doc_path, doc)
    t["eval/coit-ru"] = 1.2 * (t["eval/coit-ru"] - WRITE - LOAD) + WRITE + LOAD
    t["train/coit-ru"] = train_summary(folder, 96, "muit")  # 60 tokens per example
    write_json(run / "timings.json", t)
    rates = calibrate.record_rates(run, converted_here=True)
    rows = {stage: (e, m) for stage, e, m in calibrate.compare(run, rates, converted=True)}
    for stage, measured in t.items():
        assert rows[stage] == (pytest.approx(0.0 if stage == "judge" else measured), measured), stage
    factor = rates["model_eval_factor"]
    assert rates["model_load_seconds"] == pytest.approx(LOAD + WRITE)
    assert rates["conversion_seconds"] == pytest.approx(CONVERT)
    assert factor["coit-es"] == pytest.approx(factor["base"])
    assert factor["coit-ru"] == pytest.approx(1.2 * factor["base"])
    assert rates["arm_tokens_per_example"]["coit-ru"] == 60.0 and rates["train_tokens_per_example"]["coit"] == 110 / 2


def test_stated_rates_give_the_stated_estimate_and_its_error(tmp_path):
    _, run, t = synthetic_run(tmp_path)
    rows = {stage: (e, m) for stage, e, m in calibrate.compare(run, AVX2, converted=True)}
    # 38.0 conversion + 4.7 load + the base's factor 1.04 × (8 × 1.08 + 24 × 1.83 + 32 × 0.55)
    base = 38.0 + 4.7 + 1.04 * (8 * 1.08 + 24 * 1.83 + 32 * 0.55)
    assert calibrate.compare(run, AVX2, converted=False)[1][1] == pytest.approx(base - 38.0)
    assert rows["eval/base"] == (pytest.approx(base), t["eval/base"])
    # 2.7 overhead + 96 examples × coit-es's 74.5 tokens / 93.6 tokens/s
    assert rows["train/coit-es"][0] == pytest.approx(2.7 + 96 * 74.5 / 93.6)
    text = calibrate.compare_text(run, AVX2, converted=True)
    assert text.splitlines()[0].split() == ["stage", "estimate", "measured", "error"]
    assert "eval/base" in text and f"{round(100 * (base - t['eval/base']) / t['eval/base']):+d}%" in text


def test_the_lens_reads_the_base_and_the_question_alignment_arms_unless_asked_for_all(tmp_path):
    cfg = recipe(tmp_path)
    assert [a.name for a in cfg.arms if arms.lens_reads(cfg, a)] == ["qalign-zh-de"]
    every = replace(cfg, analysis_lens="all")
    assert all(arms.lens_reads(every, a) for a in every.arms)
    stages = estimate.estimate_stages(cfg, estimate.DEFAULT_RATES)
    n, r = cfg.analysis_pairs, estimate.DEFAULT_RATES
    assert (
        stages["analysis/base"]
        == stages["analysis/qalign-zh-de"]
        == pytest.approx(n * (r["analysis_seconds_per_pair"] + r["lens_seconds_per_item"]))
    )
    assert stages["analysis/coit-es"] == pytest.approx(n * r["analysis_seconds_per_pair"])
    # a run where every model had the lens: their sum, split as the defaults split it
    t = {"analysis/base": n * 0.5} | {f"analysis/{a.name}": n * 0.5 for a in cfg.arms}
    got = calibrate.analysis_rates(every, t)
    assert got["analysis_seconds_per_pair"] + got["lens_seconds_per_item"] == pytest.approx(0.5)
    assert got["lens_seconds_per_item"] / 0.5 == pytest.approx(
        r["lens_seconds_per_item"] / (r["lens_seconds_per_item"] + r["analysis_seconds_per_pair"])
    )


def test_old_rates_files_still_load(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYALIGN_CACHE", str(tmp_path))
    assert estimate.measured_rates()["source"].startswith("uncalibrated defaults from make demo on 2 CPU cores")
    (tmp_path / "rates.json").write_text(json.dumps({"train_tokens_per_second": 123.0, "model_load_seconds": 5.0}))
    rates = estimate.measured_rates()
    assert rates["train_tokens_per_second"] == 123.0
    assert rates["eval_seconds_per_item"] == estimate.DEFAULT_RATES["eval_seconds_per_item"]
    assert rates["source"] == f"measured on this machine ({tmp_path / 'rates.json'})"
    # before the lens had its own rate, analysis_seconds_per_pair held alignment and lens together
    (tmp_path / "rates.json").write_text(json.dumps({"analysis_seconds_per_pair": 1.0}))
    rates = estimate.measured_rates()
    assert rates["analysis_seconds_per_pair"] + rates["lens_seconds_per_item"] == pytest.approx(1.0)


def test_the_dry_run_prints_the_stages_from_the_recorded_rates(tmp_path):
    """Through the command line: rates recorded from the run in rates.json, the dry run of the same recipe."""
    _, run, t = synthetic_run(tmp_path)
    cache = tmp_path / "cache"
    rates = calibrate.record_rates(run, converted_here=True)
    write_json(cache / "rates.json", rates)
    env = {**os.environ, "POLYALIGN_CACHE": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    args = overrides(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", "--dry-run", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    stages = next(x for x in out if x.startswith("  time per stage (min): "))
    assert f"data 0.1, eval/base {t['eval/coit-es'] / 60:.1f}, analysis/base 0.0, " in stages  # base less conversion
    assert f"scaling pilot {t['scaling pilot'] / 60:.1f}" in stages
    arm = next(x for x in out if x.startswith("    arm coit-es "))
    want = sum(t[f"{s}/coit-es"] for s in ("data", "train", "eval", "analysis"))
    assert arm == (
        f"    arm coit-es {want / 60:.1f}: data {1.5 / 60:.1f}, train {t['train/coit-es'] / 60:.1f}, "
        f"eval {t['eval/coit-es'] / 60:.1f}, analysis {1.6 / 60:.1f}"
    )
    assert out[-1].endswith(
        f"rates: measured on this machine at {rates['measured_at']} from {run} ({cache / 'rates.json'}): training "
        "200 tokens/s, model load 4.5 s, s/item translation 0.50, polyqa 0.75, polysent 0.25, pilot held-out pair "
        "1.50)"  # (4 items × 0.5 + the point's load 4.0) / 4 items
    )

    proc = subprocess.run(
        [sys.executable, "-m", "polyalign.calibrate", str(run)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    row = next(x for x in proc.stdout.splitlines() if x.startswith("train/coit-es "))
    assert row.split() == ["train/coit-es", f"{t['train/coit-es']:.1f}s", f"{t['train/coit-es']:.1f}s", "+0%"]


def test_calibrate_cli_defaults_and_a_missing_run(tmp_path):
    _, run, t = synthetic_run(tmp_path)
    env = {**os.environ, "POLYALIGN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "polyalign.calibrate"]
    proc = subprocess.run([*cmd, str(run), "--defaults"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    row = next(x for x in proc.stdout.splitlines() if x.startswith("train/coit-es "))
    r = estimate.DEFAULT_RATES  # as shipped, not scaled to this machine
    # the defaults' overhead + 96 examples × coit-es's tokens per example / tokens/s
    want = r["train_overhead_seconds"] + 96 * r["arm_tokens_per_example"]["coit-es"] / r["train_tokens_per_second"]
    err = round(100 * (want - t["train/coit-es"]) / t["train/coit-es"])
    assert row.split() == ["train/coit-es", f"{want:.1f}s", f"{t['train/coit-es']:.1f}s", f"{err:+d}%"]
    write_json(tmp_path / "rates.json", calibrate.record_rates(run))
    proc = subprocess.run(
        [*cmd, str(run), "--rates", str(tmp_path / "rates.json")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert next(x for x in proc.stdout.splitlines() if x.startswith("total ")).split()[-1] == "+0%"
    (tmp_path / "bad.json").write_text("[1, 2]")
    proc = subprocess.run(
        [*cmd, str(run), "--rates", str(tmp_path / "bad.json")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 2 and proc.stderr == f"error: {tmp_path / 'bad.json'}: expected a JSON object of rates\n"
    proc = subprocess.run([*cmd, str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "nowhere" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_a_finished_run_adds_its_rates_to_the_earlier_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYALIGN_CACHE", str(tmp_path / "cache"))
    cfg, run, _ = synthetic_run(tmp_path)
    old = {"train_tokens_per_second": 1.0, "eval_seconds_per_item": {"mgsm": 9.0, "polyqa": 1.0}, "source": "x"}
    write_json(tmp_path / "cache" / "rates.json", old)
    other_model = replace(cfg, model=replace(cfg.model, model_name_or_path="gpt2"))
    for not_these in (arms.quick(cfg), replace(cfg, arms=[]), other_model):  # toy sizes, a plain run, another model
        calibrate.remember_rates(not_these, run)  # record nothing: the rates are the bundled model's experiments'
        assert json.loads((tmp_path / "cache" / "rates.json").read_text()) == old
    calibrate.remember_rates(cfg, run)
    got = json.loads((tmp_path / "cache" / "rates.json").read_text())
    assert got["train_tokens_per_second"] == pytest.approx(TPS) and "source" not in got
    assert got["eval_seconds_per_item"]["mgsm"] == 9.0 and got["eval_seconds_per_item"]["polyqa"] == 0.75
    assert estimate.measured_rates()["source"].startswith(
        f"measured on this machine at {got['measured_at']} from {run}"
    )
    (run / "timings.json").unlink()  # a run without its times: nothing recorded, and no error
    calibrate.remember_rates(cfg, run)
    assert json.loads((tmp_path / "cache" / "rates.json").read_text()) == got


def test_a_plain_recipe_is_estimated_per_stage_of_its_timings(monkeypatch):
    """muit_offline.yaml: 3 languages × 100 held-out items En→X before and after, 60 steps × 16 examples."""
    monkeypatch.setattr(estimate, "needs_conversion", lambda cfg: False)
    cfg = load_recipe(Path(__file__).resolve().parents[2] / "recipes" / "muit_offline.yaml")
    est = estimate.estimate_plain(cfg, AVX2)
    evaluation = 4.7 + 300 * 1.08
    assert est == pytest.approx(
        {"data": 14.1, "eval/before": evaluation, "train": 2.7 + 960 * 83.4 / 93.6, "eval/after": evaluation}
    )
    line = "  time per stage (min): data 0.2, eval/before 5.5, train 14.3, eval/after 5.5"
    assert dry_run.stage_lines(cfg, est) == [line]


def test_the_snapshot_pilot_is_timed_as_one_training_per_language_and_a_scoring_per_size():
    """``scaling.points: snapshots`` (the default): the same eight scored points as four runs per language,
    but one training over the largest size per language instead of one per size."""
    from polyalign.arms import pilot_recipe, pilot_recipes
    from polyalign.estimate import DEFAULT_RATES, pilot_core, point_examples, train_seconds

    snap, runs = load_recipe(None, []), load_recipe(None, ["scaling.points=runs"])
    (n_snap, s_snap), (n_runs, s_runs) = pilot_core(snap, DEFAULT_RATES), pilot_core(runs, DEFAULT_RATES)
    assert n_snap == n_runs == 10  # 2 languages × 5 sizes
    recipes = pilot_recipes(pilot_recipe(runs))
    train_runs = sum(train_seconds(p.train, point_examples(p), "pilot", DEFAULT_RATES) for p in recipes)
    largest = [p for p in pilot_recipes(pilot_recipe(snap))]
    train_snap = sum(train_seconds(p.train, point_examples(p), "pilot", DEFAULT_RATES) for p in largest)
    scoring = 10 * 120 * DEFAULT_RATES["pilot_seconds_per_item"]  # ten kept or trained models, 120 held-out pairs each
    assert s_runs == pytest.approx(train_runs + scoring) and s_snap == pytest.approx(train_snap + scoring)
    assert train_snap < train_runs


def test_the_defaults_scale_with_the_machine_probe(tmp_path, monkeypatch):
    """With no rates.json the defaults are scaled by this machine's probe: every time divided, the training
    throughput multiplied, by (probe / the defaults' probe) ** SPEED_EXPONENT; so is every stage's estimate."""
    monkeypatch.setenv("POLYALIGN_CACHE", str(tmp_path))
    ref = estimate.DEFAULT_RATES["probe_gflops"]
    rates = estimate.measured_rates(probe=lambda: ref / 2)
    speed = 0.5**estimate.SPEED_EXPONENT
    assert rates["probe_gflops"] == ref / 2
    assert rates["eval_seconds_per_item"]["polymt"] == pytest.approx(
        estimate.DEFAULT_RATES["eval_seconds_per_item"]["polymt"] / speed
    )
    assert rates["conversion_seconds"] == pytest.approx(estimate.DEFAULT_RATES["conversion_seconds"] / speed)
    assert rates["train_tokens_per_second"] == pytest.approx(estimate.DEFAULT_RATES["train_tokens_per_second"] * speed)
    assert rates["arm_tokens_per_example"] == estimate.DEFAULT_RATES["arm_tokens_per_example"]  # not the machine's
    assert rates["judge_seconds_per_item"] == estimate.DEFAULT_RATES["judge_seconds_per_item"]  # an endpoint's
    assert rates["source"].startswith(
        f"uncalibrated defaults from make demo on 2 CPU cores at a matmul probe of {ref:.0f} GFLOP/s"
    )
    assert f"scaled to this machine's {ref / 2:.0f}" in rates["source"]
    cfg = load_recipe(None, [f"runs_dir={tmp_path / 'runs'}"])
    here, there = estimate.estimate_stages(cfg, rates), estimate.estimate_stages(cfg, estimate.DEFAULT_RATES)
    assert here.keys() == there.keys()
    for stage in there:
        assert here[stage] == pytest.approx(there[stage] / speed), stage
    # the same probe reading gives the defaults back; a recorded rates.json is this machine's, never scaled
    same = estimate.measured_rates(probe=lambda: ref)
    assert same["train_tokens_per_second"] == pytest.approx(estimate.DEFAULT_RATES["train_tokens_per_second"])
    (tmp_path / "rates.json").write_text(json.dumps({"train_tokens_per_second": 123.0}))
    assert estimate.measured_rates(probe=lambda: ref / 2)["train_tokens_per_second"] == 123.0


def test_the_defaults_scaled_to_the_avx2_probe_give_that_machines_stage_times_within_20_percent(tmp_path):
    """The two machines the default was measured on (issue 22: the estimate within ±20% of each stage):
    the AVX-512 defaults scaled to the AVX2 machine's probe, against that machine's recorded rates, stage by
    stage for the stages that take more than 10 s, and in total. The stages of a few seconds (data builds)
    are residuals of Python work and may be further off. The pilot is left out: the AVX2 machine timed the
    four-run pilot of then, its items priced at the suite's rate, not the snapshots' own item rate."""
    cfg = load_recipe(None, [f"runs_dir={tmp_path / 'runs'}"])
    scaled = estimate.scaled_rates(estimate.DEFAULT_RATES, AVX2["probe_gflops"])
    # a model's evaluation factor is its run's (how long its answers were: muit-planned's plan differed), not
    # the machine's: both sides take the AVX2 run's, so what is compared is the machine's speed
    scaled["model_eval_factor"] = AVX2["model_eval_factor"]
    est = estimate.estimate_stages(cfg, scaled)
    truth = estimate.estimate_stages(cfg, estimate.merge_rates(AVX2))
    del est["scaling pilot"], truth["scaling pilot"]
    big = [s for s in truth if truth[s] > 10]
    assert len(big) >= 12  # eval/base, analysis/base, each arm's train and eval
    for stage in big:
        assert est[stage] == pytest.approx(truth[stage], rel=0.2), stage
    assert sum(est.values()) == pytest.approx(sum(truth.values()), rel=0.1)


def test_the_machine_probe_measures_this_machine():
    g = estimate.matmul_gflops(n=256, repeats=2)
    assert 0.1 < g < 1e5  # a real measurement: positive and finite, whatever the machine
