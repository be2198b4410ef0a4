"""The sets shipped with polyalign, written for it, parallel across languages, versioned and hash-pinned.

**polyinstruct v1** (``resources/polyinstruct_v1.jsonl``): general English instructions with short
reference answers, each translated into Spanish, French, German, Chinese, Arabic, Russian, Hindi,
Vietnamese, Turkish and Greek, split into train and test. The embedded default trains on the
English and Spanish train items; instruction-following evaluation (MI-Eval style) uses the test
items, which no builder ever trains on. One item a line::

    {"id": "pi-0001", "split": "train", "category": "science",
     "langs": {"en": {"instruction": ..., "input": ..., "output": ...}, "es": {...}, ...}}

**polyqa v1** (``resources/polyqa_v1/<lang>.json``): extractive QA in SQuAD/XQuAD format, one file
per language of :data:`POLYQA_LANGUAGES` (XQuAD's twelve); each paragraph carries its ``id`` and
``split`` (``dev``: few-shot demonstrations and question-alignment training; ``test``), the same in
every language. XQuAD readers ignore the extra keys.

**polyqa v2** (``resources/polyqa_v2/<lang>.json``): the same format and languages, harder and
closer to XQuAD (issue 20): paragraphs of 4–8 sentences, three paraphrased questions each, phrase
answers under one written span convention, few bare numerals; v1 stays as it was, pinned, so old
runs stay comparable. Its data card (``resources/polyqa_v2/README.md``) gives its numbers.

**polysent v1** (``resources/polysent_v1.jsonl``): binary sentiment in the sixteen
:data:`POLYSENT_LANGUAGES`; a header record (version, provenance, languages, label words per
language), then one item a line: ``{"id", "split": "demo"|"test", "label", "text": {lang: ...}}``.

**polymt v1** (``resources/polymt_v1/<lang>.jsonl``): general-domain sentences in the style of
FLORES (news, science, travel, health, daily life) in the sixteen :data:`POLYMT_LANGUAGES`, parallel;
a header line, then ``{"id", "split": "dev"|"test", "domain", "text"}`` a line, the same ids, splits
and domains in every language. Any two languages make a translation direction (:func:`polymt_pairs`).

polyqa, polysent and polymt were drafted with an LLM for polyalign (not professional translations);
each file states its provenance and what was checked. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data.shipped import (
    POLYINSTRUCT_LANGUAGES,
    POLYMT_LANGUAGES,
    POLYMT_VERSION,
    POLYQA2_VERSION,
    POLYQA_LANGUAGES,
    POLYQA_VERSION,
    POLYSENT_LANGUAGES,
    POLYSENT_VERSION,
)
from polyalign.io import InputError, iter_jsonl, read_json

FIELDS = ("instruction", "input", "output")


def polyinstruct_path() -> Path:
    """The shipped ``polyinstruct_v1.jsonl``."""
    return Path(str(package_files.files("polyalign") / "resources" / "polyinstruct_v1.jsonl"))


def polyinstruct_items(
    path: str | os.PathLike | None = None, languages: tuple[str, ...] = POLYINSTRUCT_LANGUAGES
) -> list[dict[str, Any]]:
    """Every item of the set, validated: ids unique, splits known, ``languages`` and their fields present.

    The shipped file holds all of :data:`POLYINSTRUCT_LANGUAGES`; a file of your own in the same format needs
    only the languages you read from it.
    """
    path = Path(path) if path is not None else polyinstruct_path()
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, rec in iter_jsonl(path):
        item_id = rec.get("id")
        if not isinstance(item_id, str) or item_id in seen:
            raise InputError(f"missing or repeated id {item_id!r}", path, line)
        seen.add(item_id)
        if rec.get("split") not in ("train", "test"):
            raise InputError(f"split must be 'train' or 'test', got {rec.get('split')!r}", path, line)
        table = rec.get("langs")
        if not isinstance(table, dict):
            raise InputError("missing 'langs' object", path, line)
        for code in languages:
            entry = table.get(code)
            if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) for f in FIELDS):
                raise InputError(f"language {code!r} needs string fields {', '.join(FIELDS)}", path, line)
            if not entry["instruction"].strip() or not entry["output"].strip():
                raise InputError(f"language {code!r} has an empty instruction or output", path, line)
        out.append(rec)
    return out


def polyinstruct(lang: str, split: str | None = None, path: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Alpaca records ``{"id", "instruction", "input", "output", "category"}`` of one language (and split).

    >>> rows = polyinstruct("es", "train")
    >>> sorted(rows[0])
    ['category', 'id', 'input', 'instruction', 'output']
    >>> len(polyinstruct("el")) == len(polyinstruct("en"))
    True
    """
    code = langs.base(lang)
    if path is None and code not in POLYINSTRUCT_LANGUAGES:
        raise InputError(f"polyinstruct v1 has no {lang!r}: it has {', '.join(POLYINSTRUCT_LANGUAGES)}")
    if split not in (None, "train", "test"):
        raise InputError(f"split must be 'train', 'test' or None, got {split!r}")
    return [
        {"id": it["id"], **{f: it["langs"][code][f] for f in FIELDS}, "category": it.get("category", "")}
        for it in polyinstruct_items(path, languages=(code,))
        if split is None or it["split"] == split
    ]


