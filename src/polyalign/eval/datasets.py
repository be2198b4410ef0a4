"""Readers for evaluation data: each benchmark's native files, and its Hugging Face columns.

Every reader returns plain dicts of one shape per kind of task:

* QA: ``{"id", "context", "question", "answers": [str, ...]}``
* translation: ``{"id", "src", "tgt"}``
* classification: ``{"id", "text", "text_pair" (or None), "label": int}``
* math: ``{"id", "question", "answer_number": float, "solution" (or None)}``
* instructions: ``{"id", "instruction", "input", "output"}``

Native formats: SQuAD-style JSON (XQuAD, MLQA), FLORES-200 text files and FLORES+ parquet/JSONL,
PAWS-X and XNLI TSV, MARC JSON lines, MGSM TSV, polyinstruct JSONL, and plain JSONL/TSV for local
tasks. Hugging Face rows (from ``datasets``, the hub, or a local parquet/arrow file) go through the
``*_from_hf`` mappers. Bad input is an :class:`~polyalign.io.InputError` naming the file and line.
No torch here; ``datasets`` is imported only to read from the hub or parquet/arrow files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from polyalign.eval.types import Row
from polyalign.io import InputError, iter_jsonl, read_json, read_lines
from polyalign.rows import iter_hf, iter_table

# ---------------------------------------------------------------------------------------------
# QA: SQuAD / XQuAD / MLQA


def read_squad(path: str | Path) -> list[Row]:
    """QA examples from a SQuAD v1-format JSON file (``data/paragraphs/qas/answers``)."""
    doc = read_json(path)
    articles = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(articles, list):
        raise InputError("not a SQuAD-format file: no 'data' list at the top", path)
    rows = []
    for a, article in enumerate(articles):
        for p, para in enumerate(_get(article, "paragraphs", path, f"data[{a}]")):
            context = _get(para, "context", path, f"data[{a}].paragraphs[{p}]")
            for q, qa in enumerate(_get(para, "qas", path, f"data[{a}].paragraphs[{p}]")):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                answers = [_get(ans, "text", path, where + ".answers") for ans in _get(qa, "answers", path, where)]
                if not answers:
                    raise InputError(f"{where}: no gold answers", path)
                rows.append(
                    {
                        "id": str(_get(qa, "id", path, where)),
                        "context": context,
                        "question": _get(qa, "question", path, where),
                        "answers": answers,
                    }
                )
    return rows


def read_squad_items(path: str | Path) -> list[tuple[str, list[str]]]:
    """``(id, gold answers)`` of every question in a SQuAD/MLQA file, for ``polyalign score qa``."""
    return [(r["id"], r["answers"]) for r in read_squad(path)]


def read_predictions(path: str | Path) -> dict[str, str]:
    """Predictions ``{question id: answer text}`` (the SQuAD/MLQA prediction file)."""
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise InputError("predictions must be a JSON object {id: answer}", path, 1)
    bad = next((k for k, v in doc.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise InputError(f"prediction for {bad!r} is not a string", path)
    return doc


def qa_from_hf(rows: Iterable[Row]) -> list[Row]:
    """QA examples from Hugging Face rows (``google/xquad``, ``facebook/mlqa``): ``answers.text``."""
    return [
        {"id": str(r["id"]), "context": r["context"], "question": r["question"], "answers": list(r["answers"]["text"])}
        for r in rows
    ]


def read_local_qa(path: str | Path) -> list[Row]:
    """A local QA file: SQuAD JSON, or JSONL rows with ``context``, ``question``, ``answers``."""
    if Path(path).suffix == ".json":
        return read_squad(path)
    rows = []
    for n, r in iter_jsonl(path):
        for key in ("context", "question", "answers"):
            if key not in r:
                raise InputError(f"missing {key!r}", path, n)
        answers = r["answers"]["text"] if isinstance(r["answers"], dict) else r["answers"]
        if isinstance(answers, str):
            answers = [answers]
        if not answers:
            raise InputError("no gold answers", path, n)
        rows.append(
            {"id": str(r.get("id", n)), "context": r["context"], "question": r["question"], "answers": list(answers)}
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Translation: FLORES-200, FLORES+, local pairs

# FLORES+ renamed a few FLORES-200 codes.
FLORES_ALIASES = {"zho_Hans": ("zho_Hans", "cmn_Hans"), "zho_Hant": ("zho_Hant", "cmn_Hant")}


def flores_codes(code: str) -> tuple[str, ...]:
    return FLORES_ALIASES.get(code, (code,))


def read_flores_side(root: str | Path, code: str, split: str) -> list[str]:
    """One language's sentences of a FLORES split, from a FLORES-200 or FLORES+ folder.

    Looks (recursively under ``root``) for ``{code}.{split}`` (FLORES-200 text, one sentence a
    line), ``{code}.parquet`` or ``{code}.jsonl`` in a ``{split}`` folder (FLORES+, column ``text``).
    """
    root = Path(root)
    for c in flores_codes(code):
        for name, parent in ((f"{c}.{split}", None), (f"{c}.parquet", split), (f"{c}.jsonl", split), (c, split)):
            found = sorted(p for p in root.rglob(name) if p.is_file() and (parent is None or p.parent.name == parent))
            if found:
                return _read_sentences(found[0])
    raise InputError(f"no FLORES file for {code} ({split}) under this folder", root)


def _read_sentences(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return [r["text"] for r in hf_rows(str(path), None, "")]
    if path.suffix == ".jsonl":
        out = []
        for n, r in iter_jsonl(path):
            if "text" not in r:
                raise InputError("missing 'text'", path, n)
            out.append(r["text"])
        return out
    return read_lines(path)


def flores_pairs(src: list[str], tgt: list[str], src_path: Any = None) -> list[Row]:
    if len(src) != len(tgt):
        raise InputError(f"FLORES sides differ in length: {len(src)} source and {len(tgt)} target sentences", src_path)
    return [{"id": str(i), "src": s, "tgt": t} for i, (s, t) in enumerate(zip(src, tgt))]


def flores_from_hf(rows: Iterable[Row], src_code: str, tgt_code: str) -> list[Row]:
    """Pairs from the old ``facebook/flores`` rows (``sentence_{code}`` columns, one row per id)."""
    out = []
    for i, r in enumerate(rows):
        s = _first_key(r, [f"sentence_{c}" for c in flores_codes(src_code)])
        t = _first_key(r, [f"sentence_{c}" for c in flores_codes(tgt_code)])
        out.append({"id": str(r.get("id", i)), "src": s, "tgt": t})
    return out


def read_local_translation(path: str | Path) -> list[Row]:
    """Local translation pairs: JSONL with ``src`` and ``tgt``, or TSV ``source<TAB>target``."""
    path = Path(path)
    if path.suffix in (".tsv", ".txt"):
        return [{"id": str(n), "src": a, "tgt": b} for n, a, b in _two_columns(path, "source<TAB>target")]
    rows = []
    for n, r in iter_jsonl(path):
        if "src" not in r or "tgt" not in r:
            raise InputError("a translation row needs 'src' and 'tgt'", path, n)
        rows.append({"id": str(r.get("id", n)), "src": r["src"], "tgt": r["tgt"]})
    return rows


# ---------------------------------------------------------------------------------------------
# Classification: PAWS-X, XNLI, MARC sentiment, local


def read_pawsx_tsv(path: str | Path) -> list[Row]:
    """PAWS-X's TSV (``id sentence1 sentence2 label`` with a header); label 1 = paraphrase."""
    rows = []
    for n, r in _tsv_rows(path, ("sentence1", "sentence2", "label")):
        rows.append(
            {
                "id": str(r.get("id") or n),
                "text": r["sentence1"],
                "text_pair": r["sentence2"],
                "label": _int(r["label"], path, n),
            }
        )
    return rows


