"""Read a run directory's JSON artefacts into one plain document: what the report shows.

Two layouts are read. A run with arms (``eval/base/``, ``arms/<arm>/``, DESIGN.md's run
directory) and a plain run (one tuned model in the run directory root: ``eval/before/``,
``eval/after/``). Both become the same document::

    {"name", "model", "recipe", "timings": {stage: seconds},
     "base": {TASK: {metric: value, ...}},
     "arms": {ARM: {"builder", "languages", "allocation", "results", "train", "data"}},
     "analysis": {"lang", "base": {"alignment", "lens"}, "arms": {ARM: {...}}} | None,
     "scaling": {"fits", "plan"} | None,
     "not_run": {ARM: why},
     "items": {"base": {TASK: [ITEM]}, "arms": {ARM: {TASK: [ITEM]}}}}

``items`` are the per-item rows of each evaluation's ``samples_<task>_<lang>.jsonl`` (id, output,
reference, the detected language and the per-item scores), so every claim compares the base and the arms *paired*, on
the same items; the metrics keep their intervals (``*_ci``) and standard errors (``*_stderr``).

Nothing here loads a model: JSON and YAML only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from polyalign.io import InputError, iter_jsonl, read_json

METRIC_KEYS = ("chrf", "bleu", "comet", "accuracy", "exact_match", "f1", "fidelity")
SIGNATURE_KEYS = ("chrf_signature", "bleu_signature", "comet_signature", "n", "num_fewshot", "template")
# Per-item fields kept from the samples: the text a corpus metric is recomputed from, the language the
# output was identified as (fidelity), and the scores.
ITEM_TEXT = ("id", "output", "reference", "detected_lang")
ITEM_SCORES = ("chrf", "comet", "f1", "exact_match", "correct")
CLASSIFICATION_KEYS = ("majority_baseline", "majority_label", "constant_prediction")
"""What tells whether a classification accuracy could move: the majority-label baseline of the
items and the one label a model gave every item (absent when it gave several)."""
TRAIN_KEYS = (
    "finetuning_type",
    "steps",
    "examples",
    "supervised_tokens",
    "tokens_per_second",
    "first_loss",
    "last_loss",
    "losses",
    "train_seconds",
)


def is_run(run_dir: Path) -> bool:
    """A folder ``polyalign run`` made: it holds ``config.yaml`` and some evaluation."""
    return (run_dir / "config.yaml").is_file() and (
        (run_dir / "eval").is_dir() or (run_dir / "arms").is_dir() or (run_dir / "summary.json").is_file()
    )


def pick_metrics(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{task: {metric: value}}`` with the measured metrics and what produced them (signatures)."""
    out = {}
    for task, m in results.items():
        if not isinstance(m, dict):
            continue
        row = {k: m[k] for k in METRIC_KEYS if m.get(k) is not None}
        row |= {k: v for k, v in m.items() if k.endswith(("_ci", "_stderr")) and v is not None}  # intervals
        row |= {k: m[k] for k in (*SIGNATURE_KEYS, *CLASSIFICATION_KEYS) if m.get(k) is not None}
        if any(k in row for k in METRIC_KEYS):
            out[task] = row
    return out


def _results(folder: Path) -> dict[str, Any] | None:
    """Results of one evaluation folder: translation ``results.json`` merged with the suite's."""
    found = None
    for path in (folder / "results.json", folder / "suite" / "results.json"):
        if path.is_file():
            found = {**(found or {}), **pick_metrics(read_json(path).get("results", {}))}
    return found


def _item(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ITEM_TEXT if k in row}
    out |= {k: float(row[k]) for k in ITEM_SCORES if isinstance(row.get(k), (int, float))}
    return out


