"""The benchmarks still run: each one, at a tiny size, ends with a parseable ``ratio X`` line.

Timings are not checked here (they belong in BENCHMARKS.md); what is checked is that the
scripts work against the current API and that what they compare is the same work on both sides.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(name: str, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ratio \d+\.\d\d", last), last
    assert float(last.split()[1]) > 0
    return proc.stdout


def test_data_build_benchmark_selects_the_same_pairs_on_both_sides():
    out = run_benchmark("data_build.py", "--pairs", "3000", "--train", "400", "--test", "50")
    assert "same selection: True" in out


def test_train_throughput_benchmark_trains_both_sides_on_the_same_examples(tiny_model_dir):
    out = run_benchmark(
        "train_throughput.py", "--examples", "6", "--threads", "1", "--model", str(tiny_model_dir), "--orders", "1"
    )
    m = re.search(r"data: (\d+) CoIT examples", out)
    assert m and int(m.group(1)) >= 2000, out[:500]
    sides = re.findall(r"^(polyalign|Trainer\+peft)\s+[\d.]+ supervised tok/s\s+\((\d+) supervised of", out, flags=re.M)
    assert {s for s, _ in sides} == {"polyalign", "Trainer+peft"}, out
    assert len({n for _, n in sides}) == 1, sides  # both sides learn from the same supervised tokens
    losses = [float(x) for x in re.findall(r"held-out loss ([\d.]+)$", out, flags=re.M)]
    assert len(losses) >= 2 and all(0 < x < 20 for x in losses), out  # each tuned model scored on the held-out set
    if importlib.util.find_spec("trl") is not None:  # the stronger peer, with the [bench] extra
        trl = re.search(r"^TRL SFTTrainer\s+[\d.]+ supervised tok/s\s+\((\d+) supervised of", out, flags=re.M)
        assert trl and trl.group(1) == sides[0][1], out
        assert re.search(r"^vs TRL: ratio [\d.]+ \(target >= 1.5\)", out, flags=re.M), out
        # the losses are compared on the same held-out examples, with an interval
        held = r"held-out loss polyalign − TRL [+-][\d.]+ \[[+-][\d.]+, [+-][\d.]+\] over 32 examples"
        assert re.search(held, out), out
        # and against the noise of the batch order: polyalign again on the same examples in another order
        orders = r"^held-out loss of polyalign over 2 orders of the same examples: ([\d.]+), ([\d.]+) "
        order = re.search(orders, out, flags=re.M)
        assert order and all(0 < float(x) < 20 for x in order.groups()), out
        # where TRL's packing gives it another number of optimizer steps, polyalign is trained again to that number
        matched = re.search(r"^polyalign in (\d+) steps \(TRL's (\d+)\)", out, flags=re.M)
        steps = re.search(r"; (\d+) TRL steps\)$", out, flags=re.M)
        assert steps, out
        assert matched is None or matched.group(1) == matched.group(2) == steps.group(1), out
    else:
        assert "TRL: not installed" in out


@pytest.mark.skipif(
    importlib.util.find_spec("lm_eval") is None, reason="needs the [bench] extra (lm-evaluation-harness)"
)
def test_eval_benchmark_agrees_with_lm_evaluation_harness():
    out = run_benchmark(
        "eval_vs_lm_eval.py", "--n-cls", "24", "--n-gen", "4", "--shots", "1", "--max-new-tokens", "8", "--threads", "1"
    )
    assert "accuracies agree within 1 point: yes" in out


def test_analysis_overhead_benchmark_times_both_sides_on_the_same_sentences():
    out = run_benchmark("analysis_overhead.py", "--pairs", "16", "--batch-size", "8", "--threads", "1")
    assert re.search(r"^data: 16 en-es gettext pairs, 32 sentences, \d+ tokens", out, flags=re.M), out[:500]
    assert re.search(r"^forward alone\s+[\d.]+ s", out, flags=re.M) and re.search(
        r"^analyze align\s+[\d.]+ s", out, flags=re.M
    )


def test_eval_speed_benchmark_gives_the_same_answers_on_both_sides(tiny_model_dir):
    out = run_benchmark(
        "eval_speed.py",
        "--model",
        str(tiny_model_dir),
        "--langs",
        "es,zh",
        "--limit",
        "3",
        "--max-new-tokens",
        "8",
        "--threads",
        "1",
    )
    assert re.search(r"^polyqa/es\s+[\d.]+\s+[\d.]+", out, flags=re.M) and re.search(r"^polyqa/zh ", out, flags=re.M)
    assert re.search(r"^polysent/zh ", out, flags=re.M) and "prefixes reused: 2" in out
    assert "same answers and scores: True" in out
