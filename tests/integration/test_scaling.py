"""`polyalign scaling pilot` end to end on a tiny Llama: grid, resume after a kill, fits, plan, MuIT from the plan."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import processes_naming, spanish_locale, write_mo

pytestmark = pytest.mark.slow

_FR_VERBS = [
    ("Open", "Ouvrir"),
    ("Close", "Fermer"),
    ("Delete", "Supprimer"),
    ("Copy", "Copier"),
    ("Save", "Enregistrer"),
    ("Rename", "Renommer"),
    ("Move", "Déplacer"),
    ("Print", "Imprimer"),
    ("Share", "Partager"),
    ("Export", "Exporter"),
]
_FR_NOUNS = [
    ("file", "le fichier"),
    ("folder", "le dossier"),
    ("document", "le document"),
    ("image", "l'image"),
    ("window", "la fenêtre"),
    ("project", "le projet"),
    ("message", "le message"),
    ("list", "la liste"),
    ("page", "la page"),
    ("table", "le tableau"),
    ("report", "le rapport"),
    ("account", "le compte"),
]
_FR_ADJS = [("selected", "sélectionné"), ("current", "actuel"), ("new", "nouveau")]


def locales(root):
    spanish_locale(root)
    pairs = {
        f"{ve} the {ae} {ne}": f"{vf} {nf} {af}" for ve, vf in _FR_VERBS for ne, nf in _FR_NOUNS for ae, af in _FR_ADJS
    }
    write_mo(root / "fr" / "LC_MESSAGES" / "demo.mo", pairs)
    return root


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=900
    )


def recipe_text(tmp_path, model, sizes="[10, 20, 40, 80]", launcher="local", extra=""):
    return f"""
name: pilot
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {model}
data:
  languages: [es, fr]
  gettext_dirs: [{locales(tmp_path / "locale")}]
  instructions: []
  language_id: false
  test_size: 8
train:
  lora_rank: 4
  learning_rate: 1.0e-2
  per_device_train_batch_size: 8
  num_train_epochs: 2
  save_steps: 2
  max_seq_length: 64
eval:
  batch_size: 8
  max_new_tokens: 8
