"""A finished run with arms, written by hand in the layout ``polyalign run`` leaves (JSON only).

The numbers are invented but shaped as the real files are; the report tests read nothing else.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import yaml

LANGS = ("es", "zh", "ru")
SENT_LANGS = ("de", "es", "fr", "ru", "zh", "ja")


def _w(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def _results(chrf: dict[str, float], sent: dict[str, float]) -> dict:
    res = {}
    for lang, v in chrf.items():
        res[f"translation/en-{lang}"] = {
            "chrf": v,
            "bleu": v / 3,
            "fidelity": 90.0,
            "chrf_signature": "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.5.1",
        }
        res[f"translation/{lang}-en"] = {"chrf": v + 5, "bleu": v / 2, "fidelity": 99.0}
    for lang, v in sent.items():
        res[f"polysent/{lang}"] = {"accuracy": v, "n": 50}
    return {"results": res}


ARMS = {
    "coit-es": ("coit", ["es"], "uniform", {"es": 30.0, "zh": 10.0, "ru": 12.0}),
    "coit-zh": ("coit", ["zh"], "uniform", {"es": 24.0, "zh": 15.0, "ru": 12.5}),
    "muit-uniform": ("muit", ["es", "zh", "ru"], "uniform", {"es": 29.5, "zh": 14.5, "ru": 16.0}),
    "muit-planned": ("muit", ["es", "zh", "ru"], "plan", {"es": 29.0, "zh": 15.5, "ru": 16.5}),
    "qalign-zh-de": ("qalign", ["zh", "de"], "uniform", {"es": 25.0, "zh": 11.0, "ru": 12.0}),
}
BASE_CHRF = {"es": 25.0, "zh": 10.0, "ru": 12.0}


ITEMS = 20  # items per translation direction in the samples
PAIRS = 16  # parallel pairs of the look inside


def _centred(n: int, sd: float, seed: str) -> list[float]:
    """``n`` seeded values of mean exactly 0: the samples' means equal the results' numbers."""
    rnd = random.Random(seed)
    v = [rnd.gauss(0.0, sd) for _ in range(n)]
    m = sum(v) / n
    return [x - m for x in v]


def _write_samples(folder: Path, results: dict, who: str) -> None:
    """``samples_<task>_<lang>.jsonl`` for every result: per-item chrF++ (base spread shared by every
    model, plus a small per-model one) or per-item correctness, as ``polyalign eval`` writes them."""
    for task, m in results["results"].items():
        if "chrf" in m:
            spread, own = _centred(ITEMS, 8.0, task), _centred(ITEMS, 2.0, who + task)
            rows = [{"id": i, "chrf": m["chrf"] + a + b} for i, (a, b) in enumerate(zip(spread, own))]
        else:
            # the items a model gets right start at a place of the task's own (the same for every model):
            # a parallel set's items are the same ids in every language, and what tuning flips differs by language
            right, start = round(m["accuracy"] * m["n"] / 100), zlib.crc32(task.encode()) % m["n"]
            rows = [{"id": i, "correct": (i - start) % m["n"] < right} for i in range(m["n"])]
        path = folder / f"samples_{task.replace('/', '_', 1)}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _layers(offset: float) -> list[dict]:
    return [
        {
            "layer": i,
            "cosine_parallel_centred": 0.1 + 0.05 * min(i, 6 - i) + offset,
            "retrieval_x2en": 0.2 + 0.1 * min(i, 6 - i) + offset,
            "pairs_cos_centred": [
                0.1 + 0.05 * min(i, 6 - i) + offset + e for e in _centred(PAIRS, 0.01 if offset else 0.0, f"pairs{i}")
            ],
        }
        for i in range(7)
    ]


def _lens(shift: float) -> list[dict]:
    return [
        {"layer": i, "p_en": 0.05 * i * (1 - shift), "p_lang": 0.02 * i * i * (1 + shift) / 6, "entropy": 8 - i}
        for i in range(7)
    ]


def write_finished_run(run_dir: Path, scaling: bool = True, analysis: bool = True) -> Path:
    """Write the artefacts of a finished five-arm run into ``run_dir``; return it."""
    recipe = {
        "name": run_dir.name,
        "runs_dir": str(run_dir.parent),
        "seed": 0,
        "model": {"model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct"},
        "arms": [{"name": n, "builder": b, "languages": ls, "allocation": al} for n, (b, ls, al, _) in ARMS.items()],
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    base = _results(BASE_CHRF, {x: 40.0 for x in SENT_LANGS})
    _w(run_dir / "eval" / "base" / "results.json", base)
    _write_samples(run_dir / "eval" / "base", base, "base")
    for k, (name, (builder, langs, _, chrf)) in enumerate(ARMS.items()):
        arm = run_dir / "arms" / name
        sent = {x: 40.0 + (6.0 if x in langs else 2.0 if builder == "qalign" else 0.5 * k) for x in SENT_LANGS}
        res = _results(chrf, sent)
        _w(arm / "eval" / "results.json", res)
        _write_samples(arm / "eval", res, name)
        _w(
            arm / "train_summary.json",
            {
                "finetuning_type": "lora",
                "steps": 20,
                "examples": 300 + k,
                "supervised_tokens": 9000 + k,
                "first_loss": 3.2,
                "last_loss": 1.9 - 0.1 * k,
                "losses": [3.2 - 0.06 * i - 0.01 * k * i for i in range(20)],
            },
        )
        _w(
            arm / "data" / "manifest.json",
            {
                "builder": builder,
                "files": {"train.jsonl": {"rows": 300 + k}},
                "languages": {
                    x: {"train_pairs": 100, "test_pairs": 40, "counts": {"read": 500, "kept": 400}} for x in langs
                },
            },
        )
        if analysis:  # the look inside reads every arm's alignment; the logit lens two of them
            _w(arm / "analysis" / "alignment.json", {"lang": "es", "layers": _layers(0.03)})
        if analysis and name in ("coit-es", "muit-uniform"):
            _w(arm / "analysis" / "lens.json", {"lang": "es", "layers": _lens(0.3)})
    if analysis:
        _w(run_dir / "analysis" / "base" / "alignment.json", {"lang": "es", "layers": _layers(0.0)})
        _w(run_dir / "analysis" / "base" / "lens.json", {"lang": "es", "layers": _lens(0.0)})
    if scaling:
        _w(
            run_dir / "scaling" / "fits.json",
            {
                "fits": {
                    "es": {"form": "power", "r2": 0.97, "sizes": [50, 100, 200], "scores": [26, 28, 29.5]},
                    "zh": {"form": "log", "r2": 0.93, "sizes": [50, 100, 200], "scores": [11, 13, 14]},
                }
            },
        )
        _w(
            run_dir / "scaling" / "plan.json",
            {
                "allocation": {"es": 120, "zh": 280},
                "budget": 400,
                "uniform": {"allocation": {"es": 200, "zh": 200}},
                "gain_over_uniform": 0.8,
            },
        )
    _w(run_dir / "timings.json", {"data": 12.0, "eval/base": 40.0, "train/coit-es": 95.0, "eval/coit-es": 41.0})
    return run_dir