# --- polyqa v1 ------------------------------------------------------------------------------

POLYQA_SPLITS = ("dev", "test")


def shipped_code(lang: str, languages: tuple[str, ...], version: str) -> str:
    """The base code of ``lang`` when the shipped set ``version`` has it; else an :class:`InputError`."""
    code = langs.base(lang)
    if code not in languages:
        raise InputError(f"{version} has no {lang!r}: it has {', '.join(languages)}")
    return code


def _check_split(split: str | None, splits: tuple[str, ...]) -> None:
    if split is not None and split not in splits:
        raise InputError(f"split must be {' or '.join(repr(s) for s in splits)} or None, got {split!r}")


def polyqa_path(lang: str, version: str = POLYQA_VERSION) -> Path:
    """The shipped SQuAD-format file of one language (``resources/<version>/<lang>.json``)."""
    if version not in (POLYQA_VERSION, POLYQA2_VERSION):
        raise InputError(f"no shipped polyqa version {version!r}: {POLYQA_VERSION} or {POLYQA2_VERSION}")
    code = shipped_code(lang, POLYQA_LANGUAGES, version)
    return Path(str(package_files.files("polyalign") / "resources" / version / f"{code}.json"))


def polyqa(
    lang: str, split: str | None = None, path: str | os.PathLike | None = None, version: str = POLYQA_VERSION
) -> list[dict[str, Any]]:
    """QA rows of one language (and split) of ``version`` (v1 or v2), in file order, validated.

    Each row is ``{"id", "title", "split", "context", "question", "answers", "answer_starts"}``
    (``answers``: the gold texts, as :func:`polyalign.eval.datasets.read_squad` gives them). ``path``
    reads your own SQuAD/XQuAD-format file instead; its paragraphs without a ``split`` are ``test``.

    >>> rows = polyqa("de", "dev")
    >>> rows[0]["context"][rows[0]["answer_starts"][0]:].startswith(rows[0]["answers"][0])
    True
    """
    _check_split(split, POLYQA_SPLITS)
    path = Path(path) if path is not None else polyqa_path(lang, version)
    doc = read_json(path)
    articles = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(articles, list):
        raise InputError("not a SQuAD-format file: no 'data' list at the top", path)
    rows: list[dict[str, Any]] = []
    for a, article in enumerate(articles):
        for p, para in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            where = f"data[{a}].paragraphs[{p}]"
            part = para.get("split", "test")
            if part not in POLYQA_SPLITS or not isinstance(para.get("context"), str):
                raise InputError(f"{where}: needs a 'context' string and a split 'dev' or 'test'", path)
            for q, qa in enumerate(para.get("qas", [])):
                answers = qa.get("answers") if isinstance(qa, dict) else None
                if not answers or not isinstance(qa.get("question"), str) or "id" not in qa:
                    raise InputError(f"{where}.qas[{q}]: needs 'id', 'question' and gold 'answers'", path)
                if split is None or part == split:
                    rows.append(
                        {
                            "id": str(qa["id"]),
                            "title": article.get("title", ""),
                            "split": part,
                            "context": para["context"],
                            "question": qa["question"],
                            "answers": [ans["text"] for ans in answers],
                            "answer_starts": [ans.get("answer_start", -1) for ans in answers],
                        }
                    )
    return rows


# --- polysent v1 ----------------------------------------------------------------------------

POLYSENT_SPLITS = ("demo", "test")


def polysent_path() -> Path:
    """The shipped ``polysent_v1.jsonl``."""
    return Path(str(package_files.files("polyalign") / "resources" / f"{POLYSENT_VERSION}.jsonl"))


def _polysent_records(path: str | os.PathLike | None) -> tuple[Path, dict[str, Any], list[tuple[int, dict]]]:
    path = Path(path) if path is not None else polysent_path()
    header: dict[str, Any] = {}
    items = []
    for line, rec in iter_jsonl(path):
        if rec.get("header") is True:
            if line != 1:
                raise InputError("a header record must be the first line", path, line)
            header = rec
        else:
            items.append((line, rec))
    return path, header, items


