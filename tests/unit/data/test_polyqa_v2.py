"""polyqa_v2 (issue 20): pinned, parallel, split alike, and every rule its data card states holds on the shipped
files: the span convention in every language, scripts, language identity, few bare numerals, phrase answers, a
trivial reader near zero, no near-duplicate paragraphs (MinHash)."""

from __future__ import annotations

import hashlib
import statistics
import zlib
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from helpers import load_script
from polyalign.data import resources

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "src" / "polyalign" / "resources"

POLYQA2_SHA256 = {
    "ar": "bdaf6d801b513a74d867b247110f9e639a6db934a3167ca8b559690e6a53b1e9",
    "de": "e41c362bca778722223cf2fc024d1c8182eb6e84a16ff957368d324c4a9b0e71",
    "el": "1b7a4d5f5bbc7c440ee1bec777750abde8b229525e8d5584642f485d941a930e",
    "en": "88ea9a021ddfb754048cbdfc7a19676446675529e9913405ace3332030ea04f5",
    "es": "2ca8d3d570a5ef7ec8ca8a44e59c6946c3ce3650f8c75f0145c16885cf99d162",
    "hi": "fb421ad2b16a904a501f48ec608d4ae185665a0d9a313b78768fe7b842209c74",
    "ro": "63c398e36f6a88f0e4be92f64f1856d4a9a05ad9c9fa6e156d5300c6cb951565",
    "ru": "cb56fd0fd9db3a0030c703cf9b1afdf31222015483ec6ed80a8792d1c062755e",
    "th": "18b7c4b1d79107223d4c43bafd45086c3803cb3c309e31ee5cbd800e5af03fe5",
    "tr": "fd00da6c21f365785e9477baa2065a60e9ae0b44c9629121ff0e2978b05323ca",
    "vi": "a6038a91add4936b7962f82ac94bbf803b25f8fad2cf31ca2c9fdaef385bfe3d",
    "zh": "ae78eecf8d80f61b7ae89861918b20be9cefb12998d0b91053dac50fb39d7071",
}


@pytest.fixture(scope="module")
def drafts():
    """Every paragraph in all twelve languages, as the build reads them (recovered from the shipped files)."""
    build = load_script("build_resources")
    records = build.qa_drafts_from_shipped(SHIPPED, resources.POLYQA2_VERSION)
    for rec in records:
        rec["_where"] = rec["id"]
    return records


def test_the_files_are_pinned_and_v1_stays_beside_them():
    for code in resources.POLYQA_LANGUAGES:
        path = resources.polyqa_path(code, resources.POLYQA2_VERSION)
        assert (path.parent.name, path.name) == ("polyqa_v2", f"{code}.json")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == POLYQA2_SHA256[code], code
        assert resources.polyqa_path(code).parent.name == "polyqa_v1"


def test_sizes_splits_and_parallel_ids():
    en = resources.polyqa("en", version=resources.POLYQA2_VERSION)
    paragraphs = {r["id"].rsplit("-", 1)[0] for r in en}
    assert (len(paragraphs), len(en)) == (204, 612)
    assert statistics.Counter(r["split"] for r in en) == {"test": 492, "dev": 120}
    assert len({r["title"] for r in en}) == 36
    for code in resources.POLYQA_LANGUAGES[1:]:
        rows = resources.polyqa(code, version=resources.POLYQA2_VERSION)
        assert [(r["id"], r["split"], r["title"]) for r in rows] == [(r["id"], r["split"], r["title"]) for r in en]
        for r in rows:
            assert r["context"].count(r["answers"][0]) == 1
            assert r["context"][r["answer_starts"][0] :].startswith(r["answers"][0]), (code, r["id"])


def test_every_paragraph_and_answer_keeps_the_written_rules(drafts):
    check = load_script("check_polyqa_drafts")
    assert [p for rec in drafts for p in check.record_problems(rec)] == []


def test_language_identity_of_every_context_and_question(drafts):
    pytest.importorskip("langid")
    check = load_script("check_polyqa_drafts")
    assert check.langid_problems(drafts) == []


def test_set_level_numbers_the_card_states(drafts):
    check = load_script("check_polyqa_drafts")
    lines, problems = check.summary(drafts)
    assert problems == []
    assert lines[1] == "English: median 5.0 sentences a paragraph, bare-numeral answers 0.0%, median answer 4.0 words"
    trivial = dict(item.split() for item in lines[2].removeprefix("trivial reader EM %: ").split(", "))
    assert trivial == {code: "1.1" if code == "de" else "0.0" for code in resources.POLYQA_LANGUAGES}


def test_span_convention_catches_what_it_forbids():
    check = load_script("check_polyqa_drafts")
    ctx = "The ferry left Bursa'da at dawn and carried 12 fishing boats."
    assert check.span_problems("12 fishing boats", ctx, "en") == []
    assert check.span_problems("the ferry", "Then the ferry left.", "en") == ["starts with the article 'the'"]
    assert check.span_problems("ishing boats", ctx, "en")[0].startswith("part of a word")
    assert check.span_problems("Bursa", ctx, "tr") == []  # a suffix after an apostrophe stays outside
    assert check.span_problems("dawn and", ctx, "en") == []
    assert check.span_problems("boats.", ctx, "en") == ["ends with punctuation '.'"]
    assert check.span_problems("a", "a b a", "en")[0] == "occurs 2 times in the context (must be once)"
    assert check.span_problems("১২", "নৌকা ১২", "bn") == ["digits other than 0-9"]


def _minhash(shingles: set[tuple[str, ...]], seeds: np.ndarray) -> np.ndarray:
    """The MinHash signature: per seed, the least of (a·h + b) mod p over the shingles' CRC32 hashes."""
    p = np.uint64(4294967311)  # a prime above 2**32
    h = np.array([zlib.crc32(" ".join(s).encode()) for s in shingles], dtype=np.uint64)
    a, b = seeds[:, :1], seeds[:, 1:]
    return ((a * h[None, :] + b) % p).min(axis=1)


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.strip(".,;:'\"()!?").lower() for w in text.split()]
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_no_near_duplicate_paragraphs_by_minhash(drafts):
    """128 MinHash permutations over English word trigrams estimate every pair's Jaccard similarity; none
    comes near a duplicate, while an edited copy of a paragraph is caught."""
    rng = np.random.default_rng(0)
    seeds = rng.integers(1, 2**32 - 1, size=(128, 2), dtype=np.uint64)
    texts = [rec["context"]["en"] for rec in drafts]
    copy = texts[0].replace(texts[0].split(". ")[1], "It was rebuilt twice after the war")  # one sentence changed
    sigs = np.stack([_minhash(_shingles(t), seeds) for t in [*texts, copy]])
    estimate = {(i, j): float(np.mean(sigs[i] == sigs[j])) for i, j in combinations(range(len(sigs)), 2)}
    exact = len(_shingles(texts[0]) & _shingles(copy)) / len(_shingles(texts[0]) | _shingles(copy))
    assert estimate[(0, len(texts))] >= 0.5 and abs(estimate[(0, len(texts))] - exact) < 0.15
    worst = max((v, k) for k, v in estimate.items() if len(texts) not in k)
    assert worst[0] < 0.2, (worst, texts[worst[1][0]][:80], texts[worst[1][1]][:80])
