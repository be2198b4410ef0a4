"""The numbers the data cards cite, computed from the shipped files (``python scripts/resource_stats.py``).

    python scripts/resource_stats.py            # every shipped set, as JSON
    python scripts/resource_stats.py polyqa     # one set

Each data card (``src/polyalign/resources/*/README.md``, ``*_CARD.md``) quotes these; rerun this after
a set changes and update its card. polymt is reported only when its sixteen files are present.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import Counter
from itertools import combinations
from typing import Any

from polyalign.data import resources

_BARE_NUMERAL = re.compile(r"^[\d\s.,]+$")


def _words(text: str) -> set[str]:
    return {w.strip(".,;:!?'\"()").lower() for w in text.split() if len(w) > 3}


def near_duplicates(texts: dict[str, str], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    """Pairs of ids whose texts share at least ``threshold`` of their words of 4+ letters (Jaccard)."""
    sets = {k: _words(t) for k, t in texts.items()}
    out = []
    for a, b in combinations(sorted(sets), 2):
        union = sets[a] | sets[b]
        j = len(sets[a] & sets[b]) / len(union) if union else 0.0
        if j >= threshold:
            out.append((a, b, round(j, 2)))
    return out


def polyinstruct_stats() -> dict[str, Any]:
    items = resources.polyinstruct_items()
    en = [it["langs"]["en"] for it in items]
    return {
        "items": len(items),
        "languages": len(resources.POLYINSTRUCT_LANGUAGES),
        "splits": dict(Counter(it["split"] for it in items)),
        "categories": len({it["category"] for it in items}),
        "with_input": sum(bool(e["input"]) for e in en),
        "en_instruction_words_median": statistics.median(len(e["instruction"].split()) for e in en),
        "en_output_words_median": statistics.median(len(e["output"].split()) for e in en),
        "en_output_words_max": max(len(e["output"].split()) for e in en),
    }


def polyqa_stats(version: str = resources.POLYQA_VERSION) -> dict[str, Any]:
    en = resources.polyqa("en", version=version)
    contexts = {r["id"].rsplit("-", 1)[0]: r["context"] for r in en}
    test_contexts = {r["id"].rsplit("-", 1)[0]: r["context"] for r in en if r["split"] == "test"}
    bare_en = [r["id"] for r in en if _BARE_NUMERAL.match(r["answers"][0].strip())]
    # answers that are a bare number in English but carry more (a unit, a word) in another language
    other = {
        c: {r["id"]: r["answers"][0] for r in resources.polyqa(c, version=version)}
        for c in resources.POLYQA_LANGUAGES[1:]
    }
    units = {c: sum(not _BARE_NUMERAL.match(other[c][q].strip()) for q in bare_en) for c in other}
    sentences = [len(re.split(r"(?<=[.!?])\s+", c.strip())) for c in contexts.values()]
    return {
        "paragraphs": len(contexts),
        "questions": len(en),
        "splits": dict(Counter(r["split"] for r in en)),
        "topics": len({r["title"] for r in en}),
        "en_context_words_median": statistics.median(len(c.split()) for c in contexts.values()),
        "en_sentences_per_paragraph": dict(sorted(Counter(sentences).items())),
        "en_answer_words_median": statistics.median(len(r["answers"][0].split()) for r in en),
        "bare_numeral_answers": len(bare_en),
        "bare_numeral_answers_pct": round(100.0 * len(bare_en) / len(en), 1),
        "bare_in_en_not_bare_in": {c: n for c, n in units.items() if n},
        "near_duplicate_test_paragraphs": near_duplicates(test_contexts, 0.3),
    }


def polysent_stats() -> dict[str, Any]:
    items = resources.polysent_items()
    words = [len(it["text"]["en"].split()) for it in items]
    splits_labels = [(it["split"], it["label"]) for it in items]
    return {
        "items": len(items),
        "languages": len(resources.POLYSENT_LANGUAGES),
        "splits_labels": {f"{s}/{lab}": n for (s, lab), n in sorted(Counter(splits_labels).items())},
        "en_words_min_median_max": [min(words), statistics.median(words), max(words)],
        "near_duplicate_items": near_duplicates({it["id"]: it["text"]["en"] for it in items}),
    }


def polymt_stats() -> dict[str, Any] | None:
    present = [c for c in resources.POLYMT_LANGUAGES if (resources.polymt_dir() / f"{c}.jsonl").is_file()]
    if len(present) < len(resources.POLYMT_LANGUAGES):
        return None
    en = resources.polymt("en")
    words = [len(r["text"].split()) for r in en]
    chars = {c: statistics.median(len(r["text"]) for r in resources.polymt(c)) for c in resources.POLYMT_LANGUAGES}
    return {
        "sentences": len(en),
        "languages": len(present),
        "splits": dict(Counter(r["split"] for r in en)),
        "domains": dict(Counter(r["domain"] for r in en)),
        "en_words_min_median_max": [min(words), statistics.median(words), max(words)],
        "median_chars": chars,
        "near_duplicate_sentences": near_duplicates({r["id"]: r["text"] for r in en}),
    }


def polyqa2_stats() -> dict[str, Any]:
    return polyqa_stats(resources.POLYQA2_VERSION)


STATS = {
    "polyinstruct": polyinstruct_stats,
    "polyqa": polyqa_stats,
    "polyqa_v2": polyqa2_stats,
    "polysent": polysent_stats,
    "polymt": polymt_stats,
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(STATS)
    unknown = [n for n in names if n not in STATS]
    if unknown:
        print(f"error: unknown set {unknown[0]!r} (known: {', '.join(STATS)})", file=sys.stderr)
        return 2
    print(json.dumps({n: STATS[n]() for n in names}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
