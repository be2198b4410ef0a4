"""How much of an extractive QA set a reader that understands nothing gets right.

    python scripts/trivial_qa_baseline.py                      # polyqa_v1, every language
    python scripts/trivial_qa_baseline.py --set polyqa_v2      # the harder successor
    python scripts/trivial_qa_baseline.py --langs en,es --json
    python scripts/trivial_qa_baseline.py --data 'xquad/xquad.{lang}.json' --langs en,es,zh

The baseline (issue 20) answers each question without a model:

1. split the paragraph into sentences: after ``. ! ? 。 ！ ？ । ؟`` followed by a space (Chinese and
   Japanese full stops need none); a Thai paragraph, written without sentence punctuation, is one;
2. take the sentence sharing the most distinct question tokens with the question (tokens as polyalign
   scores answers: :func:`polyalign.eval.metrics.qa_tokens`, MLQA's normalisation; the first
   sentence wins a tie);
3. answer with that sentence's first number that is not in the question, else its first capitalised
   span (a run of words starting with a capital letter, the sentence's first word left out since its
   capital says nothing) not wholly made of question words, else nothing.

It is scored with exact match under the set's own normalisation (``--qa-norm``; polyqa's default,
MLQA's). Beside it the script reports the share of answers that are bare numerals (digits and
separators only) and the sentences per paragraph, the numbers that show how much of a set a
reader can get by copying digits. On real XQuAD (issue 20's audit) this baseline scores 8.3 EM in
English, 8.1 in Spanish and 3.1 in Chinese; a set where it scores far more is easier than XQuAD.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from typing import Any

from polyalign.data import resources
from polyalign.eval import metrics
from polyalign.io import InputError

_SENTENCE_END = re.compile(r"(?<=[.!?।؟])\s+|(?<=[。！？])\s*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_BARE_NUMERAL = re.compile(r"^[\d\s.,]+$")


def sentences(context: str, lang: str) -> list[str]:
    """The paragraph's sentences (Thai, written without sentence punctuation: the paragraph as one).

    >>> sentences("Oslo is big. It is in Norway.", "en")
    ['Oslo is big.', 'It is in Norway.']
    >>> sentences("北京是首都。上海很大。", "zh")
    ['北京是首都。', '上海很大。']
    """
    parts = [context] if lang == "th" else _SENTENCE_END.split(context)
    return [p.strip() for p in parts if p.strip()]


def _word(token: str) -> str:
    return "".join(ch for ch in token if not metrics.is_punctuation(ch))


def predict(context: str, question: str, lang: str) -> str:
    """The baseline's answer (see the module docstring).

    >>> predict("Oslo is the capital. It had 700000 people in 2020.", "How many people lived there in 2020?", "en")
    '700000'
    >>> predict("Lisbon is in Portugal. It lies on the Tagus River.", "On which river does Lisbon lie?", "en")
    'Tagus River'
    """
    q_tokens = set(metrics.qa_tokens(question, lang))
    ranked = [(len(q_tokens & set(metrics.qa_tokens(s, lang))), -i, s) for i, s in enumerate(sentences(context, lang))]
    if not ranked:
        return ""
    best = max(ranked)[2]
    q_numbers = set(_NUMBER.findall(question))
    number = next((n for n in _NUMBER.findall(best) if n not in q_numbers), None)
    if number is not None:
        return number
    q_words = {_word(t).lower() for t in question.split()}
    span: list[str] = []
    for token in [*best.split()[1:], ""]:  # the first word is capitalised by its position
        w = _word(token)
        if w and w[0].isupper():
            span.append(w)
            continue
        if span and not all(x.lower() in q_words for x in span):
            return " ".join(span)
        span = []
    return ""


def evaluate(rows: list[dict[str, Any]], lang: str, norm: str = "mlqa") -> dict[str, Any]:
    """Exact match of the baseline (percent), the bare-numeral answer share (percent of questions
    whose first gold answer is digits only) and the median sentences per paragraph."""
    em = [
        metrics.qa_scores(predict(r["context"], r["question"], lang), r["answers"], lang, norm)["exact_match"]
        for r in rows
    ]
    bare = [bool(_BARE_NUMERAL.match(r["answers"][0].strip())) for r in rows]
    contexts = list(dict.fromkeys(r["context"] for r in rows))
    return {
        "lang": lang,
        "questions": len(rows),
        "paragraphs": len(contexts),
        "trivial_em": round(100.0 * sum(em) / len(rows), 1),
        "bare_numeral_answers": round(100.0 * sum(bare) / len(rows), 1),
        "median_sentences": statistics.median(len(sentences(c, lang)) for c in contexts),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--langs", help="comma-separated languages (default: every language of polyqa_v1)")
    p.add_argument("--data", help="SQuAD-format file(s) instead of the shipped set: a path holding {lang}")
    p.add_argument(
        "--set",
        choices=[resources.POLYQA_VERSION, resources.POLYQA2_VERSION],
        default=resources.POLYQA_VERSION,
        help="the shipped set (default: polyqa_v1)",
    )
    p.add_argument("--split", choices=["dev", "test", "all"], default="all", help="the shipped set's split")
    p.add_argument("--qa-norm", choices=list(metrics.QA_NORMS), default="mlqa", help="answer normalisation")
    p.add_argument("--json", action="store_true", help="one JSON object per language instead of a table")
    args = p.parse_args(argv)
    codes = args.langs.split(",") if args.langs else list(resources.POLYQA_LANGUAGES)
    try:
        out = []
        for code in codes:
            if args.data:
                rows = resources.polyqa(code, None, args.data.format(lang=code))
            else:
                rows = resources.polyqa(code, None if args.split == "all" else args.split, version=args.set)
            out.append(evaluate(rows, code, args.qa_norm))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print("\n".join(json.dumps(r, ensure_ascii=False) for r in out))
        return 0
    print(f"{'lang':4}  {'questions':>9}  {'trivial EM %':>12}  {'bare numerals %':>15}  {'median sentences':>16}")
    for r in out:
        print(
            f"{r['lang']:4}  {r['questions']:>9}  {r['trivial_em']:>12.1f}  {r['bare_numeral_answers']:>15.1f}"
            f"  {r['median_sentences']:>16}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
