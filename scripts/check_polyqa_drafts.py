"""Check polyqa_v2's parallel drafts against the set's written rules (issue 20), before they are built.

    python scripts/check_polyqa_drafts.py DRAFTS.jsonl [MORE.jsonl ...]      # problems, then a summary
    python scripts/check_polyqa_drafts.py --quiet drafts/part*.jsonl          # the summary only

A draft holds one paragraph a line, in every language of polyqa (the build's draft format):
``{"id": "v2p001", "topic": "rivers", "context": {LANG: text}, "qas": [{"qid": "v2p001-1",
"question": {LANG: text}, "answer": {LANG: span}}, ...]}``.

The rules (the data card, ``resources/polyqa_v2/README.md``, states them for users):

* every paragraph has a context in all twelve languages, 4 to 8 sentences (counted in English), and
  three questions, each with its question and answer in all twelve languages;
* **span convention**: an answer is the shortest phrase of its context that fully answers the
  question, copied exactly, occurring exactly once in the context; it is made of whole words (in a
  language written with spaces, the characters either side are not letters or digits — a Turkish
  suffix after an apostrophe stays outside, any other suffix or attached prefix stays inside); it
  starts with no article or determiner and ends with no punctuation; a number keeps its unit or
  counted noun where the context gives one, and every language writes the same digits 0-9;
* every letter of a context, question and answer is in its language's script; no non-English text
  is the English one; langid (restricted to the twelve languages) identifies each context and
  question as its language;
* across the set: bare-numeral answers (digits only) at most 15%, the median English answer at
  least two words, the trivial reader of ``scripts/trivial_qa_baseline.py`` at most 15% exact
  match in every language, and no two paragraphs near-duplicates (English word-trigram Jaccard
  ≥ 0.2, or content-word Jaccard ≥ 0.35).

Exit status 1 when a rule is broken, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import trivial_qa_baseline  # noqa: E402  (the same reader the shipped-set numbers use)

from polyalign.data import resources  # noqa: E402
from polyalign.eval import metrics  # noqa: E402

LANGS = resources.POLYQA_LANGUAGES
QUESTIONS_PER_PARAGRAPH = 3
SENTENCES = (4, 8)
SPACELESS = {"zh", "th", "ja"}
SCRIPTS = {
    "el": ("GREEK",),
    "ru": ("CYRILLIC",),
    "ar": ("ARABIC",),
    "th": ("THAI",),
    "hi": ("DEVANAGARI",),
    "bn": ("BENGALI",),
    "zh": ("CJK", "IDEOGRAPHIC"),
    "ja": ("CJK", "IDEOGRAPHIC", "HIRAGANA", "KATAKANA"),
}
ARTICLES = {
    "en": {"the", "a", "an"},
    "es": {"el", "la", "los", "las", "un", "una", "unos", "unas"},
    "de": {"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines"},
    "el": {"ο", "η", "το", "οι", "τα", "τον", "την", "του", "της", "των", "τους", "τις", "ένας", "μια", "μία", "ένα"},
    "ro": {"un", "o", "niște"},
}
MAX_BARE_NUMERALS = 15.0
MIN_MEDIAN_ANSWER_WORDS = 2
MAX_TRIVIAL_EM = 15.0
TRIGRAM_JACCARD = 0.2
WORD_JACCARD = 0.35
_DIGITS = re.compile(r"\d+")


def off_script(text: str, lang: str) -> str:
    """The letters of ``text`` outside ``lang``'s script ('' when none); Latin for the Latin-script languages."""
    want = SCRIPTS.get(lang, ("LATIN",))
    return "".join(ch for ch in text if ch.isalpha() and not unicodedata.name(ch, "?").startswith(want))