scaling:
  sizes: {sizes}
  similarity: [es=0.9]
  bootstrap: 100
  budget: 200
  launcher: {launcher}
{extra}"""


@pytest.mark.serial
def test_pilot_end_to_end_resumes_after_a_kill_and_plans_a_muit_mixture(tmp_path, tiny_model_dir):
    recipe = tmp_path / "pilot.yaml"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir))
    root = tmp_path / "runs" / "pilot"
    big = root / "points" / "es-80"

    # Kill the pilot while the largest Spanish point is training (it has a checkpoint, no model yet).
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyalign", "scaling", "pilot", str(recipe)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 600
    while not list(big.glob("checkpoints/step-*/trainer_state.json")) and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (big / "summary.json").exists() and (root / "points" / "es-10" / "summary.json").is_file()
    finished = {p: (root / "points" / p / "summary.json").stat().st_mtime_ns for p in ("es-10", "es-20", "es-40")}

    again = cli("scaling", "pilot", str(recipe), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    for i, name in enumerate(["es-10", "es-20", "es-40"], 1):
        assert f"point {i}/8: {name}: done" in again.stderr
    assert "point 4/8: es-80: running" in again.stderr and "point 8/8: fr-80: done" in again.stderr
    assert {p: (root / "points" / p / "summary.json").stat().st_mtime_ns for p in finished} == finished  # never re-run
    resumed = json.loads((big / "train_summary.json").read_text())["resumed_from"]
    assert isinstance(resumed, int) and resumed >= 2  # the step of the checkpoint it restarted from

    # Nested training sets, one shared held-out test per language; no baseline evaluation at a point.
    for lang in ("es", "fr"):
        tests = {
            (root / "points" / f"{lang}-{n}" / "data" / f"test_en-{lang}.jsonl").read_text() for n in (10, 20, 40, 80)
        }
        assert len(tests) == 1
        trains = [
            {
                json.loads(line)["messages"][1]["content"]
                for line in (root / "points" / f"{lang}-{n}" / "data" / "train.jsonl").read_text().splitlines()
            }
            for n in (10, 20, 40, 80)
        ]
        assert [len(t) for t in trains] == [10, 20, 40, 80]
        assert all(a < b for a, b in zip(trains, trains[1:]))
    assert not (root / "points" / "es-10" / "eval" / "before").exists()

    # points.csv holds each point's measured chrF++ and BLEU; fits and plan follow from it.
    rows = list(csv.DictReader((root / "scaling" / "points.csv").open()))
    assert [(r["lang"], int(r["size"])) for r in rows] == [(lang, n) for lang in ("es", "fr") for n in (10, 20, 40, 80)]
    for r in rows:
        summary = json.loads((root / "points" / f"{r['lang']}-{r['size']}" / "summary.json").read_text())
        m = summary["after"][f"translation/en-{r['lang']}"]
        assert float(r["score"]) == pytest.approx(m["chrf"]) and float(r["bleu"]) == pytest.approx(m["bleu"])
        assert summary["before"] == {}
    assert [r.get("similarity") for r in rows] == ["0.9"] * 4 + [""] * 4
    fits = json.loads((root / "scaling" / "fits.json").read_text())
    assert set(fits["fits"]) == {"es", "fr"} and all(f["n"] == 4 for f in fits["fits"].values())
    for lang, f in fits["fits"].items():  # 4 sizes: AICc defined for no form, intervals for the 2-parameter ones
        assert f["form_choice"].startswith(f"{f['form']}: AICc is undefined for every form with n = 4 points")
        assert f"pilot: {lang}: auto took {f['form_choice']}" in again.stderr
        assert (f["ci"] is None) == (f["k"] > 2) and f["n_sizes"] == 4 and isinstance(f["rising"], bool)
    plan = json.loads((root / "scaling" / "plan.json").read_text())
    for lang, flag in plan["extrapolated"].items():
        assert flag == (not 10 <= plan["allocation"][lang] <= 80)
        assert (plan["extrapolated_note"][lang] in again.stderr) if flag else plan["extrapolated_note"][lang] is None
    assert sum(plan["allocation"].values()) == 200
    assert plan["total_predicted"] >= plan["uniform"]["total_predicted"] - 1e-9
    for png in ("fits.png", "plan.png"):
        assert (root / "scaling" / png).read_bytes()[:4] == b"\x89PNG"

    # The plan builds a MuIT mixture with the planned counts; a plan naming another language is refused.
    muit = tmp_path / "muit.yaml"
    muit.write_text(f"""
name: planned
runs_dir: {tmp_path / "runs"}
data:
  builder: muit
  languages: [es, fr]
  gettext_dirs: [{tmp_path / "locale"}]
  instructions: []
  language_id: false
  allocation: {root / "scaling" / "plan.json"}
  max_train_pairs: null
  test_size: 8
