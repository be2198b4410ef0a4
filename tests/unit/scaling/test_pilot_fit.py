"""The pilot's fit and plan from finished points (no training): ``scaling.fit: shared`` in a recipe."""

from __future__ import annotations

import json

import pytest

from polyalign.arms import check_pilot, pilot_recipes
from polyalign.io import InputError
from polyalign.pilot import fit_and_plan
from polyalign.recipe import load_recipe
from polyalign.run_config import PilotConfig
from polyalign.stages import pilot_points

RECIPE = """
name: pilot
runs_dir: {root}/runs
model:
  model_name_or_path: {root}/model
data:
  languages: [es, fr]
scaling:
  sizes: [100, 200, 400, 800]
  similarity: [es=0.9]
  fit: {fit}
  form: {form}
  bootstrap: 50
  budget: 2000
"""


def config(tmp_path, fit="shared", form="auto"):
    path = tmp_path / "pilot.yaml"
    path.write_text(RECIPE.format(root=tmp_path, fit=fit, form=form))
    return load_recipe(path, cls=PilotConfig)


def test_recipe_fit_shared_fits_one_alpha_beta_and_fits_the_missing_gamma(tmp_path):
    cfg = config(tmp_path)
    points = pilot_points(cfg)
    check_pilot(cfg, pilot_recipes(cfg))
    gamma = {"es": 0.9, "fr": 0.5}
    summaries = {
        p.name: {
            "after": {
                f"translation/en-{p.labels['lang']}": {
                    "chrf": 100 - 80 * (gamma[p.labels["lang"]] * p.labels["size"]) ** -0.3,
                    "bleu": 1.0,
                }
            }
        }
        for p in points
    }
    lines: list[str] = []
    out = fit_and_plan(cfg, points, summaries, tmp_path / "scaling", lines.append)
    doc = json.loads((tmp_path / "scaling" / "fits.json").read_text())
    assert doc["settings"]["fit"] == "shared" and doc["shared"]["alpha"] == pytest.approx(80.0, rel=1e-6)
    assert doc["fits"]["fr"]["gamma"] == pytest.approx(0.5, rel=1e-6) and doc["fits"]["fr"]["gamma_source"] == "fitted"
    assert lines[0] == "pilot: shared fit over es, fr: α 80, β -0.3; γ es 0.9 (given), fr 0.5 (fitted)"
    plan = out["plan"]
    assert plan["allocation"]["fr"] > plan["allocation"]["es"] and sum(plan["allocation"].values()) == 2000
    assert any(line.startswith("pilot: fr: xllama alpha=80, beta=-0.3, γ=0.5 (fitted), R² 1.000") for line in lines)


def test_recipe_fit_shared_with_another_form_is_refused_before_any_work(tmp_path):
    cfg = config(tmp_path, form="log")
    with pytest.raises(InputError, match="^scaling.fit: shared fits the xllama form; scaling.form is log$"):
        check_pilot(cfg, pilot_recipes(cfg))