def span_problems(answer: str, context: str, lang: str) -> list[str]:
    """What breaks the span convention for one answer in one language ([] when nothing).

    >>> span_problems("Tagus River", "It lies on the Tagus River.", "en")
    []
    >>> span_problems("the Tagus", "It lies on the Tagus.", "en")
    ["starts with the article 'the'"]
    >>> span_problems("agus", "It lies on the Tagus.", "en")
    ['part of a word: ...on the Tagus....']
    """
    out = []
    if answer != answer.strip() or not answer:
        out.append("empty or padded with spaces")
    count = context.count(answer) if answer else 0
    if count != 1:
        out.append(f"occurs {count} times in the context (must be once)")
    if answer and metrics.is_punctuation(answer[-1]) and answer[-1] not in "%)":
        out.append(f"ends with punctuation {answer[-1]!r}")
    first = answer.split()[0].lower() if answer.split() else ""
    if first in ARTICLES.get(lang, ()):
        out.append(f"starts with the article {first!r}")
    if count == 1 and lang not in SPACELESS:
        at = context.index(answer)
        before = context[at - 1] if at else " "
        after = context[at + len(answer)] if at + len(answer) < len(context) else " "
        if before.isalnum() or after.isalnum() or unicodedata.category(before) == "Mn":
            out.append(f"part of a word: ...{context[max(0, at - 8) : at + len(answer) + 8]}...")
    if any(ch.isdigit() and not ("0" <= ch <= "9") for ch in answer):
        out.append("digits other than 0-9")
    return out


def read_drafts(paths: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every draft record, and the problems of the files' structure (``PATH:LINE: ...``)."""
    records, problems = [], []
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"{where}: not JSON ({e.msg})")
                continue
            missing = [k for k in ("id", "topic", "context", "qas") if k not in rec]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            rec["_where"] = where
            records.append(rec)
    return records, problems


def record_problems(rec: dict[str, Any]) -> list[str]:
    """What breaks the rules in one paragraph (each problem names its language and question)."""
    where, pid = rec["_where"], rec["id"]
    out = []
    ctx = rec["context"]
    if sorted(ctx) != sorted(LANGS):
        return [f"{where}: {pid}: context languages {sorted(ctx)} (want all of {', '.join(LANGS)})"]
    n_sent = len(trivial_qa_baseline.sentences(ctx["en"], "en"))
    if not SENTENCES[0] <= n_sent <= SENTENCES[1]:
        out.append(f"{where}: {pid}: {n_sent} English sentences (want {SENTENCES[0]}-{SENTENCES[1]})")
    if len(rec["qas"]) != QUESTIONS_PER_PARAGRAPH:
        out.append(f"{where}: {pid}: {len(rec['qas'])} questions (want {QUESTIONS_PER_PARAGRAPH})")
    for lang in LANGS:
        if lang != "en" and ctx[lang].strip() == ctx["en"].strip():
            out.append(f"{where}: {pid} [{lang}]: the context is the English text")
        if off_script(ctx[lang], lang):
            out.append(f"{where}: {pid} [{lang}]: context letters outside the script: {off_script(ctx[lang], lang)!r}")
    for i, qa in enumerate(rec["qas"], 1):
        qid = qa.get("qid", "?")
        if qid != f"{pid}-{i}":
            out.append(f"{where}: {pid}: question {i} has qid {qid!r} (want {pid}-{i})")
        if sorted(qa.get("question", {})) != sorted(LANGS) or sorted(qa.get("answer", {})) != sorted(LANGS):
            out.append(f"{where}: {qid}: question or answer missing a language")
            continue
        en_digits = _DIGITS.findall(qa["answer"]["en"])
        for lang in LANGS:
            q, a = qa["question"][lang], qa["answer"][lang]
            out += [f"{where}: {qid} [{lang}]: answer {a!r}: {p}" for p in span_problems(a, ctx[lang], lang)]
            if off_script(q, lang) or off_script(a, lang):
                out.append(f"{where}: {qid} [{lang}]: letters outside the script: {off_script(q + a, lang)!r}")
            if _DIGITS.findall(a) != en_digits:
                out.append(f"{where}: {qid} [{lang}]: digits {_DIGITS.findall(a)}, English {en_digits}")
            if lang != "en" and q.strip() == qa["question"]["en"].strip():
                out.append(f"{where}: {qid} [{lang}]: the question is the English text")
    return out


def _identifier():
    try:
        from langid import langid
    except ImportError:  # the check is skipped, and the summary says so
        return None
    ident = langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)
    ident.set_languages(list(LANGS))
    return ident


