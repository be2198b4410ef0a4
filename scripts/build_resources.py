"""Build the shipped polyqa_v1, polyqa_v2 and polysent_v1 files from their parallel drafts, or check they rebuild.

    python scripts/build_resources.py --from-shipped --check          # the shipped files rebuild byte for byte
    python scripts/build_resources.py --from-shipped --write-drafts DIR  # the drafts, to edit for a new version
    python scripts/build_resources.py --polyqa QA1.jsonl QA2.jsonl QA3.jsonl \
        --polyqa2 PART1.jsonl ... PART6.jsonl --polysent S1.jsonl S2.jsonl --out src/polyalign/resources

Drafts hold one record a line:

* QA: ``{"id": "pq001", "topic": ..., "context": {LANG: text},
  "qas": [{"qid": "pq001-1", "question": {LANG: ...}, "answer": {LANG: ...}}]}`` (polyqa_v2: ids
  ``v2p001``..., three questions each, checked first by ``scripts/check_polyqa_drafts.py``)
* sentiment: ``{"id": "ps001", "label": "positive"|"negative", "text": {LANG: ...}}``

The v1 drafts were written outside the repository and are not kept; everything they held is in
the shipped files (texts, ids, topics, labels), and everything else the build adds lives here
(provenance, label words, the split rules). ``--from-shipped`` recovers the drafts from the shipped
files (:func:`drafts_from_shipped`), so the inputs of the build are in the repository and
``--check`` proves the build reproduces every shipped byte (tests/unit/test_build_resources.py).
What it cannot recover is how the drafts were first written (an LLM's drafts, edited by hand):
that is told in each set's data card (``resources/*/README.md``, ``resources/*_CARD.md``).

polyinstruct_v1 and polymt_v1 are not built here: their shipped files are written as they are
(one JSON record a line) and are themselves the inputs.

The output is deterministic (same drafts, same bytes); the versioned files it writes are committed
and pinned by tests/unit/data/test_resources.py, so a ``_v1`` file never changes once shipped.
Every answer must occur exactly once in its context: ``answer_start`` is that occurrence, and the
build stops on an answer that is missing or ambiguous rather than guessing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign.data import resources
from polyalign.io import InputError, atomic_write, iter_jsonl, read_json

QA_DEV_EVERY = 5
"""Every 5th paragraph (pq005, pq010, ...) is dev: 30 of 150, ten from each draft part."""
SENT_DEMO_PER_LABEL = 20
"""Demonstrations per label, evenly spaced over the items of that label in id order."""

QA_PROVENANCE = (
    "Written for polyalign by its authors: short paragraphs on everyday facts, places, people, science and "
    "history, with one or two extractive questions each, drafted in all twelve languages with the help of an "
    "LLM; not professional translations, and the people and places some paragraphs name are invented. "
    "Checked by the build and by polyalign's tests: every answer occurs exactly once in its context and "
    "answer_start is that occurrence; the same paragraphs, question ids and answer counts in every language; "
    "every context, question and answer is written in its language's script; langid (restricted to these "
    "twelve languages) identifies every context and question as its language, except four short questions "
    "dominated by names, read by hand. Split: every 5th paragraph is 'dev' (few-shot demonstrations and "
    "question-alignment training), the rest 'test'; the split is the same in every language."
)
QA2_PROVENANCE = (
    "Written for polyalign by its authors: paragraphs of 4 to 8 sentences in an encyclopedic style on 36 topics, "
    "mixing general knowledge with invented specifics (people, places, dates, quantities) so that most answers "
    "cannot be known without the paragraph, three paraphrased extractive questions each; drafted in English and "
    "translated into the other eleven languages by LLM writing agents following a written brief, then checked "
    "by scripts/check_polyqa_drafts.py and polyalign's tests: one span convention in every language (the "
    "shortest phrase of the context that answers, whole words, occurring once, no leading article, no final "
    "punctuation, numbers with their unit and the same digits in every language); every letter in its "
    "language's script; langid identifies every context and question; bare-numeral answers at most 15%; a "
    "trivial reader at most 15% exact match in every language; no near-duplicate paragraphs. Not professional "
    "translations. Split: every 5th paragraph is 'dev' (few-shot demonstrations), the rest 'test'; the same "
    "in every language."
)
SENT_PROVENANCE = (
    "Written for polyalign by its authors: short product reviews and everyday remarks with a plain positive "
    "or negative sentiment (no sarcasm), drafted in all sixteen languages with the help of an LLM; not "
    "professional translations. Checked by polyalign's tests: the same ids and labels in every language, "
    "labels balanced overall and in each split, every text written in its language's script and "
    "identified by langid (restricted to these sixteen languages) as its language. Split: 20 positive and "
    "20 negative 'demo' items (evenly spaced in id order) for few-shot prompts, the rest 'test'. The label "
    "words in each language (header 'labels') were written by the authors."
)

SENT_LABELS = {
    "en": ("positive", "negative"),
    "es": ("positivo", "negativo"),
    "de": ("positiv", "negativ"),
    "el": ("θετικό", "αρνητικό"),
    "ru": ("положительный", "отрицательный"),
    "tr": ("olumlu", "olumsuz"),
    "ar": ("إيجابي", "سلبي"),
    "vi": ("tích cực", "tiêu cực"),
    "th": ("เชิงบวก", "เชิงลบ"),
    "zh": ("正面", "负面"),
    "hi": ("सकारात्मक", "नकारात्मक"),
    "ro": ("pozitiv", "negativ"),
    "fr": ("positif", "négatif"),
    "ja": ("ポジティブ", "ネガティブ"),
    "sw": ("chanya", "hasi"),
    "bn": ("ইতিবাচক", "নেতিবাচক"),
}


def _read(paths: list[str]) -> list[tuple[str, int, dict[str, Any]]]:
    return [(p, n, rec) for p in paths for n, rec in iter_jsonl(p)]


def _texts(table: Any, languages: tuple[str, ...], what: str, path: str, line: int) -> dict[str, str]:
    if not isinstance(table, dict) or set(table) != set(languages):
        got = sorted(table) if isinstance(table, dict) else table
        raise InputError(f"{what}: languages must be {', '.join(languages)}, got {got}", path, line)
    for code, text in table.items():
        if not isinstance(text, str) or not text.strip() or text != text.strip():
            raise InputError(f"{what}: {code} text is empty, not a string, or has outer spaces", path, line)
    return {code: table[code] for code in languages}


@dataclass(frozen=True)
class QASet:
    """What differs between the QA versions' builds: ids, questions per paragraph, provenance."""

    version: str
    prefix: str
    questions: tuple[int, int]
    provenance: str
    consecutive: bool  # v1's ids run pq001, pq002, ... with no gap; v2's only increase


