"""The repository's data scripts: the shipped polyqa/polysent files rebuild byte for byte from the
repository alone, and the trivial QA baseline's numbers on polyqa_v1 (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import load_script
from polyalign.data import resources

ROOT = Path(__file__).resolve().parents[2]


# The trivial baseline's exact match (percent, MLQA normalisation) on all 235 polyqa_v1 questions per language:
# a reader that understands nothing gets a third to a half right (real XQuAD: 8.3 en, 8.1 es, 3.1 zh).
TRIVIAL_EM = {
    "en": 48.5,
    "es": 45.1,
    "de": 52.3,
    "el": 48.9,
    "ru": 45.1,
    "tr": 41.7,
    "ar": 36.6,
    "vi": 48.1,
    "th": 30.2,
    "zh": 38.7,
    "hi": 39.6,
    "ro": 48.1,
}


def test_trivial_baseline_on_polyqa_v1_is_pinned(capsys):
    base = load_script("trivial_qa_baseline")
    assert base.main(["--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["lang"]: r["trivial_em"] for r in rows} == TRIVIAL_EM
    assert {r["bare_numeral_answers"] for r in rows} == {47.7}  # 112 of 235 answers are digits only
    assert {(r["questions"], r["paragraphs"]) for r in rows} == {(235, 150)}
    assert {r["lang"]: r["median_sentences"] for r in rows if r["lang"] != "th"} == dict.fromkeys(
        [c for c in resources.POLYQA_LANGUAGES if c != "th"], 3.0
    )


def test_trivial_baseline_rules():
    base = load_script("trivial_qa_baseline")
    context = "Oslo is the capital of Norway. In 2020 it had 700,000 people. The Akers River runs through it."
    assert base.sentences(context, "en")[1] == "In 2020 it had 700,000 people."
    assert base.predict(context, "How many people lived in Oslo in 2020?", "en") == "700,000"  # not 2020
    assert base.predict(context, "Which river runs through Oslo?", "en") == "Akers River"
    assert base.predict(context, "What is Oslo the capital of?", "en") == "Norway"
    assert base.predict("nothing here at all.", "What?", "en") == ""
    assert base.sentences("曼谷 เป็น เมือง", "th") == ["曼谷 เป็น เมือง"]
    rows = [{"context": context, "question": "Which river runs through Oslo?", "answers": ["the Akers River"]}]
    assert base.evaluate(rows, "en")["trivial_em"] == 100.0  # "the" is an article under either normalisation


def test_trivial_baseline_on_squad_files_of_your_own(tmp_path, capsys):
    from eval_fixtures import write_xquad

    base = load_script("trivial_qa_baseline")
    root = write_xquad(tmp_path / "xquad")
    assert base.main(["--data", str(root / "xquad.{lang}.json"), "--langs", "en,zh", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["lang"], r["questions"], r["paragraphs"]) for r in rows] == [("en", 4, 2), ("zh", 2, 1)]
    # en: "Brazil" for where the Amazon flows, "Amazon" for which country it crosses, nothing for the rest
    assert rows[0]["trivial_em"] == 0.0 and rows[0]["bare_numeral_answers"] == 0.0
    assert base.main(["--data", str(root / "xquad.{lang}.json"), "--langs", "ko"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {root / 'xquad.ko.json'}")


def test_the_shipped_qa_and_sentiment_files_rebuild_byte_for_byte(capsys):
    build = load_script("build_resources")
    out = ROOT / "src" / "polyalign" / "resources"
    assert build.main(["--from-shipped", str(out), "--check", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == "25 of 25 files rebuild byte for byte"


def test_edited_drafts_build_into_different_files(tmp_path, capsys):
    build = load_script("build_resources")
    shipped = ROOT / "src" / "polyalign" / "resources"
    assert (
        build.main(["--from-shipped", str(shipped), "--write-drafts", str(tmp_path), "--check", "--out", str(shipped)])
        == 0
    )
    qa = [json.loads(line) for line in (tmp_path / "polyqa.jsonl").read_text(encoding="utf-8").splitlines()]
    sent = (tmp_path / "polysent.jsonl").read_text(encoding="utf-8").splitlines()
    assert (
        len(qa) == 150
        and len(sent) == 304
        and qa[0]["id"] == "pq001"
        and set(qa[0]["context"]) == set(resources.POLYQA_LANGUAGES)
    )
    # the drafts rebuild the shipped files through the ordinary path too
    out = tmp_path / "out"
    args = ["--polyqa", str(tmp_path / "polyqa.jsonl"), "--polysent", str(tmp_path / "polysent.jsonl")]
    assert build.main([*args, "--out", str(out)]) == 0
    assert (out / "polysent_v1.jsonl").read_bytes() == (shipped / "polysent_v1.jsonl").read_bytes()
    # one edited context is one file that differs
    qa[0]["context"]["es"] += " Es muy bonita."
    (tmp_path / "polyqa.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in qa), encoding="utf-8"
    )
    capsys.readouterr()
    assert build.main([*args, "--check", "--out", str(shipped)]) == 1
    assert capsys.readouterr().err.strip() == f"differs: {shipped / 'polyqa_v1' / 'es.json'}"
    # a draft whose answer is gone from its context stops the build, with its line
    qa[0]["context"]["de"] = "Kein Inhalt."
    (tmp_path / "polyqa.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in qa), encoding="utf-8"
    )
    assert build.main([*args, "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'polyqa.jsonl'}:1: pq001-1 de: answer ") and "occurs 0 times" in err
    assert not (tmp_path / "bad").exists()


def test_build_needs_drafts_or_the_shipped_files(capsys):
    build = load_script("build_resources")
    assert build.main([]) == 2
    assert capsys.readouterr().err == "error: give --polyqa and --polysent drafts, or --from-shipped\n"
    with pytest.raises(SystemExit):
        build.main(["--nonsense"])


def test_the_numbers_the_data_cards_cite(capsys):
    stats = load_script("resource_stats")
    assert stats.main(["polyinstruct", "polyqa", "polysent"]) == 0
    got = json.loads(capsys.readouterr().out)
    pi, pq, ps = got["polyinstruct"], got["polyqa"], got["polysent"]
    assert (pi["items"], pi["splits"], pi["categories"], pi["with_input"]) == (110, {"train": 88, "test": 22}, 14, 7)
    assert (pi["en_instruction_words_median"], pi["en_output_words_median"], pi["en_output_words_max"]) == (8, 19, 38)
    assert (pq["paragraphs"], pq["questions"], pq["splits"], pq["topics"]) == (150, 235, {"test": 190, "dev": 45}, 26)
    assert (pq["bare_numeral_answers"], pq["bare_numeral_answers_pct"], pq["en_answer_words_median"]) == (112, 47.7, 1)
    assert pq["en_sentences_per_paragraph"] == {"2": 1, "3": 149} and pq["en_context_words_median"] == 37
    assert ps["splits_labels"] == {"demo/negative": 20, "demo/positive": 20, "test/negative": 132, "test/positive": 132}
    assert ps["en_words_min_median_max"] == [9, 14, 20]
    cards = ROOT / "src" / "polyalign" / "resources"
    qa_card = (cards / "polyqa_v1" / "README.md").read_text(encoding="utf-8")
    assert "112 of 235 answers (47.7%)" in qa_card and "149 of 150 paragraphs have 3 sentences" in qa_card
    assert all(f"{code} {em}" in qa_card for code, em in TRIVIAL_EM.items())
    assert "9–20 words (median 14)" in (cards / "polysent_v1_CARD.md").read_text(encoding="utf-8")
    pi_card = (cards / "polyinstruct_v1_CARD.md").read_text(encoding="utf-8")
    assert "median of 8 words" in pi_card and "median of 19 words" in pi_card and "7 of 110" in pi_card
    for card in ("polyqa_v1/README.md", "polysent_v1_CARD.md", "polyinstruct_v1_CARD.md", "polymt_v1/README.md"):
        assert "Apache-2.0" in (cards / card).read_text(encoding="utf-8"), card
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License\n")
