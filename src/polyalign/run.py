"""``polyalign run``: data → baseline evaluation → tuning → evaluation → report.

Each stage writes into the run directory and is skipped when its output is already there, so an
interrupted run, started again with the same recipe, resumes where it stopped (training resumes
from its latest checkpoint). A run directory holding a different recipe is never overwritten.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from polyalign.config import RunConfig
from polyalign.io import InputError, atomic_write, read_json, write_json
from polyalign.recipe import config_to_dict, dump_recipe


def _log(msg: str) -> None:
    print(f"[polyalign] {msg}", file=sys.stderr, flush=True)


def prepare_run_dir(cfg: RunConfig) -> Path:
    """Create ``output_dir/name`` with ``config.yaml``; refuse one made by a different recipe."""
    run_dir = cfg.run_dir
    path = run_dir / "config.yaml"
    if path.is_file():
        old = yaml.safe_load(path.read_text(encoding="utf-8"))
        if old != config_to_dict(cfg):
            raise InputError(
                "this run directory was made by a different recipe; choose another name=... or remove it",
                path,
            )
    else:
        with atomic_write(path) as f:
            f.write(dump_recipe(cfg))
    return run_dir


def stage_data(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Build the recipe's alignment data into ``run_dir/data`` (skipped when already built)."""
    from polyalign.data.mixtures import build_from_config

    manifest_path = run_dir / "data" / "manifest.json"
    if manifest_path.is_file():
        _log("data: already built")
        return read_json(manifest_path)
    d = cfg.data
    _log(f"data: building {d.builder} data for {', '.join(d.languages)} from {', '.join(d.sources)} "
         f"+ instructions {', '.join(d.instructions) or 'none'}")
    manifest = build_from_config(run_dir / "data", d)
    for code, info in manifest["languages"].items():
        c = info["counts"]
        dropped = {k.removeprefix("dropped_"): v for k, v in c.items() if k.startswith("dropped_") and v}
        _log(f"data: {code}: read {c.get('read', 0)} pairs from {len(info['sources'])} sources, kept {c.get('kept', 0)}, "
             f"train {info['train_pairs']}, test {info['test_pairs']}; dropped {dropped}")
    _log(f"data: {manifest['files']['train.jsonl']['rows']} training examples: {manifest['parts']}")
    return manifest


def stage_eval(cfg: RunConfig, run_dir: Path, stage: str, model, tokenizer, manifest: dict,
               tuned: Path | None = None) -> dict[str, Any]:
    """Evaluate the held-out translation tasks and, when the recipe names one, the ``eval.suite``.

    Returns the translation results document, with the suite's results (``eval/<stage>/suite/``)
    merged into its ``results``. Finished parts are not run again. ``tuned``: the saved result of
    tuning (a LoRA adapter or a full model), recorded in the suite's request.
    """
    from polyalign.eval.runner import request_from_recipe, run_eval, run_translation_suite

    results_path = run_dir / "eval" / stage / "results.json"
    if results_path.is_file():
        _log(f"eval/{stage}: translation already done")
        doc = read_json(results_path)
    else:
        _log(f"eval/{stage}: {', '.join(manifest['tasks'])}")
        files = {task: run_dir / "data" / fname for task, fname in manifest["tasks"].items()}
        doc = run_translation_suite(
            model,
            tokenizer,
            files,
            run_dir / "eval" / stage,
            model_name=cfg.model.model_name_or_path,
            seed=cfg.seed,
            batch_size=cfg.eval.batch_size,
            max_new_tokens=cfg.eval.max_new_tokens,
            limit=cfg.eval.limit,
            extra_config={"stage": stage},
        )
    if cfg.eval.suite:
        _log(f"eval/{stage}: suite {', '.join(cfg.eval.suite)}")
        lora = cfg.train.finetuning_type == "lora"
        req = request_from_recipe(cfg, run_dir / "eval" / stage / "suite",
                                  adapter=str(tuned) if tuned and lora else None,
                                  model=str(tuned) if tuned and not lora else None)
        suite = run_eval(req, model, tokenizer)
        doc = {**doc, "results": {**doc["results"], **suite["results"]}}
    return doc


