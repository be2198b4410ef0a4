"""Run evaluation tasks on a model and write ``results.json`` plus per-sample files.

The layout follows lm-evaluation-harness: ``{"results": {KEY: {metric: value, metric_stderr:
value, ...}}, "configs": {KEY: how it was prompted and scored}, "n-samples": ..., "config":
{model, seed, ...}}`` with ``KEY`` = ``task/lang``, and one ``samples_<task>_<lang>.jsonl`` per key
with the prompt, the output, the reference and the per-sample scores, so any number can be traced
to its examples. Every generative task also reports *language fidelity*: the share of outputs
written in the language they were asked for, the identifier choosing among the request's
candidate languages.

One path for every evaluation: :func:`run_eval` takes an :class:`~polyalign.eval.request.EvalRequest`
(``polyalign eval``'s suite, and ``polyalign run``'s held-out pairs and suite alike), renders each
task's prompts from the one registry (:mod:`polyalign.eval.prompts`), and hands them to the task
kind's own function (:data:`polyalign.eval.kinds.EVALUATE`) to answer and score.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data.resources import POLYMT_LANGUAGES, polymt_pairs
from polyalign.eval import kinds, loaders, prompts
from polyalign.eval import tasks as T
from polyalign.eval.generate import generate
from polyalign.eval.prefix import PrefixCache
from polyalign.eval.request import NO_EFFECT, EvalRequest
from polyalign.frozen_model import what_loaded
from polyalign.hub import require_adapter, resolve
from polyalign.io import InputError, log, provenance, read_json, write_json, write_jsonl
from polyalign.outputs import check_output_dir


class Runner:
    """The model behind an evaluation: a Hugging Face model, and vLLM for generation when asked.

    The model is loaded on first use, so a request whose work is all done loads nothing.
    """

    def __init__(
        self,
        req: EvalRequest,
        model: Any = None,
        tokenizer: Any = None,
        load: Callable[[], tuple[Any, Any]] | None = None,
    ):
        """``model``/``tokenizer``: a pair already loaded; ``load``: how to get the pair when first
        needed (``polyalign run`` passes its base or tuned model); else ``req.model`` is loaded."""
        from polyalign.eval.generate import vllm_available
        from polyalign.models import load_model

        self.req = req
        if req.backend == "vllm" and not vllm_available():
            raise InputError("the vllm backend needs vLLM installed and a CUDA GPU: use --backend hf")
        self.backend = "vllm" if req.backend == "vllm" or (req.backend == "auto" and vllm_available()) else "hf"
        self.path = str(resolve(req.model))
        self._pair = (model, tokenizer) if model is not None and tokenizer is not None else None
        self._tokenizer = tokenizer
        self._load = load or (lambda: load_model(req.model, req.dtype, req.trust_remote_code, adapter=req.adapter))
        self._given = load is not None
        self.prefixes = PrefixCache()  # prompt prefixes already run on this model, shared by its tasks

    @property
    def model(self) -> Any:
        if self._pair is None:
            if not self._given:  # a caller's loader says what it loads
                adapter = f" with adapter {self.req.adapter}" if self.req.adapter else ""
                log(f"model: loading {self.req.model}{adapter}")
            self._pair = self._load()
        return self._pair[0]

    @property
    def tokenizer(self) -> Any:
        if self._pair is not None:
            return self._pair[1]
        if self._given:  # the caller's loader gives both
            return self._pair_now()[1]
        if self._tokenizer is None:
            from polyalign.models import load_tokenizer

            self._tokenizer = load_tokenizer(self.req.model, self.req.trust_remote_code)
        return self._tokenizer

    def _pair_now(self) -> tuple[Any, Any]:
        _ = self.model  # loads the pair
        assert self._pair is not None
        return self._pair

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens of each text in this model's tokenizer (no special tokens)."""
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def token_ratio(self, src: str, tgt: str) -> tuple[float | None, str]:
        """Tokens of a ``tgt`` sentence per token of its ``src`` original in this tokenizer, measured on
        polymt's dev split (60 parallel sentences, never scored), and where it comes from; ``None``
        when polymt lacks either language."""
        a, b = langs.base(langs.normalize(src)), langs.base(langs.normalize(tgt))
        if a == b or not {a, b} <= set(POLYMT_LANGUAGES):
            return None, f"not measured: polymt has no {src}–{tgt} pair"
        rows = polymt_pairs(a, b, "dev")
        n_src = sum(self.token_counts([r["src"] for r in rows]))
        n_tgt = sum(self.token_counts([r["tgt"] for r in rows]))
        return n_tgt / n_src, f"polymt_v1 dev, {len(rows)} sentences"

    def generate(
        self,
        prompts_: list[str],
        max_new_tokens: int | list[int],
        stop: list[str],
        desc: str,
        first_line: bool = False,
    ) -> list[str]:
        if self.backend == "vllm":
            from polyalign.eval.generate import generate_vllm

            return generate_vllm(
                self.path,
                self.tokenizer,
                prompts_,
                max_new_tokens,
                stop,
                self.req.seed,
                self.req.adapter,
                trust_remote_code=self.req.trust_remote_code,
            )
        return generate(
            self.model,
            self.tokenizer,
            prompts_,
            self.req.batch_size,
            max_new_tokens,
            desc=desc,
            stop=stop,
            first_line=first_line,
            prefix_cache=self.prefixes,
        )

    def classify(
        self, prompts_: list[str], labels: list[str], method: str, desc: str
    ) -> tuple[list[int], list[list[float]], str]:
        from polyalign.eval.scoring import classify

        return classify(
            self.model,
            self.tokenizer,
            prompts_,
            labels,
            method,
            self.req.batch_size,
            desc=desc,
            prefix_cache=self.prefixes,
        )


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