def pawsx_from_hf(rows: Iterable[Row]) -> list[Row]:
    return [
        {"id": str(r["id"]), "text": r["sentence1"], "text_pair": r["sentence2"], "label": int(r["label"])}
        for r in rows
    ]


XNLI_LABELS = ("entailment", "neutral", "contradiction")


def read_xnli_tsv(path: str | Path, lang: str) -> list[Row]:
    """XNLI 1.0's ``xnli.{dev,test}.tsv``: rows of language ``lang``; label = index in XNLI_LABELS."""
    rows = []
    for n, r in _tsv_rows(path, ("language", "gold_label", "sentence1", "sentence2")):
        if r["language"] != lang:
            continue
        if r["gold_label"] not in XNLI_LABELS:
            raise InputError(f"unknown gold_label {r['gold_label']!r}", path, n)
        rows.append(
            {
                "id": str(r.get("pairID") or n),
                "text": r["sentence1"],
                "text_pair": r["sentence2"],
                "label": XNLI_LABELS.index(r["gold_label"]),
            }
        )
    return rows


def xnli_from_hf(rows: Iterable[Row]) -> list[Row]:
    """``facebook/xnli`` rows: premise, hypothesis, label (0 entailment, 1 neutral, 2 contradiction)."""
    return [
        {"id": str(i), "text": r["premise"], "text_pair": r["hypothesis"], "label": int(r["label"])}
        for i, r in enumerate(rows)
    ]