def stage_train(cfg: RunConfig, run_dir: Path, model, tokenizer) -> tuple[Any, dict[str, Any]]:
    """Tune and save the result to ``run_dir/model``; when it is there already, load it."""
    import torch

    from polyalign.io import iter_jsonl
    from polyalign.train.job import describe_counts, encode_examples, summarize
    from polyalign.train.loop import fit

    final = run_dir / "model"
    info_path = run_dir / "train_summary.json"
    if info_path.is_file() and final.is_dir():
        _log("train: already done")
        if cfg.train.finetuning_type == "lora":
            from polyalign.models import load_adapter

            model = load_adapter(model, final)
        else:
            from polyalign.models import load_model

            model, _ = load_model(str(final), cfg.model.dtype)
        return model, read_json(info_path)

    source = run_dir / "data" / "train.jsonl"
    examples = [row for _, row in iter_jsonl(source)]
    encoded, counts = encode_examples(tokenizer, examples, cfg.train, source)
    _log(f"train: {cfg.train.finetuning_type}, {describe_counts(counts, cfg.train)}")
    torch.manual_seed(cfg.seed)
    model, result = fit(model, tokenizer, encoded, cfg.train, run_dir, seed=cfg.seed,
                        resume=cfg.train.resume_from_checkpoint or "latest", attn_implementation=cfg.model.attn_implementation)
    info = summarize(cfg.train, result, counts, world=1)
    write_json(info_path, info)
    return model, info


SUMMARY_METRICS = ("chrf", "bleu", "accuracy", "exact_match", "f1", "fidelity")


def summarize(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"before": {TASK: {"chrf", "bleu", "fidelity"}}, "after": {...}}`` from two results documents.

    Translation tasks carry ``chrf``, ``bleu`` and ``fidelity`` (the percent of outputs written in
    the target language; ``None`` when the language identifier is not installed); suite tasks
    carry whichever of ``accuracy``, ``exact_match``, ``f1`` and ``fidelity`` they measure.
    """

    def pick(doc: dict[str, Any]) -> dict[str, dict[str, float | None]]:
        out = {}
        for task, m in doc["results"].items():
            keys = ("chrf", "bleu", "fidelity") if task.startswith("translation/") else SUMMARY_METRICS
            out[task] = {k: m.get(k) for k in keys if k in m or k == "fidelity"}
        return out

    return {"before": pick(before), "after": pick(after)}


def run(cfg: RunConfig) -> dict[str, Any]:
    """Run every stage of a recipe; return the summary (also written to ``summary.json``)."""
    import torch

    from polyalign.models import load_model
    from polyalign.report import markdown, plots

    # --- setup ------------------------------------------------------------------------------
    run_dir = prepare_run_dir(cfg)
    _log(f"run: {run_dir}")
    manifest = stage_data(cfg, run_dir)

    # --- baseline, tuning, evaluation ---------------------------------------------------------
    torch.manual_seed(cfg.seed)
    _log(f"model: loading {cfg.model.model_name_or_path}")
    model, tokenizer = load_model(cfg.model.model_name_or_path, cfg.model.dtype, cfg.model.trust_remote_code)
    before = stage_eval(cfg, run_dir, "before", model, tokenizer, manifest) if cfg.eval.baseline else {"results": {}}
    model, training = stage_train(cfg, run_dir, model, tokenizer)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()  # faster generation; training is over
    after = stage_eval(cfg, run_dir, "after", model, tokenizer, manifest, tuned=run_dir / "model")

    # --- report -------------------------------------------------------------------------------
    summary = summarize(before, after)
    write_json(run_dir / "summary.json", summary)
    plot = "loss.png" if plots.loss_plot(training["losses"], run_dir / "loss.png") else None
    markdown.write_markdown(run_dir / "report.md", cfg.name, cfg.model.model_name_or_path, {
        stage: {t: {**m} for t, m in doc["results"].items()} for stage, doc in (("before", before), ("after", after))
    }, manifest, training, plot)
    print(markdown.table_text(summary))
    print(f"\nreport: {run_dir / 'report.md'}")
    return summary