def langid_problems(records: list[dict[str, Any]]) -> list[str]:
    """Contexts and questions that langid, choosing among the twelve languages, puts in another language."""
    ident = _identifier()
    if ident is None:
        return ["langid is not installed: language identity NOT checked"]
    out = []
    for rec in records:
        fields = [(rec["id"], lang, rec["context"][lang]) for lang in LANGS]
        fields += [(qa["qid"], lang, qa["question"][lang]) for qa in rec["qas"] for lang in LANGS]
        for key, lang, text in fields:
            guess = ident.classify(text)[0]
            if guess != lang:
                out.append(f"{rec['_where']}: {key} [{lang}]: langid reads it as {guess!r}: {text[:60]!r}")
    return out


def _words(text: str) -> list[str]:
    return [w.strip(".,;:'\"()!?").lower() for w in text.split()]


def near_duplicates(records: list[dict[str, Any]]) -> list[str]:
    """Pairs of paragraphs whose English texts share too many word trigrams or content words."""
    grams, content = [], []
    for rec in records:
        w = _words(rec["context"]["en"])
        grams.append({tuple(w[i : i + 3]) for i in range(len(w) - 2)})
        content.append({x for x in w if len(x) > 3})
    out = []
    for i in range(len(records)):
        for j in range(i + 1, len(records)):
            tri = len(grams[i] & grams[j]) / max(1, len(grams[i] | grams[j]))
            word = len(content[i] & content[j]) / max(1, len(content[i] | content[j]))
            if tri >= TRIGRAM_JACCARD or word >= WORD_JACCARD:
                out.append(
                    f"{records[i]['id']} and {records[j]['id']} are near-duplicates "
                    f"(trigram Jaccard {tri:.2f}, content-word Jaccard {word:.2f})"
                )
    return out


def summary(records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The set-level numbers (a line each) and the set-level rules they break."""
    lines, problems = [], []
    answers_en = [qa["answer"]["en"] for rec in records for qa in rec["qas"]]
    bare = 100.0 * sum(bool(trivial_qa_baseline._BARE_NUMERAL.match(a)) for a in answers_en) / max(1, len(answers_en))
    median_words = statistics.median(len(a.split()) for a in answers_en) if answers_en else 0
    n_sent = [len(trivial_qa_baseline.sentences(rec["context"]["en"], "en")) for rec in records]
    lines.append(
        f"{len(records)} paragraphs, {len(answers_en)} questions, topics {dict(Counter(r['topic'] for r in records))}"
    )
    lines.append(
        f"English: median {statistics.median(n_sent) if n_sent else 0} sentences a paragraph, "
        f"bare-numeral answers {bare:.1f}%, median answer {median_words} words"
    )
    if bare > MAX_BARE_NUMERALS:
        problems.append(f"bare-numeral answers {bare:.1f}% (at most {MAX_BARE_NUMERALS}%)")
    if median_words < MIN_MEDIAN_ANSWER_WORDS:
        problems.append(f"median English answer {median_words} words (at least {MIN_MEDIAN_ANSWER_WORDS})")
    trivial = []
    for lang in LANGS:
        rows = [
            {"context": rec["context"][lang], "question": qa["question"][lang], "answers": [qa["answer"][lang]]}
            for rec in records
            for qa in rec["qas"]
            if lang in rec["context"] and lang in qa.get("question", {}) and lang in qa.get("answer", {})
        ]
        if not rows:
            continue
        em = trivial_qa_baseline.evaluate(rows, lang)["trivial_em"]
        trivial.append(f"{lang} {em:.1f}")
        if em > MAX_TRIVIAL_EM:
            problems.append(f"trivial reader EM {em:.1f}% in {lang} (at most {MAX_TRIVIAL_EM}%)")
    lines.append("trivial reader EM %: " + ", ".join(trivial))
    return lines, problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("drafts", nargs="+", help="draft files (one paragraph a line)")
    p.add_argument("--quiet", action="store_true", help="print the summary and the count of problems only")
    p.add_argument("--no-langid", action="store_true", help="skip language identification (faster)")
    args = p.parse_args(argv)
    records, problems = read_drafts(args.drafts)
    ids = Counter(r["id"] for r in records)
    problems += [f"paragraph id {pid!r} used {n} times" for pid, n in ids.items() if n > 1]
    for rec in records:
        problems += record_problems(rec)
    if not args.no_langid:
        problems += langid_problems(records)
    problems += near_duplicates(records)
    lines, set_problems = summary(records)
    problems += set_problems
    if not args.quiet:
        print("\n".join(problems))
    print("\n".join(lines))
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
