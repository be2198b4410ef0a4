"""polyalign eval vs lm-evaluation-harness: same model, same local data, same prompts, both timed.

Two tasks built offline from CLDR country names (``babel``'s territory names, real curated
translations; nothing is downloaded):

(a) **classification**, two labels: ``Is "Alemania" the Spanish name of the country Germany?``
    yes/no, in Spanish, French, German and Italian; half the statements true, half pairing the
    country with another country's name in the same language (seeded). 4-shot raw-text prompts.
(b) **short-answer generation**: ``English: Germany`` → ``Spanish: Alemania`` (Spanish, French,
    German), 4-shot raw-text prompts, greedy, stop at a newline; scored by exact match after
    lower-casing and removing ASCII punctuation (lm-eval's ``exact_match`` with ``ignore_case`` and
    ``ignore_punctuation``, the same rule on both sides).

polyalign runs them through its own task path (``local_classification`` and
``local_translation`` from JSONL files, demonstrations drawn by ``loaders.prepare``); the prompts it
renders are written to JSON and lm-eval runs them from a task YAML over those local files
(``dataset_path: json``), HF backend, the same model object, the same batch size. Timed: from data
file on disk and model in memory to accuracy (lm-eval's task indexing, done once beforehand, is
not counted). Last line: ``ratio X``, polyalign's speed-up on (a).

    pip install -e '.[bench]'
    HF_HUB_OFFLINE=1 python benchmarks/eval_vs_lm_eval.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import string
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CLS_LANGS = ("es", "fr", "de", "it")
GEN_LANGS = ("es", "fr", "de")
# CLDR codes that are not countries or territories.
NOT_COUNTRIES = {"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"}


def cldr_names() -> dict[str, dict[str, str]]:
    """``{lang: {territory code: name}}`` for English and the benchmark languages."""
    from babel import Locale

    out = {}
    for lang in ("en", *sorted(set(CLS_LANGS) | set(GEN_LANGS))):
        terr = Locale(lang).territories
        out[lang] = {c: n for c, n in terr.items() if len(c) == 2 and c.isalpha() and c not in NOT_COUNTRIES}
    return out


def build_data(workdir: Path, n_cls: int, n_gen: int, seed: int) -> tuple[Path, dict[str, Path]]:
    from polyalign import langs

    names = cldr_names()
    codes = sorted(c for c in names["en"] if all(c in names[lang] for lang in names))
    rng = random.Random(seed)
    rows = []
    per_lang = n_cls // (2 * len(CLS_LANGS))
    for lang in CLS_LANGS:
        chosen = rng.sample(codes, per_lang)
        for code in chosen:
            for truth in (True, False):
                other = code
                while names[lang][other] == names[lang][code]:
                    other = rng.choice(codes)
                shown = names[lang][code] if truth else names[lang][other]
                text = f'Is "{shown}" the {langs.name(lang)} name of the country {names["en"][code]}?'
                rows.append({"id": f"{lang}-{code}-{int(truth)}", "text": text, "label": "yes" if truth else "no"})
    rng.shuffle(rows)
    cls_path = workdir / "cldr_country_names_yes_no.jsonl"
    cls_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    gen_paths = {}
    for lang in GEN_LANGS:
        chosen = rng.sample(codes, n_gen)
        path = workdir / f"cldr_country_names_en-{lang}.jsonl"
        path.write_text(
            "".join(
                json.dumps({"id": c, "src": names["en"][c], "tgt": names[lang][c]}, ensure_ascii=False) + "\n"
                for c in chosen
            ),
            encoding="utf-8",
        )
        gen_paths[lang] = path
    return cls_path, gen_paths


def exact_match(pred: str, gold: str) -> bool:
    """lm-eval's exact_match with ignore_case and ignore_punctuation, on stripped strings."""
    table = str.maketrans("", "", string.punctuation)
    return pred.strip().lower().translate(table) == gold.strip().lower().translate(table)


# ---------------------------------------------------------------------------------------------
# polyalign


def polyalign_task(runner, task_name: str, spec: str, source: Path, shots: int, seed: int):
    """Run one task through polyalign's own path; return (prepared, metrics, samples, prompts, seconds)."""
    from polyalign.eval import loaders
    from polyalign.eval import tasks as T
    from polyalign.eval.runner import evaluate_prepared

    t0 = time.perf_counter()
    task = T.get(task_name)
    prep = loaders.prepare(task, task.parse(spec), str(source), num_fewshot=shots, seed=seed)
    result, samples, _ = evaluate_prepared(runner, prep)
    seconds = time.perf_counter() - t0
    return prep, result, samples, [s["prompt"] for s in samples], seconds


# ---------------------------------------------------------------------------------------------
# lm-evaluation-harness

CLS_YAML = """task: polyalign_bench_cls
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{prompt}}}}"
doc_to_target: label
doc_to_choice: ["no", "yes"]
target_delimiter: " "
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""

GEN_YAML = """task: polyalign_bench_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n"]
  do_sample: false
  max_gen_toks: {max_new}
