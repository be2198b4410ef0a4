"""Light modules must start fast: they may not import torch or transformers.

The rule (DESIGN.md): every module is light except the model code named in ``HEAVY``; a new
module is therefore checked the moment it exists, with no list to keep up to date.
"""

import pkgutil
import subprocess
import sys

import polyalign

# Modules that exist to run a model. Everything else in the package must import without torch.
HEAVY = (
    "polyalign.models",
    "polyalign.train.loop",
    "polyalign.train.batching",
    "polyalign.train.checkpoint",
    "polyalign.train.distributed",
    "polyalign.train.kernels",
    "polyalign.eval.generate",
    "polyalign.eval.prefix",
    "polyalign.eval.scoring",
    "polyalign.eval.runner",
    "polyalign.data.translate_models",
    "polyalign.analysis.capture",
    "polyalign.analysis.lens",
)


def light_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(polyalign.__path__, "polyalign.")]
    return sorted(n for n in names if n not in HEAVY and n != "polyalign.__main__")


def test_the_rule_finds_the_light_modules():
    light = light_modules()
    for expected in (
        "polyalign.cli",
        "polyalign.recipe",
        "polyalign.data.records",
        "polyalign.eval.metrics",
        "polyalign.report.markdown",
        "polyalign.train.job",
    ):
        assert expected in light
    assert not set(light) & set(HEAVY)


def test_light_modules_do_not_import_torch_or_transformers():
    light = light_modules()
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in light)
        + ("heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\nprint(','.join(heavy))\n")
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"light modules imported {proc.stdout.strip()}"