def read_marc_jsonl(path: str | Path) -> list[Row]:
    """MARC (Multilingual Amazon Reviews) JSON lines, binarised: 1–2 stars → 0 negative, 4–5 → 1
    positive; 3-star reviews are dropped."""
    rows = []
    for n, r in iter_jsonl(path):
        for key in ("stars", "review_body"):
            if key not in r:
                raise InputError(f"missing {key!r}", path, n)
        label = _binarise_stars(_int(r["stars"], path, n), path, n)
        if label is None:
            continue
        text = "\n".join(t for t in (r.get("review_title"), r["review_body"]) if t)
        rows.append({"id": str(r.get("review_id", n)), "text": text, "text_pair": None, "label": label})
    return rows


def marc_from_hf(rows: Iterable[Row]) -> list[Row]:
    """``mteb/amazon_reviews_multi`` rows (``text``, ``label`` = stars − 1), binarised as above."""
    out = []
    for i, r in enumerate(rows):
        label = _binarise_stars(int(r["label"]) + 1, None, None)
        if label is not None:
            out.append({"id": str(r.get("id", i)), "text": r["text"], "text_pair": None, "label": label})
    return out


def _binarise_stars(stars: int, path: Any, line: int | None) -> int | None:
    if not 1 <= stars <= 5:
        raise InputError(f"stars must be 1..5, got {stars}", path, line)
    return None if stars == 3 else int(stars >= 4)


def read_local_classification(path: str | Path, labels: list[str] | None = None) -> tuple[list[Row], list[str]]:
    """Local classification JSONL (``text``, optional ``text_pair``, ``label``) and its label names.

    Labels are strings (their names are the answers the model chooses between); without an
    explicit list they are the sorted distinct labels found in the file.
    """
    raw = []
    for n, r in iter_jsonl(path):
        if "text" not in r or "label" not in r:
            raise InputError("a classification row needs 'text' and 'label'", path, n)
        raw.append((n, r))
    names = list(labels) if labels else sorted({str(r["label"]) for _, r in raw})
    if len(names) < 2:
        raise InputError("a classification task needs at least two labels", path)
    rows = []
    for n, r in raw:
        if str(r["label"]) not in names:
            raise InputError(f"label {r['label']!r} is not one of {names}", path, n)
        rows.append(
            {
                "id": str(r.get("id", n)),
                "text": r["text"],
                "text_pair": r.get("text_pair"),
                "label": names.index(str(r["label"])),
            }
        )
    return rows, names


