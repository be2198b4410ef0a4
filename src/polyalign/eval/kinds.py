"""What each kind of task does with its prompts: how the model answers (generates, or picks a
label) and how the answers are scored. One function per kind, chosen by name in :data:`EVALUATE`.

The functions take the model as an :class:`Answerer` (the runner), so this module stays light
(no torch): scoring is pure, and only the answerer runs a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from polyalign.eval import metrics, mt, prompts
from polyalign.eval.judge import Endpoint, compare
from polyalign.eval.tasks import Prepared
from polyalign.io import InputError

# Longest answer per kind of task when the request sets none.
MAX_NEW_TOKENS = {"qa": 32, "translation": 160, "math": 256, "instruct": 256}

LENGTH_ROOM = 1.5
"""A translation is cut only past this many times its expected length: its source's tokens times
the language pair's token ratio (:meth:`Answerer.token_ratio`). A fixed cap cut translations into
languages the tokenizer splits finely: with 48 new tokens, every English→Russian polymt reference
(89 tokens on average in SmolLM2's tokenizer) was longer than any output could be."""


def translation_caps(source_tokens: Sequence[int], ratio: float | None, floor: int) -> list[int]:
    """Each source's longest translation: ``floor`` tokens, or room for ``LENGTH_ROOM`` times its expected
    length (source tokens × ``ratio``) where that is more (``ratio`` ``None``: ``floor`` for every one).

    >>> translation_caps([10, 30], 3.0, 48)
    [48, 135]
    """
    return [max(floor, math.ceil(LENGTH_ROOM * ratio * n)) if ratio else floor for n in source_tokens]


class Answerer(Protocol):
    """The model behind an evaluation (:class:`polyalign.eval.runner.Runner`)."""

    backend: str

    def generate(
        self,
        prompts_: list[str],
        max_new_tokens: int | list[int],
        stop: list[str],
        desc: str,
        first_line: bool = False,
    ) -> list[str]: ...

    def token_counts(self, texts: list[str]) -> list[int]: ...

    def token_ratio(self, src: str, tgt: str) -> tuple[float | None, str]: ...

    def classify(
        self, prompts_: list[str], labels: list[str], method: str, desc: str
    ) -> tuple[list[int], list[list[float]], str]: ...


@dataclass
class Scored:
    """One task × language scored: its metrics, per-example fields and how it was done."""

    result: dict[str, Any]
    samples: list[dict[str, Any]]
    """Fields added to each example's row in ``samples_<task>_<lang>.jsonl``, in order."""
    config: dict[str, Any] = field(default_factory=dict)
    """Settings added to the task's ``configs`` entry."""
    fidelity_texts: list[str] | None = None
    """Texts whose language is measured (``None``: no fidelity, e.g. a label choice)."""
    fidelity_refs: list[str] | None = None
    """The references in the same language: the identifier's ceiling on this kind of text."""


def fidelity_metrics(
    texts: Sequence[str], lang: str, candidates: Sequence[str], references: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[str | None]]:
    """``fidelity`` (percent of non-empty ``texts`` identified as ``lang`` among ``candidates`` +
    ``lang``) with its standard error, detected-language counts and signature; ``None`` with a
    note when the identifier cannot run. ``fidelity_reference``: the same on ``references``."""
    try:
        f = metrics.fidelity(texts, lang, candidates)
    except InputError as e:
        return {"fidelity": None, "fidelity_note": e.message}, [None] * len(texts)
    rate = f["on_target_rate"]
    out = {
        "fidelity": None if rate is None else 100.0 * rate,
        "fidelity_stderr": 100.0 * f["on_target_stderr"],
        "fidelity_counts": f["counts"],
        "fidelity_empty": f["empty"],
        "fidelity_neutral": f["neutral"],
        "fidelity_signature": f["signature"],
    }
    if rate is None:
        out["fidelity_note"] = (
            f"no output has a letter to identify ({f['empty']} empty, {f['neutral']} without letters)"
        )
    if references is not None:
        ref_rate = metrics.fidelity(references, lang, candidates)["on_target_rate"]
        out["fidelity_reference"] = None if ref_rate is None else 100.0 * ref_rate
    return out, f["detected"]


def _generate(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> tuple[list[str], dict[str, Any]]:
    kind = prep.task.kind
    max_new = req.max_new_tokens or MAX_NEW_TOKENS[kind]
    stop = prompts.RAW_STOP.get(kind, []) if req.prompt_format == "raw" else []
    # Only the first line of a short answer is read: the model may stop there (same answer, sooner).
    first_line = kind == "qa"
    cfg: dict[str, Any] = {"max_new_tokens": max_new, "stop": stop, "backend": model.backend, "decoding": "greedy"}
    caps: int | list[int] = max_new
    if kind == "translation":
        ratio, how = model.token_ratio(prep.spec.src, prep.spec.tgt)
        caps = translation_caps(model.token_counts([r["src"] for r in prep.rows]), ratio, max_new)
        cfg["length_cap"] = {
            "rule": f"max(max_new_tokens, ceil({LENGTH_ROOM:g} × source tokens × token ratio))",
            "token_ratio": round(ratio, 4) if ratio else None,
            "token_ratio_from": how,
            "largest": max(caps),
        }
    outputs = model.generate(texts, caps, stop, desc=f"{prep.task.name}/{prep.spec.spec}", first_line=first_line)
    return outputs, cfg


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def evaluate_qa(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> Scored:
    """Generate an answer; its first line scores EM, F1 and contains, normalised as ``req.qa_norm``
    says (``None``: the task's own default, SQuAD v1.1's for XQuAD, MLQA's otherwise)."""
    outputs, cfg = _generate(model, prep, texts, req)
    norm = getattr(req, "qa_norm", None) or prep.task.qa_norm
    cfg["qa_norm"] = norm
    answers = [_first_line(o) for o in outputs]
    per = [metrics.qa_scores(a, r["answers"], prep.spec.lang, norm) for a, r in zip(answers, prep.rows)]
    result: dict[str, Any] = {}
    for m in ("exact_match", "f1", "contains"):
        st = metrics.MeanStats.of(p[m] for p in per)
        result[m], result[f"{m}_stderr"] = st.score(), st.stderr()
    result.update(n=len(per), signature=metrics.qa_signature(prep.spec.lang, norm))
    samples = [
        {"question": r["question"], "output": o, "answer": a, "reference": r["answers"], **p}
        for r, o, a, p in zip(prep.rows, outputs, answers, per)
    ]
    return Scored(result, samples, cfg, answers, [r["answers"][0] for r in prep.rows])


def evaluate_translation(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> Scored:
    """Generate a translation; corpus BLEU (spBLEU with ``req.tokenize`` flores101/flores200) and
    chrF++ with sacrebleu's bootstrap intervals, and COMET when ``req.comet_model`` names a checkpoint."""
    outputs, cfg = _generate(model, prep, texts, req)
    refs = [r["tgt"] for r in prep.rows]
    result = mt.score_corpus(outputs, refs, prep.spec.tgt, tokenize=req.tokenize, spm_model=req.spm_model)
    samples = [
        {"source": r["src"], "output": o, "reference": r["tgt"], "chrf": mt.sentence_chrf(o, r["tgt"])}
        for r, o in zip(prep.rows, outputs)
    ]
    comet_model = getattr(req, "comet_model", None)
    if comet_model:
        comet = mt.comet_score([r["src"] for r in prep.rows], outputs, refs, comet_model, batch_size=req.batch_size)
        result.update({k: v for k, v in comet.items() if k != "comet_segments"})
        for s, c in zip(samples, comet["comet_segments"]):
            s["comet"] = c
    return Scored(result, samples, cfg, outputs, refs)


def evaluate_math(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> Scored:
    """Generate a solution; the last number written is the answer (MGSM)."""
    outputs, cfg = _generate(model, prep, texts, req)
    read = [metrics.last_number(o) for o in outputs]
    correct = [metrics.numbers_equal(x, r["answer_number"]) for x, r in zip(read, prep.rows)]
    result = metrics.accuracy(correct, [True] * len(correct))
    result["signature"] = metrics.signature("acc", answer="last_number")
    samples = [
        {"question": r["question"], "output": o, "answer": x, "reference": r["answer_number"], "correct": c}
        for r, o, x, c in zip(prep.rows, outputs, read, correct)
    ]
    return Scored(result, samples, cfg, outputs)


def evaluate_instruct(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> Scored:
    """Generate a response; length, fidelity, and an LLM judge against the reference when asked."""
    outputs, cfg = _generate(model, prep, texts, req)
    refs = [r["output"] for r in prep.rows]
    result: dict[str, Any] = {"n": len(outputs), "mean_output_chars": sum(map(len, outputs)) / max(len(outputs), 1)}
    samples = [
        {"instruction": r["instruction"], "input": r["input"], "output": o, "reference": r["output"]}
        for r, o in zip(prep.rows, outputs)
    ]
    if req.judge_endpoint:
        result.update(_judge(req, prep.rows, outputs, samples))
        cfg["judge"] = {"endpoint": req.judge_endpoint, "model": req.judge_model, "against": "reference outputs"}
    return Scored(result, samples, cfg, outputs, refs)


def label_names(prep: Prepared, req: Any = None) -> list[str]:
    """The words a classification task's model chooses between (index = gold label id): the
    file's or template's (English) names, or with ``req.label_lang == "target"`` the evaluated
    language's own words where the data has them (polysent)."""
    first = prep.rows[0] if prep.rows else {}
    if getattr(req, "label_lang", "en") == "target" and "label_names_native" in first:
        if first["label_names_native"] is None:
            raise InputError(
                f"{prep.task.name}/{prep.spec.spec}: the data has no label words in this language; use --label-lang en",
                prep.source,
            )
        return list(first["label_names_native"])
    return list(first["label_names"]) if "label_names" in first else prompts.labels(prep.task.template)


def evaluate_labels(model: Answerer, prep: Prepared, texts: list[str], req: Any) -> Scored:
    """Pick the most likely label (constrained decoding); accuracy beside the majority-label
    baseline of the same items, and the label predicted for every item when there is one
    (``constant_prediction``, else ``None``). No text, so no fidelity."""
    names = label_names(prep, req)
    preds, scores, used = model.classify(texts, names, req.label_scoring, desc=f"{prep.task.name}/{prep.spec.spec}")
    result: dict[str, Any] = metrics.accuracy(preds, [r["label"] for r in prep.rows])
    result["signature"] = metrics.signature("acc", method=used, labels=",".join(names))
    majority = metrics.majority_baseline([names[r["label"]] for r in prep.rows], order=names)
    result.update(majority, constant_prediction=metrics.constant_prediction([names[p] for p in preds]))
    samples = [
        {
            "text": r["text"],
            "text_pair": r.get("text_pair"),
            "reference": names[r["label"]],
            "output": names[p],
            "label_scores": dict(zip(names, sc)),
            "correct": p == r["label"],
        }
        for r, p, sc in zip(prep.rows, preds, scores)
    ]
    return Scored(result, samples, {"labels": names, "label_scoring": used, "label_lang": req.label_lang})


def _judge(req: Any, rows: list[dict[str, Any]], outputs: list[str], samples: list[dict[str, Any]]) -> dict[str, Any]:
    if not req.judge_model:
        raise InputError("--judge-endpoint needs --judge-model")
    endpoint = Endpoint(req.judge_endpoint, req.judge_model, req.api_key_env)
    items = [
        {
            "id": r["id"],
            "instruction": r["instruction"] + (f"\n\n{r['input']}" if r["input"] else ""),
            "a": o,
            "b": r["output"],
        }
        for r, o in zip(rows, outputs)
    ]
    summary, verdicts = compare(endpoint, items)
    for s, v in zip(samples, verdicts):
        s["judge"] = {k: v.get(k) for k in ("winner", "score_a", "score_b", "junk", "errors")}
    return {"judge_win_rate": summary["win_rate"], "judge": summary}


Evaluate = Callable[[Answerer, Prepared, list[str], Any], Scored]

# Kind of task → what it does with its prompts.
EVALUATE: dict[str, Evaluate] = {
    "qa": evaluate_qa,
    "translation": evaluate_translation,
    "math": evaluate_math,
    "instruct": evaluate_instruct,
    "classification": evaluate_labels,
}
