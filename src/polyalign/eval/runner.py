"""Run evaluation tasks on a model and write ``results.json`` plus per-sample files.

The layout follows lm-evaluation-harness: ``{"results": {TASK: {metric: value, ...}},
"config": {...}}``, and one ``samples_<task>_<pair>.jsonl`` per task with the prompt, the
output, the reference and the per-sample score, so any number can be traced to its examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data import templates
from polyalign.eval import mt
from polyalign.eval.generate import chat_prompt, generate
from polyalign.io import iter_jsonl, provenance, write_json, write_jsonl


def load_pairs(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Parallel test pairs (``src``, ``tgt``, ``src_lang``, ``tgt_lang``) from a JSONL file."""
    rows = []
    for _, row in iter_jsonl(path):
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


def evaluate_translation(
    model: Any,
    tokenizer: Any,
    task: str,
    pairs: list[dict[str, Any]],
    batch_size: int,
    max_new_tokens: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Translate every pair's source with the fixed evaluation prompt; score BLEU and chrF++.

    Returns the task's metrics and its per-sample rows.
    """
    src_lang, tgt_lang = pairs[0]["src_lang"], pairs[0]["tgt_lang"]
    prompts = [
        chat_prompt(tokenizer, templates.eval_translation_prompt(p["src"], langs.name(src_lang), langs.name(tgt_lang)))
        for p in pairs
    ]
    outputs = generate(model, tokenizer, prompts, batch_size=batch_size, max_new_tokens=max_new_tokens, desc=task)
    refs = [p["tgt"] for p in pairs]
    metrics = mt.score_corpus(outputs, refs, tgt_lang)
    metrics["template"] = templates.EVAL_TEMPLATE_VERSION
    samples = [
        {"index": i, "source": p["src"], "prompt": prompt, "output": out, "reference": p["tgt"], "chrf": mt.sentence_chrf(out, p["tgt"])}
        for i, (p, prompt, out) in enumerate(zip(pairs, prompts, outputs))
    ]
    return metrics, samples


def run_translation_suite(
    model: Any,
    tokenizer: Any,
    test_files: dict[str, str | Path],
    out_dir: str | Path,
    model_name: str,
    seed: int,
    batch_size: int,
    max_new_tokens: int,
    limit: int | None = None,
    extra_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate each ``task → test file``; write ``results.json`` and samples under ``out_dir``."""
    out_dir = Path(out_dir)
    results: dict[str, Any] = {}
    for task, path in test_files.items():
        pairs = load_pairs(path, limit)
        metrics, samples = evaluate_translation(model, tokenizer, task, pairs, batch_size, max_new_tokens)
        results[task] = metrics
        write_jsonl(out_dir / f"samples_{task.replace('/', '_')}.jsonl", samples)
    doc = {
        "results": results,
        "config": {
            "model": model_name,
            "seed": seed,
            "batch_size": batch_size,
            "max_new_tokens": max_new_tokens,
            "limit": limit,
            "decoding": "greedy",
            **(extra_config or {}),
        },
        "provenance": provenance(),
    }
    write_json(out_dir / "results.json", doc)
    return doc