filter_list:
  - name: strip
    filter:
      - function: remove_whitespace
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
"""


def lm_eval_run(lm, task_manager, task: str) -> tuple[float, list[dict], float]:
    import lm_eval

    t0 = time.perf_counter()
    out = lm_eval.simple_evaluate(model=lm, tasks=[task], task_manager=task_manager, num_fewshot=0, log_samples=True)
    seconds = time.perf_counter() - t0
    metrics = out["results"][task]
    value = metrics.get("acc,none", metrics.get("exact_match,strip"))
    samples = sorted(out["samples"][task], key=lambda s: s["doc_id"])
    return 100.0 * float(value), samples, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument(
        "--n-cls", type=int, default=608, help="classification examples before the 4 demonstrations are drawn"
    )
    ap.add_argument("--n-gen", type=int, default=45, help="generation examples per language (3 languages)")
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label-scoring", choices=["first_token", "loglik"], default="first_token")
    ap.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    ap.add_argument("--threads", type=int, help="torch CPU threads for both sides (default: torch's choice)")
    args = ap.parse_args()

    import torch
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from polyalign.eval.runner import EvalRequest, Runner
    from polyalign.models import load_model

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="polyalign-bench-"))
    cls_path, gen_paths = build_data(work, args.n_cls, args.n_gen, args.seed)
    model, tok = load_model(args.model)
    req = EvalRequest(
        model=args.model,
        tasks=["local_classification", "local_translation"],
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        prompt_format="raw",
        label_scoring=args.label_scoring,
        backend="hf",
        seed=args.seed,
        output=str(work),
    )
    runner = Runner(req, model=model, tokenizer=tok)
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size)
    with torch.inference_mode():  # warm both paths' kernels once, outside the timings
        model(input_ids=torch.tensor([tok("warm up", add_special_tokens=False)["input_ids"]]))

    # --- (a) classification -----------------------------------------------------------------
    prep, result, samples, prompts, pa_cls_s = polyalign_task(
        runner, "local_classification", "en", cls_path, args.shots, args.seed
    )
    names = prep.rows[0]["label_names"]
    assert names == ["no", "yes"], names
    lm_cls = work / "lm_eval_cls.jsonl"
    lm_cls.write_text(
        "".join(
            json.dumps({"prompt": p, "label": r["label"]}, ensure_ascii=False) + "\n"
            for p, r in zip(prompts, prep.rows)
        )
    )
    gen_rows = []
    gen_results = {}
    pa_gen_s = 0.0
    for lang, path in gen_paths.items():
        gprep, gres, gsamples, gprompts, secs = polyalign_task(
            runner, "local_translation", f"en-{lang}", path, args.shots, args.seed
        )
        pa_gen_s += secs
        gen_results[lang] = gres
        for p, r, s in zip(gprompts, gprep.rows, gsamples):
            gen_rows.append({"prompt": p, "answer": r["tgt"], "polyalign_output": s["output"]})
    (work / "lm_eval_gen.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in gen_rows))
    (work / "cls.yaml").write_text(CLS_YAML.format(path=lm_cls))
    (work / "gen.yaml").write_text(GEN_YAML.format(path=work / "lm_eval_gen.jsonl", max_new=args.max_new_tokens))
    task_manager = TaskManager(include_path=str(work), include_defaults=False)

    lm_cls_acc, lm_cls_samples, lm_cls_s = lm_eval_run(lm, task_manager, "polyalign_bench_cls")
    lm_preds = [max(range(2), key=lambda j: s["filtered_resps"][j][0]) for s in lm_cls_samples]
    pa_preds = [names.index(s["output"]) for s in samples]
    differ = sum(a != b for a, b in zip(lm_preds, pa_preds))

    # --- (b) generation -----------------------------------------------------------------------
    lm_gen_acc, lm_gen_samples, lm_gen_s = lm_eval_run(lm, task_manager, "polyalign_bench_gen")
    pa_gen_acc = 100.0 * sum(exact_match(r["polyalign_output"], r["answer"]) for r in gen_rows) / len(gen_rows)
    gen_differ = sum(s["filtered_resps"][0].strip() != r["polyalign_output"] for s, r in zip(lm_gen_samples, gen_rows))

    # --- report -------------------------------------------------------------------------------
    ratio_a, ratio_b = lm_cls_s / pa_cls_s, lm_gen_s / pa_gen_s
    print(
        f"model {args.model}, batch size {args.batch_size}, {args.shots}-shot raw prompts, torch threads "
        f"{torch.get_num_threads()}"
    )
    print(
        f"(a) classification: {len(prep.rows)} examples (CLDR country names, yes/no; {prep.excluded} used as "
        "demonstrations)"
    )
    print(
        f"    polyalign ({result['signature'].split('|')[1]}): accuracy {result['accuracy']:.2f}  time {pa_cls_s:.1f} s"
    )
    print(f"    lm-eval   (loglik, acc):           accuracy {lm_cls_acc:.2f}  time {lm_cls_s:.1f} s")
    print(f"    predictions that differ: {differ}; speed-up {ratio_a:.2f}x")
    print(f"(b) generation: {len(gen_rows)} examples (CLDR country names en->es/fr/de, greedy, stop at newline)")
    chrf = ", ".join(f"{k} {v['chrf']:.1f}" for k, v in gen_results.items())
    fid = ", ".join(f"{k} {v['fidelity']:.0f}%" for k, v in gen_results.items())
    print(f"    polyalign: exact match {pa_gen_acc:.2f}  time {pa_gen_s:.1f} s  (chrF++ {chrf}; fidelity {fid})")
    print(f"    lm-eval:   exact match {lm_gen_acc:.2f}  time {lm_gen_s:.1f} s")
    print(f"    outputs that differ: {gen_differ}; speed-up {ratio_b:.2f}x")
    agree = abs(result["accuracy"] - lm_cls_acc) <= 1.0 and abs(pa_gen_acc - lm_gen_acc) <= 1.0
    print(f"accuracies agree within 1 point: {'yes' if agree else 'NO'}")
    print(f"ratio {ratio_a:.2f}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