def polysent_header(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The header record (version, provenance, languages, label words); ``{}`` for a file without one."""
    return _polysent_records(path)[1]


def polysent_items(
    split: str | None = None, path: str | os.PathLike | None = None, languages: Sequence[str] = POLYSENT_LANGUAGES
) -> list[dict[str, Any]]:
    """Items ``{"id", "split", "label", "text": {lang: text}}`` (of one split), validated.

    ``path`` reads your own file in the same format: the header is optional, an item without a
    ``split`` is ``test``, and it needs only the ``languages`` you read from it.
    """
    _check_split(split, POLYSENT_SPLITS)
    path, _, records = _polysent_records(path)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, rec in records:
        item_id = rec.get("id")
        if not isinstance(item_id, str) or item_id in seen:
            raise InputError(f"missing or repeated id {item_id!r}", path, line)
        seen.add(item_id)
        item = {"id": item_id, "split": rec.get("split", "test"), "label": rec.get("label"), "text": rec.get("text")}
        if item["split"] not in POLYSENT_SPLITS:
            raise InputError(f"split must be 'demo' or 'test', got {item['split']!r}", path, line)
        if not isinstance(item["label"], str) or not item["label"]:
            raise InputError("missing 'label'", path, line)
        text = item["text"]
        for code in languages:
            if not isinstance(text, dict) or not isinstance(text.get(code), str) or not text[code].strip():
                raise InputError(f"missing text in {code!r}", path, line)
        if split is None or item["split"] == split:
            out.append(item)
    return out


def polysent(lang: str, split: str | None = None, path: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Rows ``{"id", "split", "label", "text"}`` of one language (and split).

    >>> rows = polysent("sw", "demo")
    >>> len(rows), sorted({r["label"] for r in rows})
    (40, ['negative', 'positive'])
    """
    code = langs.base(lang) if path is not None else shipped_code(lang, POLYSENT_LANGUAGES, POLYSENT_VERSION)
    return [
        {"id": it["id"], "split": it["split"], "label": it["label"], "text": it["text"][code]}
        for it in polysent_items(split, path, languages=(code,))
    ]


def polysent_labels(lang: str, path: str | os.PathLike | None = None) -> dict[str, str]:
    """The label words in ``lang``: ``{"positive": ..., "negative": ...}`` from the file's header.

    A file without label words for English uses its label names as they are.

    >>> polysent_labels("es")
    {'positive': 'positivo', 'negative': 'negativo'}
    """
    code = langs.base(lang) if path is not None else shipped_code(lang, POLYSENT_LANGUAGES, POLYSENT_VERSION)
    where, header, records = _polysent_records(path)
    words = header.get("labels", {}).get(code)
    if isinstance(words, dict):
        return dict(words)
    if code == "en":
        names = dict.fromkeys(rec.get("label") for _, rec in records)
        return {label: label for label in names if isinstance(label, str)}
    raise InputError(f"no label words for {lang!r} in the header", where, 1)


# --- polymt v1 ------------------------------------------------------------------------------

POLYMT_SPLITS = ("dev", "test")
POLYMT_DOMAINS = ("news", "science", "travel", "health", "daily")
"""FLORES-style general domains; every sentence has one."""


def polymt_dir() -> Path:
    """The shipped folder ``resources/polymt_v1/`` (one ``<lang>.jsonl`` per language)."""
    return Path(str(package_files.files("polyalign") / "resources" / POLYMT_VERSION))


def polymt_path(lang: str, root: str | os.PathLike | None = None) -> Path:
    """The file of one language: ``<root>/<lang>.jsonl`` (``root``: the shipped folder by default).

    ``root`` may also hold ``{lang}``: the path of each language's file.
    """
    if root is None:
        return polymt_dir() / f"{shipped_code(lang, POLYMT_LANGUAGES, POLYMT_VERSION)}.jsonl"
    code = langs.base(lang)
    text = str(root)
    return Path(text.format(lang=code)) if "{lang}" in text else Path(text) / f"{code}.jsonl"


def polymt_file(lang: str, root: str | os.PathLike | None = None) -> tuple[Path, dict[str, Any], list[dict[str, str]]]:
    """``(path, header, rows)`` of one language's file, validated.

    The first line is a header ``{"header": true, "version", "lang", "provenance"}`` (optional in a
    file of your own; when present its ``lang`` must be the file's), then one row a line
    ``{"id", "split": "dev"|"test", "domain", "text"}`` with unique ids and non-empty text.
    """
    path = polymt_path(lang, root)
    if not path.is_file():
        where = "is not installed here" if root is None else "has no file for this language"
        raise InputError(f"{POLYMT_VERSION if root is None else 'the polymt folder'} {where}", path)
    code = langs.base(lang)
    header: dict[str, Any] = {}
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for line, rec in iter_jsonl(path):
        if rec.get("header") is True:
            if line != 1:
                raise InputError("a header record must be the first line", path, line)
            if rec.get("lang") not in (None, code):
                raise InputError(f"the header says lang {rec.get('lang')!r} in the file of {code!r}", path, line)
            header = rec
            continue
        item_id, split, domain, text = (rec.get(k) for k in ("id", "split", "domain", "text"))
        if not isinstance(item_id, str) or not item_id or item_id in seen:
            raise InputError(f"missing or repeated id {item_id!r}", path, line)
        seen.add(item_id)
        if split not in POLYMT_SPLITS:
            raise InputError(f"split must be 'dev' or 'test', got {split!r}", path, line)
        if not isinstance(domain, str) or not domain:
            raise InputError("missing 'domain'", path, line)
        if not isinstance(text, str) or not text.strip():
            raise InputError("missing or empty 'text'", path, line)
        rows.append({"id": item_id, "split": split, "domain": domain, "text": text})
    return path, header, rows


def polymt_header(lang: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """One language file's header (version, lang, provenance); ``{}`` for a file without one."""
    return polymt_file(lang, root)[1]


def polymt(lang: str, split: str | None = None, root: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Rows ``{"id", "split", "domain", "text"}`` of one language (and split), in file order.

    ``root``: a folder of ``<lang>.jsonl`` files in the same format (or a path holding ``{lang}``)
    instead of the shipped set.
    """
    _check_split(split, POLYMT_SPLITS)
    return [r for r in polymt_file(lang, root)[2] if split is None or r["split"] == split]


def polymt_pairs(
    src: str, tgt: str, split: str | None = None, root: str | os.PathLike | None = None
) -> list[dict[str, str]]:
    """Translation rows ``{"id", "src", "tgt", "domain"}`` from ``src`` into ``tgt`` (and one split).

    The two files must be parallel: the same ids in the same order, with the same split and
    domain each; the first difference is an error naming the target file and line.
    """
    _check_split(split, POLYMT_SPLITS)
    _, _, a = polymt_file(src, root)
    tgt_path, header, b = polymt_file(tgt, root)
    first = 2 if header else 1
    for n, (x, y) in enumerate(zip(a, b)):
        if (x["id"], x["split"], x["domain"]) != (y["id"], y["split"], y["domain"]):
            raise InputError(
                f"not parallel to the {src} file: {y['id']} ({y['split']}, {y['domain']}) where it has "
                f"{x['id']} ({x['split']}, {x['domain']})",
                tgt_path,
                first + n,
            )
    if len(a) != len(b):
        raise InputError(f"{len(b)} rows but the {src} file has {len(a)}", tgt_path, first + min(len(a), len(b)))
    return [
        {"id": x["id"], "src": x["text"], "tgt": y["text"], "domain": x["domain"]}
        for x, y in zip(a, b)
        if split is None or x["split"] == split
    ]


# --- parallel sentences ---------------------------------------------------------------------


def parallel_sentences(
    languages: Sequence[str], source: str = "polysent", split: str | None = None
) -> list[dict[str, str]]:
    """Multi-way parallel sentences for the layer analysis: ``{lang: text}`` per item, in id order.

    ``source`` is ``polysent`` (one-sentence reviews, 16 languages) or ``polyqa`` (the questions,
    12 languages); ``split`` one of that set's splits or None for all.

    >>> rows = parallel_sentences(["en", "ja"], split="demo")
    >>> len(rows), sorted(rows[0])
    (40, ['en', 'ja'])
    """
    if source == "polysent":
        codes = [shipped_code(c, POLYSENT_LANGUAGES, POLYSENT_VERSION) for c in languages]
        return [{c: it["text"][c] for c in codes} for it in polysent_items(split, languages=codes)]
    if source == "polyqa":
        codes = [shipped_code(c, POLYQA_LANGUAGES, POLYQA_VERSION) for c in languages]
        columns = [polyqa(c, split) for c in codes]
        return [{c: row["question"] for c, row in zip(codes, rows)} for rows in zip(*columns)]
    raise InputError(f"source must be 'polysent' or 'polyqa', got {source!r}")