def _items(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """``{task: [item]}`` from the samples beside each results file of an evaluation folder."""
    found: dict[str, list[dict[str, Any]]] = {}
    for sub in (folder, folder / "suite"):
        path = sub / "results.json"
        if not path.is_file():
            continue
        for task in read_json(path).get("results", {}):
            samples = sub / f"samples_{task.replace('/', '_', 1)}.jsonl"
            if samples.is_file():
                found[task] = [_item(r) for _, r in iter_jsonl(samples)]
    return found


def _optional(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def _data_counts(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    if not manifest:
        return None
    langs = {
        code: {
            "train_pairs": info.get("train_pairs", 0),
            "test_pairs": info.get("test_pairs", 0),
            "kept": info.get("counts", {}).get("kept"),
            "read": info.get("counts", {}).get("read"),
        }
        for code, info in manifest.get("languages", {}).items()
    }
    rows = manifest.get("files", {}).get("train.jsonl", {}).get("rows")
    return {
        "builder": manifest.get("builder"),
        "train_examples": rows,
        "parts": manifest.get("parts"),
        "languages": langs,
    }


def _train(folder: Path) -> dict[str, Any] | None:
    info = _optional(folder / "train_summary.json")
    if info is None:
        return None
    out = {k: info[k] for k in TRAIN_KEYS if k in info}
    log = folder / "train_log.jsonl"
    if "losses" not in out and log.is_file():
        import json

        out["losses"] = [json.loads(line)["loss"] for line in log.read_text(encoding="utf-8").splitlines() if line]
    return out


def _analysis(folder: Path) -> dict[str, Any] | None:
    found = {k: read_json(folder / f"{k}.json") for k in ("alignment", "lens") if (folder / f"{k}.json").is_file()}
    return found or None


def _model_files(run_dir: Path) -> dict[str, Any] | None:
    """What the run's model resolved to, as ``model.json`` recorded it: where from, and the sha256 of its
    files and of each (not this machine's folder or file times); ``None`` when not recorded."""
    found = _optional(run_dir / "model.json")
    if not (isinstance(found, dict) and found.get("source") and found.get("sha256")):
        return None
    files = found.get("files") if isinstance(found.get("files"), dict) else {}
    return {
        "source": found["source"],
        "sha256": found["sha256"],
        "files": {n: f.get("sha256") for n, f in sorted(files.items()) if isinstance(f, dict)},
    }


def collect(run_dir: str | Path) -> dict[str, Any]:
    """The report document of ``run_dir``; :class:`InputError` when it is not a run."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError("is a file, expected a run directory", run_dir)
    if not run_dir.is_dir():
        raise InputError("no such run directory", run_dir)
    if not is_run(run_dir):
        raise InputError("not a polyalign run directory (no config.yaml with evaluations beside it)", run_dir)
    try:
        recipe = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise InputError("config.yaml is not valid YAML", run_dir / "config.yaml") from None
    if not isinstance(recipe, dict):
        raise InputError("config.yaml is not a recipe", run_dir / "config.yaml")
    doc: dict[str, Any] = {
        "name": recipe.get("name", run_dir.name),
        "model": recipe.get("model", {}).get("model_name_or_path"),
        "model_files": _model_files(run_dir),
        "recipe": recipe,
        "timings": _optional(run_dir / "timings.json") or {},
        "base": None,
        "arms": {},
        "analysis": None,
        "scaling": None,
        "judge": None,
        "not_run": {},
        "items": {"base": {}, "arms": {}},
    }
    arms_cfg = {a["name"]: a for a in recipe.get("arms") or [] if isinstance(a, dict) and "name" in a}
    if arms_cfg or (run_dir / "arms").is_dir():
        doc["base"] = _results(run_dir / "eval" / "base")
        doc["items"]["base"] = _items(run_dir / "eval" / "base")
        for name in arms_cfg or sorted(p.name for p in (run_dir / "arms").iterdir() if p.is_dir()):
            folder = run_dir / "arms" / name
            spec = arms_cfg.get(name, {})
            arm = {
                "builder": spec.get("builder"),
                "languages": spec.get("languages", []),
                "allocation": spec.get("allocation", "uniform"),
                "results": _results(folder / "eval"),
                "train": _train(folder),
                "data": _data_counts(_optional(folder / "data" / "manifest.json")),
            }
            if arm["results"] is None and arm["train"] is None:
                skipped = _optional(folder / "not_run.json")
                doc["not_run"][name] = (skipped or {}).get("reason", "not run")
                continue
            doc["arms"][name] = arm
            doc["items"]["arms"][name] = _items(folder / "eval")
        base_an = _analysis(run_dir / "analysis" / "base")
        arm_an = {n: a for n in doc["arms"] if (a := _analysis(run_dir / "arms" / n / "analysis"))}
    else:  # a plain run: one tuned model in the root
        doc["base"] = _results(run_dir / "eval" / "before")
        data = recipe.get("data", {})
        arm = {
            "builder": data.get("builder"),
            "languages": data.get("languages", []),
            "allocation": data.get("allocation", "uniform"),
            "results": _results(run_dir / "eval" / "after"),
            "train": _train(run_dir),
            "data": _data_counts(_optional(run_dir / "data" / "manifest.json")),
        }
        doc["items"]["base"] = _items(run_dir / "eval" / "before")
        if arm["results"] is not None or arm["train"] is not None:
            name = f"{arm['builder'] or 'tuned'}-{'-'.join(arm['languages'])}"
            doc["arms"][name] = arm
            doc["items"]["arms"][name] = _items(run_dir / "eval" / "after")
        base_an = _analysis(run_dir / "analysis" / "base")
        arm_an = {n: a for n in doc["arms"] if (a := _analysis(run_dir / "analysis"))}
    if base_an or arm_an:
        lang = next(
            (d.get("lang") for a in [base_an or {}, *arm_an.values()] for d in a.values() if d.get("lang")), None
        )
        doc["analysis"] = {"lang": lang, "base": base_an or {}, "arms": arm_an}
    fits, plan = _optional(run_dir / "scaling" / "fits.json"), _optional(run_dir / "scaling" / "plan.json")
    if fits or plan:
        doc["scaling"] = {"fits": fits, "plan": plan}
    doc["judge"] = _optional(run_dir / "judge" / "results.json")
    return doc
