"""Instruction data for the mixtures: instruction records in a language, their chat examples, and the
question pairs of question alignment.

Records come from the shipped ``polyinstruct`` set or from files in any instruction format
(alpaca, sharegpt, messages; ``LANG=PATH`` for a language other than English, a column mapping
after ``#``). :mod:`polyalign.data.mixtures` mixes what these functions return.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data import filters, resources, shipped
from polyalign.data.records import ParallelPair, alpaca_user, detect_format, make_example, read_instructions
from polyalign.io import InputError
from polyalign.rows import split_columns


def instruction_records(specs: Iterable[str], lang: str, split: str = "train") -> list[dict[str, Any]]:
    """Instruction records in ``lang`` from each spec: ``polyinstruct`` or a file (any format).

    Alpaca records stay ``{"id", "instruction", "input", "output"}``; conversations come back as
    ``{"id", "messages"}``. For a file, ``spec`` may be ``LANG=PATH``, and only specs of ``lang``
    (or without a language, for English) are read; a column mapping may follow
    (``hf:ORG/NAME#instruction=question,output=answer``; alpaca fields then).
    """
    code = langs.base(lang)
    out: list[dict[str, Any]] = []
    for spec in specs:
        if spec == "polyinstruct":
            out.extend({**r, "origin": shipped.POLYINSTRUCT_VERSION} for r in resources.polyinstruct(code, split))
            continue
        source, columns = split_columns(spec, code)
        spec_lang, _, path = source.partition("=") if _has_lang_prefix(source) else ("en", "", source)
        if langs.base(spec_lang) != code:
            continue
        fmt = "alpaca" if columns else detect_format(path)
        before = len(out)
        for r in read_instructions(path, fmt, columns):
            out.append({**r, "origin": f"file:{Path(path).name}"})
        if len(out) == before:
            raise InputError("holds no instruction records (an empty file)", path)
    return out


def _has_lang_prefix(spec: str) -> bool:
    """``es=path`` names a language; ``path`` alone is English."""
    head, sep, _ = spec.partition("=")
    if not sep or "/" in head or "." in head:
        return False
    try:
        langs.normalize(head)
        return True
    except InputError:
        return False


def instruction_examples(records: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Chat examples from instruction records: the instruction (and its input) asks, the output answers."""
    out = []
    for r in records:
        meta = {"task": "instruction", "lang": lang, "origin": r.get("origin", "")}
        if "messages" in r:
            out.append({"id": f"inst-{lang}-{r['id']}", "messages": r["messages"], "meta": meta})
            continue
        user = alpaca_user(r["instruction"], r.get("input", ""))
        out.append(make_example(f"inst-{lang}-{r['id']}", user, r["output"], meta))
    return out


def question_pairs(instructions: Sequence[str], lang: str, split: str) -> tuple[list[ParallelPair], Counter]:
    """``(question in lang, English question)`` pairs, matched by record id, de-duplicated."""
    counts: Counter = Counter()
    english = {r["id"]: r for r in instruction_records(instructions, "en", split) if "instruction" in r}
    seen: set[str] = set()
    out = []
    for r in instruction_records(instructions, lang, split):
        counts["read"] += 1
        en = english.get(r["id"])
        if en is None or "instruction" not in r:
            counts["dropped_unmatched"] += 1
            continue
        q = _question(r)
        key = filters.dedup_key(q)
        if key in seen:
            counts["dropped_duplicate"] += 1
            continue
        seen.add(key)
        out.append(ParallelPair(q, _question(en), langs.normalize(lang), "en", r.get("origin", "")))
    counts["kept"] = len(out)
    return out, counts


def polyqa_questions(lang: str, split: str = "dev") -> list[ParallelPair]:
    """Question-alignment pairs: each ``split`` question in ``lang`` with its English question, no answers.

    >>> pair = polyqa_questions("es")[0]
    >>> (pair.src_lang, pair.tgt_lang, pair.origin)
    ('es', 'en', 'polyqa_v1:dev')
    """
    code = resources.shipped_code(lang, resources.POLYQA_LANGUAGES, resources.POLYQA_VERSION)
    if code == "en":
        raise InputError("question-alignment pairs go from another language into English: 'en' has none")
    english = {r["id"]: r["question"] for r in resources.polyqa("en", split)}
    origin = f"{resources.POLYQA_VERSION}:{split}"
    return [
        ParallelPair(r["question"], english[r["id"]], code, "en", origin, {"id": r["id"]})
        for r in resources.polyqa(code, split)
    ]


def _question(r: dict[str, Any]) -> str:
    return r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
