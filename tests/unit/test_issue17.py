"""Issue 17: the run-folder lock, the launcher said and its jobs stopped, script subtags, overrides, the
report of a broken run, the dry run's and --quick's words. Each case failed before its fix."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys

import pytest

from polyalign import langs
from polyalign.cli import main
from polyalign.io import InputError
from polyalign.outputs import run_lock


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- the run-folder lock ------------------------------------------------------------------------


def test_a_second_run_in_a_locked_folder_is_refused_naming_the_holder(tmp_path):
    folder = tmp_path / "runs" / "t"
    with run_lock(folder) as lock:
        held = json.loads(lock.read_text())
        assert held["pid"] == os.getpid() and held["host"] == platform.node() and held["since"]
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from polyalign.outputs import run_lock\nwith run_lock({str(tmp_path / 'runs' / 't')!r}): pass",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert child.returncode != 0
        assert f"is in use by another polyalign run (process {os.getpid()} on {platform.node()}, since " in child.stderr
    assert not lock.exists()  # released


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_log_line(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / ".lock").write_text(json.dumps({"pid": pid, "host": platform.node(), "since": "2026-01-01T00:00:00"}))
    with run_lock(folder) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    err = capsys.readouterr().err
    assert f"taking over the lock of process {pid} on {platform.node()} (since 2026-01-01T00:00:00)" in err


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / ".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "s"}))
    with pytest.raises(InputError, match=r"process 1 on elsewhere, since s\)"), run_lock(folder):
        pass
    assert json.loads((folder / ".lock").read_text())["host"] == "elsewhere"


def test_polyalign_run_in_a_locked_folder_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with run_lock(tmp_path / "runs" / "t"):
        code, _, err = run(capsys, "run", "name=t", "arms=[]")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: runs/t: is in use by another polyalign run")
    assert not (tmp_path / "runs" / "t" / ".lock").exists() and not (tmp_path / "runs" / "t" / "data").exists()


def test_a_run_refused_before_any_work_leaves_no_folder(tmp_path):
    with pytest.raises(InputError), run_lock(tmp_path / "runs" / "t"):
        raise InputError("refused")
    assert not (tmp_path / "runs").exists()


# --- the launcher ------------------------------------------------------------------------------


def test_slurm_without_slurm_is_refused_and_the_executor_is_said(monkeypatch):
    import shutil

    from polyalign.grid import choose_executor

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="no Slurm here \\(no sbatch on the PATH\\)"):
        choose_executor("slurm", "auto")
    assert choose_executor("slurm", "local")[0] == "submitit-local"
    assert choose_executor("local", "auto") == (
        "local",
        "scaling.launcher: local: one point after another in this process",
    )
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/sbatch")
    assert choose_executor("slurm", "auto")[1].endswith("(sbatch: /usr/bin/sbatch)")


def test_dry_run_names_the_launcher_and_says_counts_are_maxima(capsys):
    code, out, _ = run(capsys, "run", "--dry-run", "scaling.launcher=slurm", "scaling.cluster=local")
    assert code == 0
    assert "  launcher: scaling.cluster: local: one submitit job per point, as processes on this machine" in out
    assert "counts marked ≤ are upper bounds" in out
    assert (
        "≤0 parallel pairs" not in out and "qalign zh, de, polyinstruct questions → English (no parallel pairs)" in out
    )


@pytest.mark.serial
def test_sigterm_while_jobs_run_cancels_them(tmp_path):
    submitit = pytest.importorskip("submitit")
    import time

    from polyalign.grid import _cancel, _stop_on_sigterm

    with pytest.raises(KeyboardInterrupt), _stop_on_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
    ex = submitit.AutoExecutor(folder=tmp_path, cluster="local")
    ex.update_parameters(timeout_min=5)
    job = ex.submit(time.sleep, 300)
    while job.state not in ("RUNNING",):
        time.sleep(0.1)
    assert _cancel([job]) == [str(job.job_id)]
    assert job._process.poll() is not None  # _cancel waited for the job's process to end
    deadline = time.time() + 10  # submitit reads a job's state at most once a second or so
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    assert job.done()


# --- languages, overrides ------------------------------------------------------------------------


def test_script_subtags_map_to_the_one_code_and_name_what_was_written():
    assert langs.normalize("zh-Hans") == "zh" and langs.normalize("sr-Latn") == "sr@latin"
    assert langs.normalize("zh-Hant-HK") == "zh_HK"
    assert langs.unknown("zh-Hant") == "unknown language code 'zh-Hant' (did you mean 'zh_TW' or 'zh_HK'?)"
    assert langs.unknown("ja-Latn") == "unknown language code 'ja-Latn'"


def test_zh_hans_in_a_recipe_is_zh(tmp_path):
    from polyalign.recipe import load_recipe

    assert load_recipe(None, ["data.languages=zh-Hans,es", "arms=[]"]).data.languages == ["zh", "es"]


def test_override_errors_blame_the_command_line_and_comma_lists_of_numbers_work():
    from polyalign.recipe import load_recipe

    with pytest.raises(InputError) as e:
        load_recipe(None, ["eval.suite_langs=xx"])
    assert str(e.value) == "<command line>: eval.suite_langs: unknown language code 'xx'"
    assert load_recipe(None, ["scaling.sizes=50,100,200,400"]).scaling.sizes == [50, 100, 200, 400]
    with pytest.raises(InputError, match=r"^<command line>: eval.limit must be at least 1 \(null: every item\)"):
        load_recipe(None, ["eval.limit=-1"])


# --- the report of a broken run ------------------------------------------------------------------


def test_report_names_a_truncated_summary_and_missing_base_results(tmp_path, capsys):
    from report_fixtures import write_finished_run

    run_dir = write_finished_run(tmp_path / "demo")
    (run_dir / "summary.json").write_text('{"arms": {')
    code, _, err = run(capsys, "report", run_dir)
    assert code == 2 and err.startswith(f"error: {run_dir / 'summary.json'}:1: invalid JSON")
    (run_dir / "summary.json").unlink()
    (run_dir / "eval" / "base" / "results.json").unlink()
    code, _, err = run(capsys, "report", run_dir)
    assert code == 0
    assert f"warning: {run_dir / 'summary.json'}: missing: the run has not finished" in err
    assert (
        f"warning: {run_dir / 'eval' / 'base'}: missing: no results.json here or in suite/: no untuned-base numbers"
        in err
    )
    assert (
        "Missing: eval/base — no results.json here or in suite/: no untuned-base numbers"
        in (run_dir / "report.md").read_text()
    )


# --- messages ------------------------------------------------------------------------------------


def test_quick_says_what_it_changed(capsys):
    code, out, err = run(capsys, "run", "--quick", "--dry-run")
    assert code == 0
    assert (
        "3 training steps per arm, one epoch over 12 pairs per scaling-pilot language, no checkpoints (save_steps 0, "
        "was 6)" in err
    )
    assert "snapshots: one run per language over 12 pairs" in out


def test_export_of_an_experiment_points_at_its_arms(tmp_path, capsys):
    (tmp_path / "run" / "arms" / "coit-es" / "model").mkdir(parents=True)
    code, _, err = run(capsys, "export", tmp_path / "run", tmp_path / "out")
    assert code == 2 and "is an experiment: its tuned models are in arms/<arm>/ (coit-es)" in err


def test_a_temporary_name_is_never_what_an_error_names(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("lang,size,score\nes,10,20\nes,20,25\nes,40,28\n")
    code, _, err = run(capsys, "scaling", "fit", tmp_path / "p.csv", "--out", "/proc/x")
    assert code == 2 and err == "error: /proc/x: cannot be created here (no such file or folder)\n"


def test_dry_run_into_a_closed_pipe_is_quiet():
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyalign", "run", "--dry-run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    proc.stdout.close()  # the reader is gone before the plan is written (`| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err and "BrokenPipe" not in err


def test_a_plan_with_a_negative_size_is_refused_before_any_evaluation(tmp_path):
    from polyalign.arms import check_plan
    from polyalign.run_config import ArmConfig

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"allocation": {"es": -5, "fr": 10}}))
    arm = ArmConfig(name="m", builder="muit", languages=["es", "fr"], allocation="plan", pair_budget=5)
    with pytest.raises(InputError, match=r"plan\.json: allocation for 'es' must be a non-negative integer, got -5"):
        check_plan(plan, [arm])


def test_grid_log_lines_name_arms_as_arms(tmp_path):
    from polyalign.grid import GridPoint, run_grid
    from polyalign.recipe import load_recipe
    from polyalign.stages import run_plain

    cfg = load_recipe(None, [f"runs_dir={tmp_path}", "name=coit-es", "arms=[]"])
    (cfg.run_dir).mkdir(parents=True)
    (cfg.run_dir / "summary.json").write_text("{}")
    log: list[str] = []
    run_grid([GridPoint(cfg, run_plain, (cfg,))], "local", log=log.append, what="arm")
    assert log == ["arm 1/1: coit-es: done"]


def test_slurm_with_no_slurm_stops_the_pilot_before_any_work(tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text("name: t\nscaling: {launcher: slurm}\n")
    code, _, err = run(capsys, "scaling", "pilot", "r.yaml")
    assert code == 2 and "no Slurm here (no sbatch on the PATH)" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_overriding_languages_on_an_experiment_says_the_arms_keep_theirs(capsys):
    code, _, err = run(capsys, "run", "--dry-run", "max_steps=80", "languages=fr")
    assert code == 0
    assert "[polyalign] <command line>: languages: this recipe's arms set their own builder, languages" in err


def test_an_arm_not_run_without_a_reason_is_not_said_twice(tmp_path):
    from polyalign.report.build import build_report
    from report_fixtures import write_finished_run

    run_dir = write_finished_run(tmp_path / "demo")
    import shutil

    shutil.rmtree(run_dir / "arms" / "coit-zh")
    build_report(run_dir)
    md = (run_dir / "report.md").read_text()
    assert "not run (not run)" not in md and "Arm coit-zh: not run (arms/coit-zh/ holds no results yet)." in md


def test_a_run_without_a_baseline_by_design_is_not_warned_about(tmp_path, capsys):
    from polyalign.report.build import gaps

    doc = {"recipe": {"eval": {"baseline": False}}, "base": None, "arms": {}}
    (tmp_path / "summary.json").write_text("{}")
    assert gaps(tmp_path, doc) == []
    assert [p.name for p, _ in gaps(tmp_path, {**doc, "recipe": {}})] == ["before"]  # eval/before/: no results


def test_a_grid_point_runs_the_function_it_carries(tmp_path):
    """Issue 21: the grid launches callables; it imports nothing of what it launches."""
    import ast
    import inspect

    import polyalign.grid as grid
    from polyalign.grid import GridPoint, run_grid
    from polyalign.recipe import load_recipe

    imported = {
        n.module for n in ast.walk(ast.parse(inspect.getsource(grid))) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not imported & {"polyalign.experiment", "polyalign.stages", "polyalign.pilot", "polyalign.arms"}
    cfg = load_recipe(None, [f"runs_dir={tmp_path}", "name=p", "arms=[]"])
    got = run_grid([GridPoint(cfg, _leave_summary, (cfg, "hello"))], "local", log=lambda _: None)
    assert got == {"p": {"said": "hello", "nproc": 1}}


def _leave_summary(cfg, said, nproc=1):
    import json

    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    (cfg.run_dir / "summary.json").write_text(json.dumps({"said": said, "nproc": nproc}))
    return {"said": said}


def _wait_for_sigint(cfg, ready, nproc=1):
    """A point that says it has started, then waits: only a signal ends it early."""
    import time
    from pathlib import Path

    Path(ready).write_text("started")
    time.sleep(60)
    return {}


_POINT_IN_BACKGROUND = """
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell without job control starts a background job
sys.path.insert(0, {tests!r})
from test_issue17 import _wait_for_sigint
from polyalign.grid import GridPoint, execute_point
from polyalign.recipe import load_recipe
cfg = load_recipe(None, ["runs_dir={tmp}", "name=p", "arms=[]"])
try:
    execute_point(GridPoint(cfg, _wait_for_sigint, (cfg, {ready!r})))
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.serial
def test_a_point_started_with_sigint_ignored_still_stops_on_a_cancel(tmp_path):
    """A submitit local job cancels with SIGINT; a process started in the background inherits SIGINT ignored,
    so a cancelled point trained on to its end. The point restores Python's handler and stops."""
    import time
    from pathlib import Path

    ready = tmp_path / "ready"
    code = _POINT_IN_BACKGROUND.format(tests=str(Path(__file__).parent), tmp=tmp_path, ready=str(ready))
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while not ready.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists(), "the point never started"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
