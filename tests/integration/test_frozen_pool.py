"""A run's inputs are fixed when it starts (issue 18): the frozen pool through the real command line.

Catalogs added to the locale tree after a run started change nothing in it (a resumed arm is built
from the frozen pool; one line says the sources changed); one snapshot gives two machines with
different catalogs byte-identical data; bad or damaged pools are one line and exit 2.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import _NOUNS, spanish_locale, write_mo


def run_cli(*args, cwd, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def more_catalogs(locale):
    """A second catalog of 96 new English→Spanish strings, as a package installed later would add."""
    verbs = [("Hide", "Ocultar"), ("Show", "Mostrar"), ("Lock", "Bloquear"), ("Sort", "Ordenar")]
    places = [("in the sidebar", "en la barra lateral"), ("on the desktop", "en el escritorio")]
    pairs = {f"{ve} the {ne} {pe}": f"{vs} {ns} {ps}" for ve, vs in verbs for ne, ns in _NOUNS for pe, ps in places}
    write_mo(locale / "es" / "LC_MESSAGES" / "later.mo", pairs)


def one_error_line(proc):
    """Exit 2 and one ``error:`` line, the last (progress lines may come before it), no traceback."""
    lines = proc.stderr.strip().splitlines()
    errors = [x for x in lines if x.startswith("error: ")]
    return proc.returncode == 2 and errors == lines[-1:] and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_resumed_run_keeps_its_frozen_inputs_when_the_catalogs_change(tmp_path, tiny_model_dir):
    locale = spanish_locale(tmp_path / "locale")
    recipe = tmp_path / "exp.yaml"
    recipe.write_text(
        f"""
name: exp
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {tiny_model_dir}
data:
  languages: [es]
  gettext_dirs: [{locale}]
  instructions: []
  max_train_pairs: 200
  test_size: 12
arms:
  - {{name: coit-es, builder: coit, languages: [es]}}
  - {{name: muit-uniform, builder: muit, languages: [es], allocation: uniform, pair_budget: 40}}
train:
  lora_rank: 4
  per_device_train_batch_size: 4
  max_steps: 20
  max_seq_length: 128
eval:
  batch_size: 8
  max_new_tokens: 8
