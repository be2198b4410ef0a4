"""Evaluation prompts, versioned: a version never changes once shipped (a test pins each sha256).

``eval_v2`` is ``eval_v1`` plus the ``polysent`` template (the shipped sentiment set, whose labels
may be English or the evaluated language's words); every other template is ``eval_v1``'s, word
for word.

A prompt is built from one template per task: an English instruction, a query pattern, the answer
pattern used for demonstrations, and for classification the label words the model chooses between.
Two formats:

* ``chat``: a conversation for the model's chat template. The first user turn carries the
  instruction; each demonstration is a user turn (its query) and an assistant turn (its answer);
  the last user turn is the example's query.
* ``raw``: plain text for continuation: the instruction, then the demonstrations, then the query,
  separated by blank lines; the model continues after the query (``Answer:``).

For translation the chat prompt with no demonstrations is exactly ``mt_eval_v1``, the prompt the
embedded default run has always used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from polyalign import langs

PROMPT_VERSION = "eval_v2"

# Written for polyalign.
EVAL_V1: dict[str, dict[str, Any]] = {
    "qa": {
        "instruction": "Read the passage and answer the question with a short phrase copied from the passage.",
        "query": "Passage: {context}\nQuestion: {question}\nAnswer:",
        "query_chat": "Passage: {context}\nQuestion: {question}",
        "answer": "{answer}",
    },
    "translation": {
        "instruction": "Translate the following text from {src_name} to {tgt_name}. Reply with the translation only.",
        "query": "{src_name}: {src}\n{tgt_name}:",
        "query_chat": "{src}",
        "answer": "{tgt}",
    },
    "pawsx": {
        "instruction": "Do the two sentences mean the same thing? Answer yes or no.",
        "query": "Sentence 1: {text}\nSentence 2: {text_pair}\nAnswer:",
        "answer": "{label}",
        "labels": ["no", "yes"],
    },
    "xnli": {
        "instruction": "Does the premise imply the hypothesis? Answer true, false or neither.",
        "query": "Premise: {text}\nHypothesis: {text_pair}\nAnswer:",
        "answer": "{label}",
        "labels": ["true", "neither", "false"],
    },
    "sentiment": {
        "instruction": "Is the sentiment of this product review positive or negative?",
        "query": "Review: {text}\nSentiment:",
        "answer": "{label}",
        "labels": ["negative", "positive"],
    },
    "classification": {
        "instruction": "Classify the text. Answer with one of: {label_list}.",
        "query": "Text: {text}\nAnswer:",
        "query_pair": "Text 1: {text}\nText 2: {text_pair}\nAnswer:",
        "answer": "{label}",
    },
    "math": {
        "instruction": "Solve the math problem step by step, then give the final answer as a number.",
        "query": "Question: {question}\nAnswer:",
        "query_chat": "{question}",
        "answer": "{solution}",
        "answer_without_solution": "The answer is {answer_number}.",
    },
    "instruct": {
        "instruction": "",
        "query": "### Instruction:\n{instruction}{input_block}\n\n### Response:\n",
        "query_chat": "{instruction}{input_block}",
        "answer": "{output}",
    },
}

# Written for polyalign.
EVAL_V2: dict[str, dict[str, Any]] = {
    **EVAL_V1,
    "polysent": {
        "instruction": "Is the sentiment of this text positive or negative? Answer with one of: {label_list}.",
        "query": "Text: {text}\nSentiment:",
        "answer": "{label}",
        "labels": ["negative", "positive"],
    },
}

TEMPLATES: dict[str, dict[str, dict[str, Any]]] = {"eval_v1": EVAL_V1, "eval_v2": EVAL_V2}

# Text generation stops at these in raw format (a chat turn ends at the end-of-turn token).
RAW_STOP = {
    "qa": ["\n"],
    "translation": ["\n"],
    "math": ["\nQuestion:", "\n\n\n"],
    "instruct": ["\n### Instruction:"],
}


def template_sha256(version: str = PROMPT_VERSION) -> str:
    """sha256 of a template set's canonical JSON: what pins a version."""
    blob = json.dumps(TEMPLATES[version], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def labels(template: str, version: str = PROMPT_VERSION) -> list[str]:
    """The label words of a classification template (index = gold label id)."""
    return list(TEMPLATES[version][template]["labels"])


def _fields(
    example: dict[str, Any], src_lang: str | None, tgt_lang: str | None, label_names: Sequence[str] | None
) -> dict[str, Any]:
    f = dict(example)
    if src_lang:
        f["src_name"] = langs.name(src_lang)
    if tgt_lang:
        f["tgt_name"] = langs.name(tgt_lang)
    if label_names is not None:
        f["label_list"] = ", ".join(label_names)
    if "input" in f:
        f["input_block"] = f"\n\n{f['input']}" if f.get("input") else ""
    return f


def _query(t: dict[str, Any], f: dict[str, Any], fmt: str) -> str:
    key = "query_pair" if f.get("text_pair") and "query_pair" in t else "query"
    if fmt == "chat" and "query_chat" in t:
        key = "query_chat"
    return t[key].format(**f)


def _answer(t: dict[str, Any], f: dict[str, Any], label_names: Sequence[str] | None) -> str:
    if "label" in f and label_names is not None:
        return label_names[int(f["label"])]
    if "answers" in f:
        return t["answer"].format(answer=f["answers"][0])
    if "solution" in f and not f.get("solution"):
        n = f["answer_number"]
        return t["answer_without_solution"].format(answer_number=int(n) if float(n).is_integer() else n)
    return t["answer"].format(**f)


def build(
    template: str,
    example: dict[str, Any],
    demos: Sequence[dict[str, Any]] = (),
    fmt: Literal["chat", "raw"] = "chat",
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    label_names: Sequence[str] | None = None,
    version: str = PROMPT_VERSION,
) -> str | list[dict[str, str]]:
    """The prompt for ``example`` after ``demos``: a message list (chat) or a string (raw).

    >>> [m["content"].splitlines() for m in build("translation", {"src": "Open file"}, src_lang="en", tgt_lang="es")]
    [['Translate the following text from English to Spanish. Reply with the translation only.', '', 'Open file']]
    >>> print(build("pawsx", {"text": "A cat.", "text_pair": "One cat."}, fmt="raw", label_names=["no", "yes"]))
    Do the two sentences mean the same thing? Answer yes or no.
    <BLANKLINE>
    Sentence 1: A cat.
    Sentence 2: One cat.
    Answer:
    """
    t = TEMPLATES[version][template]
    if label_names is None and "labels" in t:
        label_names = t["labels"]
    f = _fields(example, src_lang, tgt_lang, label_names)
    instruction = t["instruction"].format(**f)
    shots = []
    for d in demos:
        df = _fields(d, src_lang, tgt_lang, label_names)
        shots.append((_query(t, df, fmt), _answer(t, df, label_names)))
    query = _query(t, f, fmt)
    if fmt == "raw":
        parts = (
            ([instruction] if instruction else [])
            + [f"{q} {a}" if q.endswith(":") else f"{q}{a}" for q, a in shots]
            + [query]
        )
        return "\n\n".join(parts)
    messages: list[dict[str, str]] = []
    for q, a in shots:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": query})
    if instruction:
        messages[0] = {"role": "user", "content": f"{instruction}\n\n{messages[0]['content']}"}
    return messages
