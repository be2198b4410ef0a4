"""`polyalign data build` records the recipe's mixture spec in the manifest, and refuses one no builder can make."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import spanish_locale


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def recipe(tmp_path, languages: str) -> str:
    locale = spanish_locale(tmp_path / "locale")
    return f"""
name: spec
runs_dir: {tmp_path / "runs"}
data:
  builder: coit
  languages: {languages}
  gettext_dirs: [{locale}]
  instructions: []
  direction: x-en
  translation_ratio: 0.5
  min_words: 2
  language_id: false
  max_train_pairs: 30
  test_size: 4
  split_seed: 3
"""


def test_data_build_records_the_spec_it_built(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(recipe(tmp_path, "[es]"))
    proc = cli("data", "build", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "spec" / "data" / "manifest.json").read_text())
    spec = manifest["spec"]
    assert (spec["builder"], spec["languages"], spec["direction"], spec["seed"]) == ("coit", ["es"], "x-en", 3)
    assert (spec["max_train_pairs"], spec["test_size"], spec["translation_ratio"]) == (30, 4, 0.5)
    assert spec["gettext_dirs"] == [str(tmp_path / "locale")] and spec["instructions"] == []
    assert spec["pair_filter"] == manifest["filters"] and spec["pair_filter"]["min_words"] == 2
    assert manifest["languages"]["es"]["train_pairs"] == 30 and manifest["parts"] == {"translation": 15}


def test_a_coit_recipe_with_two_languages_is_one_error_and_no_data(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(recipe(tmp_path, "[es, fr]"))
    proc = cli("data", "build", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: builder 'coit' builds one language, data.languages names 2: use builder: muit"
    run = tmp_path / "runs" / "spec"
    assert not (run / "data").exists() and not (run / ".data-pool").exists()
