"""Every shipped recipe loads, and the data recipes build small versions of themselves."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.mixtures import build
from polyalign.recipe import load_recipe

RECIPES = sorted((Path(__file__).resolve().parents[3] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_loads(path):
    from polyalign.run_config import PilotConfig, RunConfig

    pilot = "\nscaling:" in path.read_text()  # a scaling pilot's recipe: a run recipe + a scaling section
    cfg = load_recipe(path, cls=PilotConfig if pilot else RunConfig)
    assert cfg.data.languages and (not pilot or cfg.scaling.sizes)


def test_qalign_recipe_builds(tmp_path):
    cfg = load_recipe(Path(RECIPES[0]).parent / "qalign_zh_de.yaml")
    m = build(tmp_path / "data", MixtureSpec.from_config(cfg.data))
    assert set(m["tasks"]) == {f"translation/{c}-en" for c in ("zh", "de", "es", "fr", "ru")}
    assert m["languages"]["zh"]["train_pairs"] == m["languages"]["de"]["train_pairs"] > 80


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_shipped_recipe_dry_runs_or_says_in_one_line_why_not(path, tmp_path):
    # `polyalign run recipes/qalign_zh_de.yaml --dry-run` raised StopIteration (a run without arms
    # was checked as if its languages came from an arm), and scaling_pilot.yaml a ValueError
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", str(path), "--dry-run", f"runs_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    if path.stem == "scaling_pilot":  # a pilot's recipe (builder coit over es and fr): `scaling pilot` runs it
        assert proc.returncode == 2
        assert proc.stderr == "error: builder 'coit' builds one language, data.languages names 2: use builder: muit\n"
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("run ")
    assert not any(tmp_path.iterdir())  # a dry run writes nothing