def evaluate_prepared(runner: Runner, prep: T.Prepared) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Metrics, per-sample rows and the task config of one task × language."""
    req, task, spec = runner.req, prep.task, prep.spec
    names = kinds.label_names(prep, req) if task.kind == "classification" else None
    texts = render(runner.tokenizer, prep, req.prompt_format, names)
    cfg: dict[str, Any] = {
        "task": task.name,
        "lang": spec.spec,
        "kind": task.kind,
        "source": prep.source,
        "split": prep.split,
        "template": f"{prompts.PROMPT_VERSION}/{task.template}",
        "template_sha256": prompts.template_sha256(),
        "format": req.prompt_format,
        "num_fewshot": len(prep.demos),
        "fewshot_lang": req.fewshot_lang,
        "demo_ids": [d["id"] for d in prep.demos],
        "excluded_for_demos": prep.excluded,
        "sample": prep.sample,
    }
    scored = kinds.EVALUATE[task.kind](runner, prep, texts, req)
    cfg.update(scored.config)
    samples = [{"id": r["id"], "prompt": p, **extra} for r, p, extra in zip(prep.rows, texts, scored.samples)]
    result = scored.result
    if scored.fidelity_texts is not None:
        fid, detected = kinds.fidelity_metrics(
            scored.fidelity_texts, spec.lang, req.fidelity_candidates, scored.fidelity_refs
        )
        result.update(fid)
        for s, d in zip(samples, detected):
            s["detected_lang"] = d
    return result, samples, cfg


def run_eval(
    req: EvalRequest, model: Any = None, tokenizer: Any = None, load: Callable[[], tuple[Any, Any]] | None = None
) -> dict[str, Any]:
    """Evaluate ``req.tasks`` × languages; write results.json and samples; print a table.

    Finished task × language entries are kept in ``results.json`` as they complete; running the
    same request again skips them (a different request in the same folder is refused).
    ``model``/``tokenizer``: a pair already in memory; ``load``: how to get one when first needed.
    """
    # --- setup ------------------------------------------------------------------------------
    out = Path(req.output)
    request = {k: v for k, v in asdict(req).items() if k not in NO_EFFECT}
    doc_path = out / "results.json"
    doc: dict[str, Any] = {"results": {}, "configs": {}, "n-samples": {}, "versions": {}, "request": request}
    if doc_path.is_file():
        old = read_json(doc_path)
        if {k: v for k, v in old.get("request", {}).items() if k not in NO_EFFECT} != request:
            raise InputError("this folder holds results of a different evaluation; choose another --output", doc_path)
        doc = old
    plan = []
    for name in req.tasks:
        task = T.get(name)
        for raw in T.specs_for(task, req.langs):
            try:
                spec = task.parse(raw)
            except InputError as e:  # say which of the asked languages it is about
                if e.path is not None:
                    raise
                raise InputError(f"--langs {raw}: {e.message}") from None
            missing = [c for c in (spec.src, spec.tgt, spec.lang) if c and c not in task.languages]
            if task.languages and missing and name not in req.data:
                log(f"{name}: skipping {spec.spec} (not in the dataset; it has {', '.join(task.languages)})")
                continue
            plan.append((task, spec))
    if not plan:
        raise InputError("no task has any of the languages asked for")
    check_request(req, plan, doc_path.is_file())
    runner = Runner(req, model, tokenizer, load)
    loaded: dict[str, Any] = {}  # what the model and adapter resolved to, checksummed once

    # --- evaluate ---------------------------------------------------------------------------
    for task, spec in plan:
        name = req.rename.get(task.name, task.name)
        key = f"{name}/{spec.spec}"
        if key in doc["results"]:
            log(f"{key}: already done")
            continue
        limit = req.task_limits.get(task.name, req.limit)
        prep = loaders.prepare(task, spec, req.data.get(task.name), req.num_fewshot, req.fewshot_lang, limit, req.seed)
        if not prep.rows:
            raise InputError(f"{key}: no examples to evaluate", prep.source)
        log(f"{key}: {len(prep.rows)} examples, {len(prep.demos)}-shot, {req.prompt_format} prompts")
        t0 = time.perf_counter()
        result, samples, cfg = evaluate_prepared(runner, prep)
        seconds = time.perf_counter() - t0
        log(f"{key}: done in {seconds:.1f} s")
        write_jsonl(out / f"samples_{name}_{spec.spec}.jsonl", samples)
        doc["results"][key] = result
        doc["configs"][key] = cfg
        doc["n-samples"][key] = {"original": prep.original_n, "effective": len(prep.rows)}
        doc.setdefault("seconds", {})[key] = round(seconds, 2)  # model loading (on first use) included
        doc["versions"][name] = prompts.PROMPT_VERSION
        loaded = loaded or what_loaded(req.model, req.adapter)
        doc["config"] = {
            "model": req.model,
            "adapter": req.adapter,
            "seed": req.seed,
            "batch_size": req.batch_size,
            "limit": req.limit,
            "dtype": req.dtype,
            "backend": runner.backend,
            "model_files": loaded,
        }
        doc["provenance"] = provenance()
        write_json(doc_path, doc)

    # --- report -----------------------------------------------------------------------------
    tasks_done = {key.split("/", 1)[0] for key in doc["results"]}
    one_language_each = all("-" not in key.split("/", 1)[1] for key in doc["results"])
    print(language_table(doc["results"]) if len(tasks_done) > 1 and one_language_each else table(doc["results"]))
    print(f"\nresults: {doc_path}")
    return doc


def check_request(req: EvalRequest, plan: list[tuple[Any, Any]], resuming: bool) -> None:
    """What can be checked before a model loads: the output folder, the adapter, local data paths."""
    out = check_output_dir(req.output)
    if not resuming:
        clash = [out / f"samples_{t.name}_{s.spec}.jsonl" for t, s in plan]
        clash = [p for p in clash if p.exists()]
        if clash:
            raise InputError(
                "exists and is not from an evaluation polyalign recorded here (no results.json): "
                "choose another --output",
                clash[0],
            )
    if req.comet_model and any(t.kind == "translation" for t, _ in plan):
        import importlib.util

        if importlib.util.find_spec("comet") is None:
            raise InputError("COMET needs unbabel-comet: pip install 'polyalign[comet]'")
    if req.adapter:
        require_adapter(req.adapter)
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
TABLE_METRICS = (
    ("accuracy", "acc"),
    ("majority_baseline", "majority %"),
    ("exact_match", "EM"),
    ("f1", "F1"),
    ("contains", "contains"),
    ("chrf", "chrF++"),
    ("bleu", "BLEU"),
    ("judge_win_rate", "judge win %"),
    ("fidelity", "fidelity %"),
)


def table(results: dict[str, dict[str, Any]]) -> str:
    """Results as an aligned text table, fidelity always shown: value ± its standard error, or for
    BLEU and chrF++ ± the half-width of sacrebleu's 95% bootstrap interval. Classification shows
    the majority-label baseline beside accuracy, and ``constant: LABEL`` where every item got one label."""
    cols = [(k, h) for k, h in TABLE_METRICS if k == "fidelity" or any(r.get(k) is not None for r in results.values())]
    rows = [["task/lang", "n"] + [h for _, h in cols]]
    for key, r in results.items():
        cells = [key, str(r.get("n", ""))]
        for k, _ in cols:
            v = r.get(k)
            se = r.get(f"{k}_stderr", r.get(f"{k}_ci"))
            cells.append(
                "—" if v is None else f"{v:.2f}" + (f" ± {se:.2f}" if se is not None else "") + _constant(r, k)
            )
        rows.append(cells)
    return align(rows)


def _constant(result: dict[str, Any], key: str) -> str:
    """`` (constant: LABEL)`` after an accuracy whose model gave every item one label."""
    label = result.get("constant_prediction") if key == "accuracy" else None
    return f" (constant: {label})" if label is not None else ""


def language_table(results: dict[str, dict[str, Any]]) -> str:
    """Results of several tasks as one table with a row per language and a column per task and
    metric (``—`` where a task has no such language).

    >>> print(language_table({"polyqa/es": {"f1": 50.0, "fidelity": 90.0}, "polysent/es": {"accuracy": 75.0},
    ...                       "polysent/sw": {"accuracy": 60.0}}))
    lang  polyqa F1  polyqa fidelity %  polysent acc
    ----  ---------  -----------------  ------------
    es        50.00              90.00         75.00
    sw            —                  —         60.00
    """
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for key, r in results.items():
        task, lang = key.split("/", 1)
        by_task.setdefault(task, {})[lang] = r
    cols = [
        (task, k, f"{task} {h}")
        for task, rows in by_task.items()
        for k, h in TABLE_METRICS
        if any(r.get(k) is not None for r in rows.values())
    ]
    langs_ = list(dict.fromkeys(key.split("/", 1)[1] for key in results))
    rows = [["lang"] + [h for _, _, h in cols]]
    for lang in langs_:
        cells = [lang]
        for task, k, _ in cols:
            r = by_task[task].get(lang, {})
            v = r.get(k)
            cells.append("—" if v is None else f"{v:.2f}" + _constant(r, k))
        rows.append(cells)
    return align(rows)


def align(rows: list[list[str]]) -> str:
    """Rows of cells as text columns: the first left-aligned, the rest right-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