# ---------------------------------------------------------------------------------------------
# Math: MGSM


def read_mgsm_tsv(path: str | Path) -> list[Row]:
    """MGSM's ``mgsm_{lang}.tsv``: ``question<TAB>answer_number``, no header."""
    return [
        {"id": str(n), "question": q, "answer_number": _float(a, path, n), "solution": None}
        for n, q, a in _two_columns(path, "question<TAB>answer")
    ]


def mgsm_from_hf(rows: Iterable[Row]) -> list[Row]:
    """``juletxara/mgsm`` rows: question, answer (a worked solution in the train split), answer_number."""
    return [
        {
            "id": str(i),
            "question": r["question"],
            "answer_number": float(r["answer_number"]),
            "solution": r.get("answer") or None,
        }
        for i, r in enumerate(rows)
    ]


# ---------------------------------------------------------------------------------------------
# Hugging Face


def hf_rows(source: str, config: str | None, split: str) -> list[Row]:
    """Rows of a Hugging Face dataset: a hub id, or a local parquet/arrow file or saved folder.

    Files and hub datasets are read by :mod:`polyalign.data.records`, as every other table is.
    """

    path = Path(source)
    if path.is_dir():
        return _saved_dataset_rows(path)
    if path.exists():
        if path.suffix not in (".parquet", ".arrow"):
            raise InputError("expected a .parquet or .arrow file or a saved dataset folder", path)
        return [row for _, row in iter_table(path)]
    spec = f"hf:{source}" + (f":{config}" if config else "") + f"@{split}"
    try:
        return [dict(row) for _, row in iter_hf(spec)]
    except InputError as e:
        raise InputError(
            f"cannot load {source} ({config}, {split}) from the hub: {e.message}; "
            "pass local files with --data TASK=PATH"
        ) from None


def _saved_dataset_rows(path: Path) -> list[Row]:
    try:
        import datasets
    except ImportError:
        raise InputError("reading a saved dataset needs datasets: pip install 'polyalign[hf]'", path) from None
    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        raise InputError("a saved DatasetDict: point at one split's folder", path)
    return [dict(r) for r in ds]


def is_hf_file(path: str | Path) -> bool:
    """Whether ``path`` holds Hugging Face rows (parquet, arrow, a ``save_to_disk`` folder)."""
    p = Path(path)
    return p.suffix in (".parquet", ".arrow") or (p.is_dir() and (p / "dataset_info.json").is_file())


# ---------------------------------------------------------------------------------------------
# Small helpers


def _get(obj: Any, key: str, path: Any, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise InputError(f"{where}: missing {key!r}", path)
    return obj[key]


def _first_key(row: Row, keys: list[str]) -> Any:
    for k in keys:
        if k in row:
            return row[k]
    raise InputError(f"no column {' or '.join(keys)} in the dataset")


def _two_columns(path: str | Path, what: str) -> Iterable[tuple[int, str, str]]:
    """``(line number, first, second)`` of a headerless two-column TSV file; blank lines skipped."""
    for n, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise InputError(f"expected {what}, got {len(parts)} columns", path, n)
        yield n, parts[0], parts[1]


def _tsv_rows(path: str | Path, required: tuple[str, ...]) -> Iterable[tuple[int, Row]]:
    lines = read_lines(path)
    if not lines:
        raise InputError("empty TSV file", path)
    # Sentences may hold quote characters: no quoting, tabs only.
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"TSV header lacks {', '.join(missing)}", path, 1)
    for n, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) < len(header):
            raise InputError(f"expected {len(header)} columns, got {len(values)}", path, n)
        yield n, dict(zip(header, values))


def _int(value: Any, path: Any, line: int | None) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"expected an integer, got {value!r}", path, line) from None


def _float(value: Any, path: Any, line: int | None) -> float:
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        raise InputError(f"expected a number, got {value!r}", path, line) from None


def dumps(rows: list[Row]) -> str:
    """Rows as JSON Lines text (for writing fixtures and exports)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
