"""A refactor changes no result: `polyalign run --quick` with one arm gives the pinned ``summary.json``.

The smallest experiment that still builds data, tunes an arm and scores it against the untuned base
(tiny random Llama, one CoIT arm, held-out translation only) runs through the real command line; every
number of its ``summary.json`` must equal the pinned copy ``tests/fixtures/quick_summary.json`` (floats
within 1e-6 relative), with the same keys and the same strings. Two things are not results and are left
out of the comparison: the test's temporary folders in paths (written as ``<tmp>`` and ``<model>``) and
the measured times and speed (:data:`MEASURED`), which depend on the machine's load.

The pinned copy was written by this very scenario on the code before the refactor of issue 21. To pin it
again after a change that is *meant* to move the numbers, run this test with ``POLYALIGN_PIN_QUICK_SUMMARY=1``
(it writes the file and skips) and say why in the commit.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import spanish_locale

pytestmark = pytest.mark.slow

PINNED = Path(__file__).parent.parent / "fixtures" / "quick_summary.json"
REL_TOL = 1e-6
MEASURED = frozenset({"tokens_per_second", "timings", "model_files"})
"""Keys whose value is a measurement of this machine's speed (seconds per stage, tokens per second), not a
result of the run; and the checksums of the tiny model's files, which change with its serialisation (the
transformers version in its config.json), not with a result."""


def recipe_text(tmp_path: Path, model: Path) -> str:
    locale = spanish_locale(tmp_path / "locale")
    return f"""
name: pin
runs_dir: {tmp_path / "runs"}
seed: 0
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
train:
  lora_rank: 4
  per_device_train_batch_size: 4
  max_seq_length: 128
eval:
  batch_size: 8
  max_new_tokens: 8
"""


def normalized(doc: Any, folders: dict[str, str]) -> Any:
    """``doc`` with each folder in ``folders`` written as its name (``{"/tmp/x": "<tmp>"}``) and no
    :data:`MEASURED` key.

    >>> normalized({"a": "/tmp/x/runs", "tokens_per_second": 9.5, "b": [1.5]}, {"/tmp/x": "<tmp>"})
    {'a': '<tmp>/runs', 'b': [1.5]}
    """
    if isinstance(doc, dict):
        return {k: normalized(v, folders) for k, v in doc.items() if k not in MEASURED}
    if isinstance(doc, list):
        return [normalized(v, folders) for v in doc]
    if isinstance(doc, str):
        for folder, name in folders.items():
            doc = doc.replace(folder, name)
    return doc


def differences(got: Any, want: Any, where: str = "summary") -> list[str]:
    """Every place where ``got`` differs from ``want``: keys, lengths, strings, numbers beyond ``REL_TOL``.

    >>> differences({"a": [1.0, "x"]}, {"a": [1.0 + 1e-9, "x"]})
    []
    >>> differences({"a": 1.0, "b": 2}, {"a": 1.1, "c": 2})
    ['summary: keys only here: b; keys only pinned: c', 'summary.a: 1.0 != pinned 1.1']
    """
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        if set(got) != set(want):
            here, pinned = sorted(set(got) - set(want)), sorted(set(want) - set(got))
            out.append(f"{where}: keys only here: {', '.join(here)}; keys only pinned: {', '.join(pinned)}")
        for k in sorted(set(got) & set(want)):
            out += differences(got[k], want[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items != pinned {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(want, bool):
        if isinstance(got, bool) or not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=0.0):
            return [f"{where}: {got!r} != pinned {want!r}"]
        return []
    return [] if got == want else [f"{where}: {got!r} != pinned {want!r}"]


@pytest.mark.serial
def test_quick_summary_equals_the_pinned_one(tmp_path, tiny_model_dir):
    recipe = tmp_path / "pin.yaml"
    recipe.write_text(recipe_text(tmp_path, tiny_model_dir))
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", str(recipe), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "runs" / "pin-quick" / "summary.json").read_text())
    summary = normalized(doc, {str(tmp_path): "<tmp>", str(tiny_model_dir): "<model>"})
    if os.environ.get("POLYALIGN_PIN_QUICK_SUMMARY"):
        PINNED.parent.mkdir(parents=True, exist_ok=True)
        PINNED.write_text(json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        pytest.skip(f"pinned {PINNED}")
    want = json.loads(PINNED.read_text())
    diffs = differences(summary, want)
    assert not diffs, "\n".join(diffs)