def _qa_sets() -> dict[str, QASet]:
    return {
        resources.POLYQA_VERSION: QASet(resources.POLYQA_VERSION, "pq", (1, 2), QA_PROVENANCE, True),
        resources.POLYQA2_VERSION: QASet(resources.POLYQA2_VERSION, "v2p", (3, 3), QA2_PROVENANCE, False),
    }


def build_polyqa(paths: list[str], version: str = resources.POLYQA_VERSION) -> dict[str, dict[str, Any]]:
    """One SQuAD-format document per language, from the QA drafts in order."""
    qa_set = _qa_sets()[version]
    languages = resources.POLYQA_LANGUAGES
    docs = {code: {"version": version, "provenance": qa_set.provenance, "data": []} for code in languages}
    articles: dict[str, dict[str, list]] = {code: {} for code in languages}
    seen: set[str] = set()
    last = 0
    for number, (path, line, rec) in enumerate(_read(paths), start=1):
        pid = rec.get("id")
        digits = pid[len(qa_set.prefix) :] if isinstance(pid, str) and pid.startswith(qa_set.prefix) else ""
        ordinal = int(digits) if digits.isdigit() and len(digits) == 3 else 0
        in_order = ordinal == number if qa_set.consecutive else ordinal > last
        if not in_order or pid in seen:
            want = f"{qa_set.prefix}{number:03d}" if qa_set.consecutive else f"an id after {qa_set.prefix}{last:03d}"
            raise InputError(f"paragraph id {pid!r} out of order: expected {want}", path, line)
        seen.add(pid)
        last = ordinal
        context = _texts(rec.get("context"), languages, f"{pid} context", path, line)
        qas = rec.get("qas")
        low, high = qa_set.questions
        if not isinstance(qas, list) or not low <= len(qas) <= high:
            raise InputError(f"{pid}: needs {low}{'' if low == high else f' to {high}'} questions", path, line)
        split = "dev" if number % QA_DEV_EVERY == 0 else "test"
        paragraphs = {code: {"id": pid, "split": split, "context": context[code], "qas": []} for code in languages}
        for k, qa in enumerate(qas, start=1):
            qid = qa.get("qid")
            if qid != f"{pid}-{k}":
                raise InputError(f"question id {qid!r}: expected {pid}-{k}", path, line)
            questions = _texts(qa.get("question"), languages, f"{qid} question", path, line)
            answers = _texts(qa.get("answer"), languages, f"{qid} answer", path, line)
            for code in languages:
                found = context[code].count(answers[code])
                if found != 1:
                    raise InputError(
                        f"{qid} {code}: answer {answers[code]!r} occurs {found} times in the context", path, line
                    )
                start = context[code].index(answers[code])
                paragraphs[code]["qas"].append(
                    {
                        "id": qid,
                        "question": questions[code],
                        "answers": [{"text": answers[code], "answer_start": start}],
                    }
                )
        topic = rec.get("topic")
        if not isinstance(topic, str) or not topic:
            raise InputError(f"{pid}: missing topic", path, line)
        for code in languages:
            articles[code].setdefault(topic, []).append(paragraphs[code])
    for code in languages:
        docs[code]["data"] = [{"title": t, "paragraphs": ps} for t, ps in articles[code].items()]
    return docs


