"""Run evaluation tasks on a model and write ``results.json`` plus per-sample files.

The layout follows lm-evaluation-harness: ``{"results": {KEY: {metric: value, metric_stderr:
value, ...}}, "configs": {KEY: how it was prompted and scored}, "n-samples": ..., "config":
{model, seed, ...}}`` with ``KEY`` = ``task/lang``, and one ``samples_<task>_<lang>.jsonl`` per key
with the prompt, the output, the reference and the per-sample scores, so any number can be traced
to its examples. Every generative task also reports *language fidelity*: the share of outputs
written in the language they were asked for.

Two entry points: :func:`run_translation_suite` (the held-out pairs of ``polyalign run``) and
:func:`run_eval` (``polyalign eval``: tasks × languages).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data import templates
from polyalign.eval import metrics, mt, prompts
from polyalign.eval import tasks as T
from polyalign.eval.generate import chat_prompt, generate
from polyalign.io import (
    InputError,
    check_output_dir,
    iter_jsonl,
    provenance,
    read_json,
    write_json,
    write_jsonl,
)


def _log(msg: str) -> None:
    print(f"[polyalign] {msg}", file=sys.stderr, flush=True)


def fidelity_metrics(outputs: list[str], lang: str, references: list[str] | None = None) -> tuple[dict[str, Any], list[str | None]]:
    """``fidelity`` (percent of non-empty outputs identified as ``lang``) with its standard error
    and detected-language counts; ``None`` with a note when the identifier cannot run.

    With ``references``, ``fidelity_reference`` is the same measure on the reference texts: the
    identifier's own ceiling on this kind of text (short strings are often misidentified).
    """
    try:
        f = metrics.fidelity(outputs, lang)
    except InputError as e:
        return {"fidelity": None, "fidelity_note": e.message}, [None] * len(outputs)
    out = {
        "fidelity": 100.0 * f["on_target_rate"],
        "fidelity_stderr": 100.0 * f["on_target_stderr"],
        "fidelity_counts": f["counts"],
        "fidelity_empty": f["empty"],
        "fidelity_signature": f["signature"],
    }
    if references is not None:
        out["fidelity_reference"] = 100.0 * metrics.fidelity(references, lang)["on_target_rate"]
    return out, f["detected"]


# ---------------------------------------------------------------------------------------------
# The translation suite of `polyalign run`


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
    """Translate every pair's source with the fixed evaluation prompt; score BLEU, chrF++, fidelity.

    Returns the task's metrics and its per-sample rows.
    """
    src_lang, tgt_lang = pairs[0]["src_lang"], pairs[0]["tgt_lang"]
    prompts_ = [
        chat_prompt(tokenizer, templates.eval_translation_prompt(p["src"], langs.name(src_lang), langs.name(tgt_lang)))
        for p in pairs
    ]
    outputs = generate(model, tokenizer, prompts_, batch_size=batch_size, max_new_tokens=max_new_tokens, desc=task)
    refs = [p["tgt"] for p in pairs]
    scores = mt.score_corpus(outputs, refs, tgt_lang)
    fid, detected = fidelity_metrics(outputs, tgt_lang, refs)
    scores.update(fid)
    scores["template"] = templates.EVAL_TEMPLATE_VERSION
    samples = [
        {"index": i, "source": p["src"], "prompt": prompt, "output": out, "reference": p["tgt"],
         "chrf": mt.sentence_chrf(out, p["tgt"]), "detected_lang": det}
        for i, (p, prompt, out, det) in enumerate(zip(pairs, prompts_, outputs, detected))
    ]
    return scores, samples


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
        scores, samples = evaluate_translation(model, tokenizer, task, pairs, batch_size, max_new_tokens)
        results[task] = scores
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


# ---------------------------------------------------------------------------------------------
# polyalign eval: tasks × languages

# Longest answer per kind of task when the user sets none.
MAX_NEW_TOKENS = {"qa": 32, "translation": 160, "math": 256, "instruct": 256, "classification": 0}


@dataclass
class EvalRequest:
    """What ``polyalign eval`` runs (from flags, a recipe, or both; flags win)."""

    model: str
    tasks: list[str]
    langs: list[str] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    adapter: str | None = None
    num_fewshot: int = 0
    fewshot_lang: str = "target"
    prompt_format: str = "chat"
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int | None = None
    backend: str = "auto"
    label_scoring: str = "first_token"
    judge_endpoint: str | None = None
    judge_model: str | None = None
    api_key_env: str | None = None
    seed: int = 0
    output: str = ""
    dtype: str = "float32"
    trust_remote_code: bool = False

    @classmethod
    def from_args(cls, args: Any, cfg: Any = None) -> EvalRequest:
        from polyalign.config import DEFAULT_MODEL

        e = cfg.eval if cfg is not None else None

        def pick(flag: Any, recipe: Any, default: Any) -> Any:
            return flag if flag is not None else (recipe if recipe is not None else default)

        tasks = _split(args.tasks) if args.tasks else (list(e.suite) if e is not None else [])
        if not tasks:
            raise InputError("name the tasks: --tasks xquad,flores,... (or eval.suite in the recipe)")
        for t in tasks:
            T.get(t)
        data = _parse_data(list(e.data_files) if e is not None else [])
        data.update(_parse_data(args.data))
        model = pick(args.model, cfg.model.model_name_or_path if cfg is not None else None, DEFAULT_MODEL)
        output = args.output or (str(cfg.run_dir / "eval" / "suite") if cfg is not None else f"runs/eval-{Path(model).name}")
        return cls(
            model=model,
            tasks=tasks,
            langs=_split(args.langs) if args.langs else (list(e.suite_langs) if e is not None else []),
            data=data,
            adapter=args.adapter,
            num_fewshot=pick(args.num_fewshot, getattr(e, "num_fewshot", None), 0),
            fewshot_lang=pick(args.fewshot_lang, getattr(e, "fewshot_lang", None), "target"),
            prompt_format=pick(args.format, getattr(e, "prompt_format", None), "chat"),
            limit=pick(args.limit, getattr(e, "limit", None), None),
            batch_size=pick(args.batch_size, getattr(e, "batch_size", None), 16),
            max_new_tokens=pick(args.max_new_tokens, getattr(e, "max_new_tokens", None), None),
            backend=pick(args.backend, getattr(e, "backend", None), "auto"),
            label_scoring=pick(args.label_scoring, getattr(e, "label_scoring", None), "first_token"),
            judge_endpoint=args.judge_endpoint,
            judge_model=args.judge_model,
            api_key_env=args.api_key_env,
            seed=pick(args.seed, cfg.seed if cfg is not None else None, 0),
            output=output,
            dtype=cfg.model.dtype if cfg is not None else "float32",
            trust_remote_code=cfg.model.trust_remote_code if cfg is not None else False,
        )


def request_from_recipe(cfg: Any, output: str | Path, adapter: str | None = None,
                        model: str | None = None) -> EvalRequest:
    """The suite request of a ``polyalign run`` recipe (``eval.suite``), writing into ``output``.

    ``adapter``/``model`` record what was tuned (a LoRA folder, or a fully tuned model folder).
    Generation stays on the Hugging Face backend: the run evaluates the model it holds in memory.
    """
    from argparse import Namespace

    flags = dict.fromkeys(("tasks", "langs", "model", "adapter", "num_fewshot", "fewshot_lang", "format", "limit",
                           "batch_size", "max_new_tokens", "backend", "label_scoring", "judge_endpoint",
                           "judge_model", "api_key_env", "seed", "output"))
    req = EvalRequest.from_args(Namespace(**{**flags, "data": []}), cfg)
    req.output = str(output)
    req.adapter = adapter
    if model is not None:
        req.model = model
    req.backend = "hf"
    return req


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_data(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        task, sep, path = item.partition("=")
        if not sep or not path:
            raise InputError(f"--data wants TASK=PATH, got {item!r}")
        T.get(task.strip())
        out[task.strip()] = path.strip()
    return out


class Runner:
    """The model behind an evaluation: a Hugging Face model, and vLLM for generation when asked."""

    def __init__(self, req: EvalRequest, model: Any = None, tokenizer: Any = None):
        """``model``/``tokenizer``: an already loaded pair to use instead of loading ``req.model``."""
        from polyalign.eval.generate import vllm_available
        from polyalign.models import load_model, load_tokenizer, resolve

        self.req = req
        if req.backend == "vllm" and not vllm_available():
            raise InputError("the vllm backend needs vLLM installed and a CUDA GPU: use --backend hf")
        self.backend = "vllm" if req.backend == "vllm" or (req.backend == "auto" and vllm_available()) else "hf"
        self.path = str(resolve(req.model))
        self._model = model
        self._load = lambda: load_model(req.model, req.dtype, req.trust_remote_code, adapter=req.adapter)
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(req.model, req.trust_remote_code)

    @property
    def model(self) -> Any:
        if self._model is None:
            _log(f"model: loading {self.req.model}" + (f" with adapter {self.req.adapter}" if self.req.adapter else ""))
            self._model, self.tokenizer = self._load()
        return self._model

    def generate(self, prompts_: list[str], max_new_tokens: int, stop: list[str], desc: str) -> list[str]:
        if self.backend == "vllm":
            from polyalign.eval.generate import generate_vllm

            return generate_vllm(self.path, self.tokenizer, prompts_, max_new_tokens, stop, self.req.seed,
                                 self.req.adapter, trust_remote_code=self.req.trust_remote_code)
        return generate(self.model, self.tokenizer, prompts_, self.req.batch_size, max_new_tokens, desc=desc, stop=stop)


def render(tokenizer: Any, prep: T.Prepared, fmt: str, label_names: list[str] | None) -> list[str]:
    """Every example's prompt text (chat template applied in chat format)."""
    src = prep.spec.src if prep.task.kind == "translation" else None
    tgt = prep.spec.tgt if prep.task.kind == "translation" else None
    built = [prompts.build(prep.task.template, r, prep.demos, fmt, src, tgt, label_names) for r in prep.rows]
    if fmt == "raw":
        return built
    if not getattr(tokenizer, "chat_template", None):
        raise InputError("this model's tokenizer has no chat template: use --format raw")
    return [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in built]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def evaluate_prepared(runner: Runner, prep: T.Prepared) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Metrics, per-sample rows and the task config of one task × language."""
    req, task, spec = runner.req, prep.task, prep.spec
    key = f"{task.name}/{spec.spec}"
    label_names = None
    if task.kind == "classification":
        label_names = prep.rows[0]["label_names"] if "label_names" in prep.rows[0] else prompts.labels(task.template)
    texts = render(runner.tokenizer, prep, req.prompt_format, label_names)
    cfg: dict[str, Any] = {
        "task": task.name, "lang": spec.spec, "kind": task.kind, "source": prep.source, "split": prep.split,
        "template": f"{prompts.PROMPT_VERSION}/{task.template}", "template_sha256": prompts.template_sha256(),
        "format": req.prompt_format, "num_fewshot": len(prep.demos), "fewshot_lang": req.fewshot_lang,
        "demo_ids": [d["id"] for d in prep.demos], "excluded_for_demos": prep.excluded,
    }
    samples: list[dict[str, Any]] = [{"id": r["id"], "prompt": p} for r, p in zip(prep.rows, texts)]

    if task.kind == "classification":
        from polyalign.eval.scoring import classify

        preds, scores, used = classify(runner.model, runner.tokenizer, texts, label_names, req.label_scoring, req.batch_size, desc=key)
        golds = [r["label"] for r in prep.rows]
        result = metrics.accuracy(preds, golds)
        result["signature"] = metrics.signature("acc", method=used, labels=",".join(label_names))
        cfg.update(labels=label_names, label_scoring=used)
        for s, r, p, sc in zip(samples, prep.rows, preds, scores):
            s.update(text=r["text"], text_pair=r.get("text_pair"), reference=label_names[r["label"]],
                     output=label_names[p], label_scores=dict(zip(label_names, sc)), correct=p == r["label"])
        return result, samples, cfg

    max_new = req.max_new_tokens or MAX_NEW_TOKENS[task.kind]
    stop = prompts.RAW_STOP.get(task.kind, []) if req.prompt_format == "raw" else []
    cfg.update(max_new_tokens=max_new, stop=stop, backend=runner.backend, decoding="greedy")
    outputs = runner.generate(texts, max_new, stop, desc=key)

    if task.kind == "qa":
        answers = [_first_line(o) for o in outputs]
        per = [metrics.qa_scores(a, r["answers"], spec.lang) for a, r in zip(answers, prep.rows)]
        result: dict[str, Any] = {}
        for m in ("exact_match", "f1", "contains"):
            st = metrics.MeanStats.of(p[m] for p in per)
            result[m], result[f"{m}_stderr"] = st.score(), st.stderr()
        result.update(n=len(per), signature=metrics.qa_signature(spec.lang))
        for s, r, o, a, p in zip(samples, prep.rows, outputs, answers, per):
            s.update(question=r["question"], output=o, answer=a, reference=r["answers"], **p)
        scored = answers
    elif task.kind == "translation":
        result = mt.score_corpus(outputs, [r["tgt"] for r in prep.rows], spec.tgt, seed=req.seed)
        for s, r, o in zip(samples, prep.rows, outputs):
            s.update(source=r["src"], output=o, reference=r["tgt"], chrf=mt.sentence_chrf(o, r["tgt"]))
        scored = outputs
    elif task.kind == "math":
        read = [metrics.last_number(o) for o in outputs]
        correct = [metrics.numbers_equal(x, r["answer_number"]) for x, r in zip(read, prep.rows)]
        result = metrics.accuracy(correct, [True] * len(correct))
        result["signature"] = metrics.signature("acc", answer="last_number")
        for s, r, o, x, c in zip(samples, prep.rows, outputs, read, correct):
            s.update(question=r["question"], output=o, answer=x, reference=r["answer_number"], correct=c)
        scored = outputs
    else:  # instruct
        result = {"n": len(outputs), "mean_output_chars": sum(map(len, outputs)) / max(len(outputs), 1)}
        for s, r, o in zip(samples, prep.rows, outputs):
            s.update(instruction=r["instruction"], input=r["input"], output=o, reference=r["output"])
        if req.judge_endpoint:
            result.update(_judge(req, prep.rows, outputs, samples))
            cfg["judge"] = {"endpoint": req.judge_endpoint, "model": req.judge_model, "against": "reference outputs"}
        scored = outputs

    refs = {"translation": lambda: [r["tgt"] for r in prep.rows], "instruct": lambda: [r["output"] for r in prep.rows]}
    fid, detected = fidelity_metrics(scored, spec.lang, refs[task.kind]() if task.kind in refs else None)
    result.update(fid)
    for s, d in zip(samples, detected):
        s["detected_lang"] = d
    return result, samples, cfg


def _judge(req: EvalRequest, rows: list[dict[str, Any]], outputs: list[str], samples: list[dict[str, Any]]) -> dict[str, Any]:
    from polyalign.eval.judge import Endpoint, compare

    if not req.judge_model:
        raise InputError("--judge-endpoint needs --judge-model")
    endpoint = Endpoint(req.judge_endpoint, req.judge_model, req.api_key_env)
    items = [{"id": r["id"], "instruction": r["instruction"] + (f"\n\n{r['input']}" if r["input"] else ""),
              "a": o, "b": r["output"]} for r, o in zip(rows, outputs)]
    summary, verdicts = compare(endpoint, items)
    for s, v in zip(samples, verdicts):
        s["judge"] = {k: v.get(k) for k in ("winner", "score_a", "score_b", "junk", "errors")}
    return {"judge_win_rate": summary["win_rate"], "judge": summary}


def run_eval(req: EvalRequest, model: Any = None, tokenizer: Any = None) -> dict[str, Any]:
    """Evaluate ``req.tasks`` × languages; write results.json and samples; print a table.

    Finished task × language entries are kept in ``results.json`` as they complete; running the
    same request again skips them (a different request in the same folder is refused).
    ``model``/``tokenizer``: a pair already in memory (``polyalign run`` passes its tuned model).
    """
    # --- setup ------------------------------------------------------------------------------
    out = Path(req.output)
    request = {k: v for k, v in asdict(req).items() if k != "output"}
    doc_path = out / "results.json"
    doc: dict[str, Any] = {"results": {}, "configs": {}, "n-samples": {}, "versions": {}, "request": request}
    if doc_path.is_file():
        old = read_json(doc_path)
        if old.get("request") != request:
            raise InputError("this folder holds results of a different evaluation; choose another --output", doc_path)
        doc = old
    plan = []
    for name in req.tasks:
        task = T.get(name)
        specs = req.langs or T.default_specs(task)
        for raw in specs:
            spec = task.parse(raw)
            if task.languages and spec.lang not in task.languages and name not in req.data:
                _log(f"{name}: skipping {spec.spec} (not in the dataset; it has {', '.join(task.languages)})")
                continue
            plan.append((task, spec))
    if not plan:
        raise InputError("no task has any of the languages asked for")
    check_request(req, plan, doc_path.is_file())
    runner = Runner(req, model, tokenizer)

    # --- evaluate ---------------------------------------------------------------------------
    for task, spec in plan:
        key = f"{task.name}/{spec.spec}"
        if key in doc["results"]:
            _log(f"{key}: already done")
            continue
        prep = T.prepare(task, spec, req.data.get(task.name), req.num_fewshot, req.fewshot_lang, req.limit, req.seed)
        if not prep.rows:
            raise InputError(f"{key}: no examples to evaluate", prep.source)
        _log(f"{key}: {len(prep.rows)} examples, {len(prep.demos)}-shot, {req.prompt_format} prompts")
        result, samples, cfg = evaluate_prepared(runner, prep)
        write_jsonl(out / f"samples_{task.name}_{spec.spec}.jsonl", samples)
        doc["results"][key] = result
        doc["configs"][key] = cfg
        doc["n-samples"][key] = {"original": prep.original_n, "effective": len(prep.rows)}
        doc["versions"][task.name] = prompts.PROMPT_VERSION
        doc["config"] = {"model": req.model, "adapter": req.adapter, "seed": req.seed, "batch_size": req.batch_size,
                         "limit": req.limit, "dtype": req.dtype, "backend": runner.backend}
        doc["provenance"] = provenance()
        write_json(doc_path, doc)

    # --- report -----------------------------------------------------------------------------
    print(table(doc["results"]))
    print(f"\nresults: {doc_path}")
    return doc


def check_request(req: EvalRequest, plan: list[tuple[Any, Any]], resuming: bool) -> None:
    """What can be checked before a model loads: the output folder, the adapter, local data paths."""
    out = check_output_dir(req.output)
    if not resuming:
        clash = [out / f"samples_{t.name}_{s.spec}.jsonl" for t, s in plan]
        clash = [p for p in clash if p.exists()]
        if clash:
            raise InputError("exists and is not from an evaluation polyalign recorded here (no results.json): "
                             "choose another --output", clash[0])
    if req.adapter:
        adapter = Path(req.adapter)
        if not adapter.is_dir():
            raise InputError("no such folder" if not adapter.exists() else "is a file, expected an adapter folder", adapter)
        if not (adapter / "adapter_config.json").is_file():
            raise InputError("holds no LoRA adapter (no adapter_config.json): give the folder training saved "
                             "(OUTPUT_DIR/model)", adapter)
    for task, spec in plan:
        source = req.data.get(task.name)
        if source is None or source.startswith("hf:"):
            continue
        try:
            path = Path(source.format(**spec.placeholders())) if "{" in source else Path(source)
        except (KeyError, IndexError, ValueError):
            continue  # an unknown placeholder: reported with its path when the task loads
        if not path.exists():
            raise InputError("no such file or folder", path)
        if path.is_dir() and task.name.startswith("local_"):
            raise InputError(f"is a folder: name the {task.name} file itself (the path may hold {{lang}})", path)


# Columns of the printed table: (metric key, header).
TABLE_METRICS = (("accuracy", "acc"), ("exact_match", "EM"), ("f1", "F1"), ("contains", "contains"),
                 ("chrf", "chrF++"), ("bleu", "BLEU"), ("judge_win_rate", "judge win %"), ("fidelity", "fidelity %"))


def table(results: dict[str, dict[str, Any]]) -> str:
    """Results as an aligned text table: value ± standard error per metric, fidelity always shown."""
    cols = [(k, h) for k, h in TABLE_METRICS if k == "fidelity" or any(r.get(k) is not None for r in results.values())]
    rows = [["task/lang", "n"] + [h for _, h in cols]]
    for key, r in results.items():
        cells = [key, str(r.get("n", ""))]
        for k, _ in cols:
            v = r.get(k)
            se = r.get(f"{k}_stderr")
            cells.append("—" if v is None else f"{v:.2f}" + (f" ± {se:.2f}" if se is not None else ""))
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
