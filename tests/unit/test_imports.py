"""Light modules must start fast: they may not import torch or transformers."""

import subprocess
import sys

LIGHT = [
    "polyalign.cli",
    "polyalign.config",
    "polyalign.io",
    "polyalign.langs",
    "polyalign.report",
    "polyalign.data.records",
    "polyalign.data.filters",
    "polyalign.data.templates",
    "polyalign.data.sources",
    "polyalign.data.build",
    "polyalign.data.builders",
    "polyalign.data.formats",
    "polyalign.data.polyinstruct",
    "polyalign.data.translate",
    "polyalign.eval.mt",
    "polyalign.eval.metrics",
    "polyalign.eval.prompts",
    "polyalign.eval.sources",
    "polyalign.eval.tasks",
    "polyalign.eval.judge",
    "polyalign.data.train_file",
    "polyalign.train.main",
    "polyalign.train.export",
]


def test_light_modules_do_not_import_torch_or_transformers():
    code = "import sys\n" + "".join(f"import {m}\n" for m in LIGHT) + (
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
