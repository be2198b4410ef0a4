"""Every shipped recipe loads, and the data recipes build small versions of themselves."""

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
