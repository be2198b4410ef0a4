"""Check the polymt_v1 translation set: structure, English lengths, scripts and language identity.

Usage: python scripts/check_polymt.py [LANG ...]   (default: every file present)
Exit status 1 when a check fails; prints one line per problem and a summary per language.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "polyalign" / "resources" / "polymt_v1"
LANGS = ["en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi", "ro", "fr", "ja", "sw", "bn"]
DOMAINS = ["news", "science", "travel", "health", "daily"]
N_ROWS = 300
# Unicode-name prefix of the letters each language's script should mostly use.
SCRIPT = {
    "ru": "CYRILLIC",
    "el": "GREEK",
    "ar": "ARABIC",
    "hi": "DEVANAGARI",
    "bn": "BENGALI",
    "th": "THAI",
    "zh": "CJK",
    "ja": "CJK|HIRAGANA|KATAKANA",
}


def load(lang: str) -> tuple[dict, list[dict]]:
    """Return the header and the rows of one language file."""
    lines = (ROOT / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def script_share(text: str, prefixes: str) -> float:
    """Share of the letters in text whose Unicode name starts with one of the |-separated prefixes."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    wanted = tuple(prefixes.split("|"))
    return sum(unicodedata.name(c, "").startswith(wanted) for c in letters) / len(letters)


def near_duplicates(texts: list[str], threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Pairs of texts whose word-set Jaccard similarity (words of 4+ letters) is at least threshold."""
    sets = [{w.strip(".,;:'\"()").lower() for w in t.split() if len(w) > 3} for t in texts]
    pairs = []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            union = sets[i] | sets[j]
            sim = len(sets[i] & sets[j]) / len(union) if union else 0.0
            if sim >= threshold:
                pairs.append((i, j, sim))
    return pairs


def digit_groups(text: str) -> set[str]:
    """Numbers in text as ASCII digits, separators removed ("40,000", "40 000", "৪০,০০০" -> "40000")."""
    text = "".join(str(unicodedata.digit(c, c)) for c in text)
    joined = re.sub(r"(?<=\d)[.,\u00a0\u202f ](?=\d)", "", text)
    return set(re.findall(r"\d+", joined))


def check(lang: str, en_rows: list[dict], identifier) -> list[str]:
    """Return the problems found in one language file (empty when it passes)."""
    problems = []
    header, rows = load(lang)
    if not (header.get("header") is True and header.get("version") == "polymt_v1" and header.get("lang") == lang):
        problems.append(f"{lang}: bad header {header}")
    if len(rows) != N_ROWS:
        problems.append(f"{lang}: {len(rows)} rows, want {N_ROWS}")
    for k, row in enumerate(rows):
        i = k + 1
        want = {"id": f"pm{i:03d}", "split": "dev" if i % 5 == 0 else "test"}
        if k < len(en_rows):
            want["domain"] = en_rows[k]["domain"]
        for key, value in want.items():
            if row.get(key) != value:
                problems.append(f"{lang}:{i + 1}: {key} {row.get(key)!r}, want {value!r}")
        text = row.get("text", "")
        if not text.strip() or text != text.strip():
            problems.append(f"{lang}:{i + 1}: empty text or stray whitespace")
        if lang == "en" and not 12 <= len(text.split()) <= 35:
            problems.append(f"en:{i + 1}: {len(text.split())} words")
        if lang in SCRIPT and script_share(text, SCRIPT[lang]) < 0.6:
            problems.append(f"{lang}:{i + 1}: script share {script_share(text, SCRIPT[lang]):.2f}")
        if lang == "ja" and script_share(text, "HIRAGANA|KATAKANA") < 0.1:
            problems.append(f"ja:{i + 1}: no kana")
    if lang != "en":
        # Alignment hint, not a failure: numbers usually survive translation ("2 billion" may not).
        missing = [
            r["id"]
            for r, e in zip(rows, en_rows)
            if digit_groups(e["text"]) and not digit_groups(e["text"]) & digit_groups(r.get("text", ""))
        ]
        print(f"{lang}: rows whose English numbers are all missing (check by eye): {missing}")
    if lang == "en":
        counts = {d: sum(r["domain"] == d for r in rows) for d in DOMAINS}
        if set(counts.values()) != {N_ROWS // 5}:
            problems.append(f"en: domain counts {counts}")
        for i, j, sim in near_duplicates([r["text"] for r in rows]):
            problems.append(f"en: rows {rows[i]['id']} and {rows[j]['id']} overlap (Jaccard {sim:.2f})")
    if identifier is not None and rows:
        wrong = [(r["id"], identifier.classify(r["text"])[0]) for r in rows]
        wrong = [(i, got) for i, got in wrong if got != lang]
        share = 1 - len(wrong) / len(rows)
        print(f"{lang}: langid {share:.1%} right; flagged {wrong[:20]}")
        if share < 0.95:
            problems.append(f"{lang}: langid identifies only {share:.1%}")
    return problems


def main(argv: list[str]) -> int:
    """Check the languages named in argv (default: all present) and print a summary."""
    langs = argv or [lang for lang in LANGS if (ROOT / f"{lang}.jsonl").exists()]
    try:
        from langid.langid import LanguageIdentifier, model

        identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        identifier.set_languages(LANGS)
    except ImportError:
        identifier = None
    _, en_rows = load("en")
    failed = False
    for lang in langs:
        problems = check(lang, en_rows, identifier)
        for problem in problems:
            print(problem)
        print(f"{lang}: {'ok' if not problems else f'{len(problems)} problems'}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