"""
    )
    first = run_cli("run", str(recipe), "--quick", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    run = tmp_path / "runs" / "exp-quick"
    pool = json.loads((run / "data" / "pool" / "pool.json").read_text())
    assert pool["languages"]["es"]["pairs"] == 360
    shared = json.loads((run / "data" / "manifest.json").read_text())
    assert shared["pool"]["sha256"] == pool["sha256"]
    tests = {p.name: p.read_bytes() for p in (run / "data").glob("test_*.jsonl")}
    assert set(tests) == {"test_en-es.jsonl"}
    arm = run / "arms" / "muit-uniform"
    assert json.loads((arm / "data" / "manifest.json").read_text())["pool"]["sha256"] == pool["sha256"]
    train = (arm / "data" / "train.jsonl").read_bytes()
    before = json.loads((run / "summary.json").read_text())["arms"]

    # a package installed on the machine adds catalogs; one arm is lost and must be built again
    more_catalogs(locale)
    import shutil

    shutil.rmtree(arm)
    again = run_cli("run", str(recipe), "--quick", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "data: sources changed since this run started (es: 1 → 2 catalogs); using the frozen pool" in again.stderr
    assert {p.name: p.read_bytes() for p in (run / "data").glob("test_*.jsonl")} == tests
    assert (arm / "data" / "train.jsonl").read_bytes() == train
    after = json.loads((run / "summary.json").read_text())["arms"]
    assert after["coit-es"] == before["coit-es"]
    assert after["muit-uniform"]["results"] == before["muit-uniform"]["results"]

    # read afresh, the sources would now give other data: the frozen pool is what kept it the same
    fresh = run_cli(
        "data", "build", str(recipe), "name=fresh", "builder=muit", "pair_budget=40", "max_train_pairs=24",
        "test_size=6", cwd=tmp_path,
    )  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    rebuilt = json.loads((tmp_path / "runs" / "fresh" / "data" / "manifest.json").read_text())
    assert rebuilt["languages"]["es"]["counts"]["read"] == 456 and rebuilt["languages"]["es"]["train_pairs"] == 24
    assert (tmp_path / "runs" / "fresh" / "data" / "train.jsonl").read_bytes() != train

    # reading the sources again in this run is refused: its results were built on the frozen data
    refresh = run_cli("run", str(recipe), "--quick", "--refresh-data", cwd=tmp_path, timeout=120)
    assert one_error_line(refresh), refresh.stderr[-2000:]
    assert "--refresh-data:" in refresh.stderr and "start a new run (name=...)" in refresh.stderr
    assert (run / "data" / "pool" / "pool.json").read_text() == json.dumps(pool, indent=2, ensure_ascii=False) + "\n"


def test_one_snapshot_gives_two_machines_the_same_data(tmp_path):
    tree_a = spanish_locale(tmp_path / "a")
    tree_b = spanish_locale(tmp_path / "b")
    more_catalogs(tree_b)
    recipe = tmp_path / "data.yaml"
    recipe.write_text(f"data:\n  languages: [es]\n  gettext_dirs: [{tree_a}]\n  test_size: 6\n  max_train_pairs: 40\n")
    snap = tmp_path / "snap"
    made = run_cli("data", "snapshot", str(recipe), "-o", str(snap), cwd=tmp_path, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    printed = json.loads(made.stdout)
    assert printed["pairs"] == {"es": 360}
    assert printed["sha256"] == json.loads((snap / "pool.json").read_text())["sha256"]

    def build(name, tree, *extra):
        proc = run_cli(
            "data", "build", str(recipe), f"name={name}", f"runs_dir={tmp_path / 'runs'}", f"gettext_dirs=[{tree}]",
            *extra, cwd=tmp_path, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        return tmp_path / "runs" / name / "data"

    a = build("a", tree_a, f"data.pool={snap}")
    b = build("b", tree_b, f"data.pool={snap}")
    for name in ("train.jsonl", "test_en-es.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert json.loads((b / "manifest.json").read_text())["pool"]["sha256"] == printed["sha256"]
    assert not (b / "pool").exists()  # a named pool is read where it is
    # without the snapshot, machine b's catalogs give other data
    c = build("c", tree_b)
    assert (c / "train.jsonl").read_bytes() != (a / "train.jsonl").read_bytes()
    assert json.loads((c / "pool" / "pool.json").read_text())["languages"]["es"]["pairs"] == 456

    # --languages instead of a recipe
    other = run_cli("data", "snapshot", "--languages", "es", "--gettext-dir", str(tree_b), "-o", "snap-b", cwd=tmp_path)
    assert other.returncode == 0 and json.loads(other.stdout)["pairs"] == {"es": 456}

    # bad input: one line, exit 2, nothing written
    missing = run_cli("data", "build", str(recipe), f"data.pool={tmp_path / 'nope'}", "name=x", cwd=tmp_path)
    assert one_error_line(missing) and "data.pool" in missing.stderr and "polyalign data snapshot" in missing.stderr
    assert f"data.pool: {tmp_path / 'nope'}: no such folder" in missing.stderr
    (tmp_path / "notapool").mkdir()
    other = run_cli("data", "build", str(recipe), f"data.pool={tmp_path / 'notapool'}", "name=y", cwd=tmp_path)
    assert one_error_line(other) and f"data.pool: {tmp_path / 'notapool'} is not a frozen pool" in other.stderr
    taken = run_cli("data", "snapshot", "--languages", "es", "-o", str(snap), cwd=tmp_path)
    assert one_error_line(taken) and "choose another -o" in taken.stderr
    # it had said the folder "is not a frozen pool polyalign made", of the pool polyalign had just made
    assert f"error: {snap}: already holds a frozen pool (es), which is never changed" in taken.stderr
    gz = snap / "es.jsonl.gz"
    gz.write_bytes(gz.read_bytes()[:100])
    damaged = run_cli(
        "data", "build", str(recipe), f"data.pool={snap}", "name=d", f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path
    )
    assert one_error_line(damaged), damaged.stderr
    assert damaged.stderr.strip().splitlines()[-1].startswith(f"error: {gz}: does not match the sha256")
    assert not (tmp_path / "runs" / "d" / "data").exists() and not (tmp_path / "runs" / "x").exists()