""")
    built = cli("data", "build", str(muit), cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "planned" / "data" / "manifest.json").read_text())
    for lang, n in plan["allocation"].items():
        assert manifest["languages"][lang]["allocated_pairs"] == n == manifest["languages"][lang]["train_pairs"]
    only_es = cli("data", "build", str(muit), "data.languages=es", "name=only-es", cwd=tmp_path)
    assert only_es.returncode == 2
    assert (
        only_es.stderr.strip().splitlines()[-1]
        == f"error: {root / 'scaling' / 'plan.json'}: the plan allocates to fr, which data.languages does not name"
    )
    assert not (tmp_path / "runs" / "only-es" / "data").exists()


@pytest.mark.serial
def test_submitit_local_executor_runs_points_at_once_like_the_local_launcher(tmp_path, tiny_model_dir):
    pytest.importorskip("submitit", reason="submitit is not installed (pip install 'polyalign[cluster]')")
    from polyalign.grid import run_grid
    from polyalign.recipe import load_recipe
    from polyalign.run_config import PilotConfig
    from polyalign.stages import pilot_points

    results = {}
    for launcher in ("local", "slurm"):
        recipe = tmp_path / f"{launcher}.yaml"
        recipe.write_text(
            recipe_text(
                tmp_path / launcher,
                tiny_model_dir,
                sizes="[20]",
                launcher=launcher,
                extra="  cluster: local\n  timeout_min: 10\n",
            )
        )
        cfg = load_recipe(recipe, cls=PilotConfig)
        points = pilot_points(cfg)
        log: list[str] = []
        summaries = run_grid(
            points,
            launcher,
            folder=tmp_path / launcher / "submitit",
            cluster="local",
            executor={"timeout_min": 10},
            log=log.append,
        )
        results[launcher] = {name: s["after"] for name, s in summaries.items()}
        if launcher == "slurm":
            assert sum("submitted as local process" in line for line in log) == 2
            again: list[str] = []
            run_grid(points, launcher, folder=tmp_path / launcher / "submitit", cluster="local", log=again.append)
            assert again == ["point 1/2: es-20: done", "point 2/2: fr-20: done"]
    assert results["slurm"] == results["local"]


@pytest.mark.serial
def test_a_killed_submitit_job_resubmitted_resumes_from_its_checkpoint(tmp_path, tiny_model_dir):
    """A point's cluster job dies mid-training (cancelled); the same grid run again resubmits it, the
    job resumes from the point's latest checkpoint, and the result equals an uninterrupted local run."""
    submitit = pytest.importorskip("submitit", reason="submitit is not installed (pip install 'polyalign[cluster]')")
    from dataclasses import replace

    from polyalign.grid import execute_point, run_grid
    from polyalign.recipe import load_recipe
    from polyalign.run_config import PilotConfig
    from polyalign.stages import pilot_points

    def points(where: str, launcher: str):
        recipe = tmp_path / f"{where}.yaml"
        extra = "  cluster: local\n  timeout_min: 10\n"
        recipe.write_text(recipe_text(tmp_path / where, tiny_model_dir, sizes="[80]", launcher=launcher, extra=extra))
        cfg = load_recipe(recipe, cls=PilotConfig)
        cfg = replace(cfg, train=replace(cfg.train, num_train_epochs=12.0, per_device_train_batch_size=4))
        return [p for p in pilot_points(cfg) if p.name == "es-80"]

    reference = run_grid(points("local", "local"), "local", log=lambda _: None)

    grid = points("slurm", "slurm")
    run_dir = grid[0].config.run_dir
    ex = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="local")
    ex.update_parameters(timeout_min=10)
    job = ex.submit(execute_point, grid[0])
    deadline = time.time() + 300
    while not list((run_dir / "checkpoints").glob("step-*")) and time.time() < deadline and not job.done():
        time.sleep(0.05)
    assert not job.done(), "the job finished before it could be killed: give it more steps"
    job.cancel(check=False)
    while not job.done():
        time.sleep(0.1)
    assert not (run_dir / "train_summary.json").exists()  # killed mid-training
    killed_at = max(int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").glob("step-*"))

    log: list[str] = []
    summaries = run_grid(
        grid, "slurm", folder=tmp_path / "submitit", cluster="local", executor={"timeout_min": 10}, log=log.append
    )
    assert any("submitted as local process" in line for line in log)
    info = json.loads((run_dir / "train_summary.json").read_text())
    assert info["resumed_from"] is not None and info["resumed_from"] >= killed_at
    assert summaries["es-80"]["after"] == reference["es-80"]["after"]


def test_the_pilot_of_a_run_recipe_is_the_one_its_run_plans_its_arms_by(tmp_path, tiny_model_dir):
    """`scaling pilot runs/<run>/config.yaml` piloted data.languages (es) alone with its own budget, and
    wrote that plan over the one the run's planned arm was built from; it now pilots what `polyalign run`
    pilots: the planned arms' languages, split by their budget."""
    text = recipe_text(tmp_path, tiny_model_dir, sizes="[8, 16]").replace("languages: [es, fr]", "languages: [es]")
    text = text.replace("  budget: 200\n", "")
    text += "arms:\n  - {name: planned, builder: muit, languages: [es, fr], allocation: plan, pair_budget: 24}\n"
    recipe = tmp_path / "run.yaml"
    recipe.write_text(text)
    out = cli("scaling", "pilot", str(recipe), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    root = tmp_path / "runs" / "pilot"
    rows = list(csv.DictReader((root / "scaling" / "points.csv").open()))
    assert sorted({r["lang"] for r in rows}) == ["es", "fr"]
    plan = json.loads((root / "scaling" / "plan.json").read_text())
    assert sorted(plan["allocation"]) == ["es", "fr"] and sum(plan["allocation"].values()) == 24
    assert plan["source"] == {"fits": str(root / "scaling" / "fits.json")}


def test_shared_fit_plans_a_language_from_its_similarity_alone_on_the_command_line(tmp_path):
    """`scaling fit --shared` then `allocate`, through `python -m polyalign`: one α, β; de has no points."""
    points = tmp_path / "points.csv"
    rows = ["lang,size,score,similarity"]
    for lang, gamma in (("es", 0.9), ("fr", 0.6)):
        for size in (100, 200, 400, 800):
            rows.append(f"{lang},{size},{100 - 80 * (gamma * size) ** -0.3:.6f},{gamma}")
    points.write_text("\n".join(rows) + "\n")
    fits = tmp_path / "fits.json"
    fit = cli("scaling", "fit", str(points), "--shared", "--similarity", "de=0.2", "--out", str(fits), cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert fit.stderr.startswith("[polyalign] shared fit over es, fr: α 80, β -0.3; γ es 0.9 (given), fr 0.6 (given)")
    doc = json.loads(fits.read_text())
    assert doc["settings"]["fit"] == "shared" and doc["shared"]["k"] == 2 and doc["shared"]["n"] == 8
    assert doc["fits"]["de"]["gamma"] == 0.2 and doc["fits"]["de"]["sizes"] == []
    plan_path = tmp_path / "plan.json"
    out = cli("scaling", "allocate", str(fits), "--budget", "3000", "--out", str(plan_path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan == json.loads(plan_path.read_text()) and sum(plan["allocation"].values()) == 3000
    assert plan["source"] == {"fits": str(fits), "sha256": hashlib.sha256(fits.read_bytes()).hexdigest()}
    assert plan["allocation"]["de"] > plan["allocation"]["fr"] > plan["allocation"]["es"]  # further from English: more
    assert plan["extrapolated"] == {"es": True, "fr": True, "de": True}
    assert plan["extrapolated_note"]["de"] == "extrapolated: no measured points (planned from its similarity alone)"
    bad = cli("scaling", "fit", str(points), "--shared", "--form", "log", cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        == "error: <command line>: the shared fit uses the xllama form (its γ is what languages share); got --form log"
    )


@pytest.mark.serial
def test_sigterm_to_the_pilot_cancels_the_submitit_jobs_it_started(tmp_path, tiny_model_dir):
    """Issue 17: stopping the parent stopped nothing: two submitit jobs ran on, ignoring SIGTERM."""
    pytest.importorskip("submitit", reason="submitit is not installed (pip install 'polyalign[cluster]')")
    recipe = tmp_path / "pilot.yaml"
    # 30 epochs: both jobs still train when the signal comes (on a fast CPU two epochs of the smaller one
    # could end first, and a finished job is not cancelled)
    extra = "  cluster: local\n  timeout_min: 10\n  languages: [es]\n  train: {num_train_epochs: 30}\n"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir, sizes="[120, 240]", launcher="slurm", extra=extra))
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyalign", "scaling", "pilot", str(recipe)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    while sum("submitted as local process" in line for line in lines) < 2:
        line = proc.stderr.readline()
        assert line, "".join(lines)[-3000:]
        lines.append(line)
    folder = str(tmp_path / "runs" / "pilot" / "submitit")
    # both jobs training when the signal comes: a job that ended before it is not cancelled, and its log
    # says why (once in CI one of the two had ended before the signal, with no log to tell why)
    deadline = time.time() + 180
    while True:
        logs = {f.name: f.read_text(errors="replace") for f in Path(folder).glob("*_0_log.err")}
        if len(logs) == 2 and all("train: lora on" in text for text in logs.values()):
            break
        ended = proc.poll() is not None or any(Path(folder).glob("*_result.pkl"))  # a job's end writes its result
        if ended or time.time() > deadline:
            proc.kill()
            controllers = Path(folder, "local_controllers.log")
            detail = {**logs, "controllers": controllers.read_text(errors="replace") if controllers.exists() else ""}
            pytest.fail(
                "a job ended (or never trained) before the signal:\n"
                + "\n".join(f"== {name}\n{text[-1500:]}" for name, text in detail.items())
            )
        time.sleep(0.5)
    assert any(line.startswith("[polyalign] launcher: scaling.cluster: local: one submitit job") for line in lines)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, rest[-3000:]
    logs = {f.name: f.read_text(errors="replace")[-1500:] for f in Path(folder).glob("*_0_log.err")}
    assert "stopped: cancelled 2 local process(es)" in rest, (rest, logs)
    # the cancelled jobs' controllers (submitit's, SIGINT) print their KeyboardInterrupt into the grid's folder
    assert "Traceback" not in rest, rest[-3000:]
    deadline = time.time() + 30
    while processes_naming(folder) and time.time() < deadline:
        time.sleep(0.2)
    assert not processes_naming(folder)
    assert not (tmp_path / "runs" / "pilot" / ".lock").exists()


def test_a_snapshot_pilot_is_one_run_per_language_kept_at_every_size_and_resumes_exactly(tmp_path, tiny_model_dir):
    """``scaling.points: snapshots``: one run per language over the largest size, its model kept as it
    has seen each size and each kept model scored; a run stopped after its second step resumes from
    that checkpoint and keeps the same last model, weight for weight."""
    from safetensors.torch import load_file

    recipe = tmp_path / "pilot.yaml"
    extra = "  points: snapshots\n  train: {num_train_epochs: 1, save_steps: 1, save_total_limit: 4}\n"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir, sizes="[8, 16, 32]", extra=extra))
    first = cli("scaling", "pilot", str(recipe), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    root = tmp_path / "runs" / "pilot"
    assert sorted(p.name for p in (root / "points").iterdir()) == ["es", "fr"]
    rows = list(csv.DictReader((root / "scaling" / "points.csv").open()))
    assert [(r["lang"], int(r["size"])) for r in rows] == [(lang, n) for lang in ("es", "fr") for n in (8, 16, 32)]
    for r in rows:
        run = root / "points" / r["lang"]
        assert len((run / "data" / "train.jsonl").read_text().splitlines()) == 32
        assert json.loads((run / "train_summary.json").read_text())["steps"] == 4  # 32 pairs, 8 a step, once
        point = json.loads((run / "summary.json").read_text())["points"][r["size"]]
        assert float(r["score"]) == pytest.approx(point["after"][f"translation/en-{r['lang']}"]["chrf"])
        assert (run / "eval" / f"after-{r['size']}" / "results.json").is_file()
        assert (run / "model-at" / r["size"] / "adapter_model.safetensors").is_file()
    es = root / "points" / "es"
    kept = load_file(str(es / "model-at" / "32" / "adapter_model.safetensors"))
    assert not all(
        kept[k].equal(v) for k, v in load_file(str(es / "model-at" / "8" / "adapter_model.safetensors")).items()
    )

    for gone in (
        "summary.json",
        "train_summary.json",
        "model",
        "model-at/32",
        "checkpoints/step-3",
        "checkpoints/step-4",
    ):
        path = es / gone
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    again = cli("scaling", "pilot", str(recipe), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((es / "train_summary.json").read_text())["resumed_from"] == 2
    resumed = load_file(str(es / "model-at" / "32" / "adapter_model.safetensors"))
    assert resumed.keys() == kept.keys() and all(resumed[k].equal(kept[k]) for k in kept)
    assert "point 2/2: fr: done" in again.stderr