def build_polysent(paths: list[str]) -> list[dict[str, Any]]:
    """The polysent records: a header, then one item a line in id order."""
    languages = resources.POLYSENT_LANGUAGES
    items = []
    for number, (path, line, rec) in enumerate(_read(paths), start=1):
        if rec.get("id") != f"ps{number:03d}":
            raise InputError(f"item id {rec.get('id')!r} out of order: expected ps{number:03d}", path, line)
        if rec.get("label") not in ("positive", "negative"):
            raise InputError(f"label must be 'positive' or 'negative', got {rec.get('label')!r}", path, line)
        text = _texts(rec.get("text"), languages, rec["id"], path, line)
        items.append({"id": rec["id"], "split": "test", "label": rec["label"], "text": text})
    counts = Counter(it["label"] for it in items)
    if counts["positive"] != counts["negative"]:
        raise InputError(f"labels are not balanced: {dict(counts)}", paths[-1])
    for label in ("positive", "negative"):
        of_label = [it for it in items if it["label"] == label]
        for j in range(SENT_DEMO_PER_LABEL):
            of_label[j * len(of_label) // SENT_DEMO_PER_LABEL]["split"] = "demo"
    header = {
        "header": True,
        "version": resources.POLYSENT_VERSION,
        "provenance": SENT_PROVENANCE,
        "languages": list(languages),
        "labels": {code: {"positive": pos, "negative": neg} for code, (pos, neg) in SENT_LABELS.items()},
    }
    return [header, *items]


def qa_drafts_from_shipped(root: str | Path, version: str = resources.POLYQA_VERSION) -> list[dict[str, Any]]:
    """The QA drafts of one version, in id order, recovered from the built files under ``root``
    (a resources folder): every text, id and topic the build reads, nothing it adds."""
    languages = resources.POLYQA_LANGUAGES
    docs = {code: read_json(Path(root) / version / f"{code}.json") for code in languages}
    qa: dict[str, dict[str, Any]] = {}
    for code in languages:
        for article in docs[code]["data"]:
            for para in article["paragraphs"]:
                rec = qa.setdefault(
                    para["id"],
                    {
                        "id": para["id"],
                        "topic": article["title"],
                        "context": {},
                        "qas": [{"qid": q["id"], "question": {}, "answer": {}} for q in para["qas"]],
                    },
                )
                rec["context"][code] = para["context"]
                for draft, q in zip(rec["qas"], para["qas"]):
                    draft["question"][code] = q["question"]
                    draft["answer"][code] = q["answers"][0]["text"]
    return [qa[k] for k in sorted(qa)]


def sent_drafts_from_shipped(root: str | Path) -> list[dict[str, Any]]:
    """The sentiment drafts, in id order, recovered from the built file under ``root``."""
    return [
        {"id": rec["id"], "label": rec["label"], "text": rec["text"]}
        for _, rec in iter_jsonl(Path(root) / f"{resources.POLYSENT_VERSION}.jsonl")
        if rec.get("header") is not True
    ]


def render(qa_docs: dict[str, dict[str, dict[str, Any]]], sent: list[dict[str, Any]]) -> dict[str, str]:
    """``{file name under the resources folder: its text}`` of the built sets (``qa_docs``: by version)."""
    texts = {
        f"{version}/{code}.json": json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
        for version, docs in qa_docs.items()
        for code, doc in docs.items()
    }
    texts[f"{resources.POLYSENT_VERSION}.jsonl"] = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in sent)
    return texts


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with atomic_write(path) as f:
        f.write("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records))


def _rebuild_from_shipped(root: str, write_drafts: str | None) -> tuple[dict[str, dict[str, Any]], list]:
    """Recover every set's drafts from the shipped files, optionally write them, and build them again."""
    drafts = {v: qa_drafts_from_shipped(root, v) for v in _qa_sets() if (Path(root) / v).is_dir()}
    sent_drafts = sent_drafts_from_shipped(root)
    names = {v: "polyqa.jsonl" if v == resources.POLYQA_VERSION else f"{v.replace('_', '')}.jsonl" for v in drafts}
    if write_drafts:
        for v, recs in drafts.items():
            _write_jsonl(Path(write_drafts) / names[v], recs)
        _write_jsonl(Path(write_drafts) / "polysent.jsonl", sent_drafts)
        print(f"drafts: {', '.join(str(Path(write_drafts) / n) for n in [*names.values(), 'polysent.jsonl'])}")
    with tempfile.TemporaryDirectory() as tmp:
        for v, recs in drafts.items():
            _write_jsonl(Path(tmp) / names[v], recs)
        _write_jsonl(Path(tmp) / "sent.jsonl", sent_drafts)
        qa_docs = {v: build_polyqa([str(Path(tmp) / names[v])], v) for v in drafts}
        return qa_docs, build_polysent([str(Path(tmp) / "sent.jsonl")])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polyqa", nargs="+", help="the polyqa_v1 drafts, in order")
    ap.add_argument("--polyqa2", nargs="+", help="the polyqa_v2 drafts, in order (optional)")
    ap.add_argument("--polysent", nargs="+", help="the sentiment drafts, in order")
    ap.add_argument(
        "--from-shipped",
        nargs="?",
        const=str(resources.polysent_path().parent),
        metavar="DIR",
        help="recover the drafts from the built files in DIR (default: the package's resources folder)",
    )
    ap.add_argument("--write-drafts", metavar="DIR", help="write the drafts (polyqa.jsonl, polyqav2.jsonl, ...)")
    ap.add_argument("--check", action="store_true", help="write nothing: exit 1 unless --out holds exactly the build")
    ap.add_argument("--out", default="src/polyalign/resources", help="the package's resources folder")
    args = ap.parse_args(argv)
    drafted = args.polyqa or args.polysent or args.polyqa2
    if bool(args.from_shipped) == bool(drafted) or (not args.from_shipped and not (args.polyqa and args.polysent)):
        print("error: give --polyqa and --polysent drafts, or --from-shipped", file=sys.stderr)
        return 2
    try:
        if args.from_shipped:
            qa_docs, sent = _rebuild_from_shipped(args.from_shipped, args.write_drafts)
        else:
            qa_docs = {resources.POLYQA_VERSION: build_polyqa(args.polyqa)}
            if args.polyqa2:
                qa_docs[resources.POLYQA2_VERSION] = build_polyqa(args.polyqa2, resources.POLYQA2_VERSION)
            sent = build_polysent(args.polysent)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    texts = render(qa_docs, sent)
    if args.check:
        differ = [n for n, t in texts.items() if not (out / n).is_file() or (out / n).read_bytes() != t.encode()]
        for name in differ:
            print(f"differs: {out / name}", file=sys.stderr)
        print(f"{len(texts) - len(differ)} of {len(texts)} files rebuild byte for byte")
        return 1 if differ else 0
    for name, text in texts.items():
        with atomic_write(out / name) as f:
            f.write(text)
        (out / name).chmod(0o644)
    for version, docs in qa_docs.items():
        questions = sum(len(p["qas"]) for a in docs["en"]["data"] for p in a["paragraphs"])
        print(f"{version}: {len(docs)} languages, {questions} questions")
    print(f"polysent: {len(sent) - 1} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
