"""QA answer normalisation: SQuAD v1.1's (XQuAD's official scoring) and MLQA's, each checked against an
independent implementation written here from the published descriptions of the two evaluation scripts
(issue 20), on strings where the two differ: Chinese, Arabic, Hindi, non-ASCII punctuation, articles."""

from __future__ import annotations

import json
import string
import unicodedata
from collections import Counter

import pytest

from polyalign.cli import main
from polyalign.eval import metrics

# --- independent implementations ------------------------------------------------------------------


def _is_word_char(ch: str) -> bool:
    """What a regular expression's \\w means on Python text: a letter or digit (``isalnum``) or ``_``."""
    return ch.isalnum() or ch == "_"


def _drop_whole_words(text: str, words: set[str]) -> str:
    """``text`` with each maximal run of word characters that is one of ``words`` replaced by a space
    (a word-boundary match, written as a scan)."""
    out, i = [], 0
    while i < len(text):
        if _is_word_char(text[i]):
            j = i
            while j < len(text) and _is_word_char(text[j]):
                j += 1
            run = text[i:j]
            out.append(" " if run in words else run)
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def squad_v11_tokens(text: str) -> list[str]:
    """SQuAD v1.1: lower-case, drop ASCII punctuation, drop the words a/an/the, split on whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return _drop_whole_words(text, {"a", "an", "the"}).split()


MLQA_ARTICLES = {
    "en": {"a", "an", "the"},
    "es": {"un", "una", "unos", "unas", "el", "la", "los", "las"},
    "de": {"ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"},
    "vi": {"của", "là", "cái", "chiếc", "những"},
    "ar": set(),
    "hi": set(),
    "zh": set(),
}


def _unicode_punct(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch)[0] == "P"


def mlqa_tokens(text: str, lang: str) -> list[str]:
    """MLQA v1: lower-case; drop every Unicode punctuation mark and ASCII punctuation; drop the
    language's articles as whole words (Arabic: every "ال", wherever it stands); then whitespace tokens,
    except Chinese, where each character of U+4E00–U+9FA5 (and each punctuation mark) is a token."""
    text = "".join(ch for ch in text.lower() if not _unicode_punct(ch))
    text = text.replace("ال", " ") if lang == "ar" else _drop_whole_words(text, MLQA_ARTICLES[lang])
    if lang != "zh":
        return text.split()
    tokens, word = [], ""
    for ch in text:
        if "\u4e00" <= ch <= "\u9fa5":
            tokens += word.split() + [ch]
            word = ""
        else:
            word += ch
    return tokens + word.split()


def reference_scores(prediction: str, gold: str, tokens) -> tuple[float, float]:
    """(EM, F1) of one prediction against one gold answer under a tokeniser."""
    p, g = tokens(prediction), tokens(gold)
    em = float(" ".join(p) == " ".join(g))
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return em, 0.0
    precision, recall = same / len(p), same / len(g)
    return em, 2 * precision * recall / (precision + recall)


# --- tricky strings ------------------------------------------------------------------------------

CASES = [
    ("en", "The Eiffel Tower.", "Eiffel tower"),
    ("en", "  the  quick, brown fox!! ", "quick brown fox"),
    ("en", "Theatre of the Absurd", "theatre absurd"),
    ("en", "a", "the"),  # both normalise to nothing: EM 1, F1 0
    ("en", "$1,000", "1000"),
    ("en", "«Paris»", "Paris"),
    ("en", "the。", "。"),
    ("en", "rock'n'roll", "rock n roll"),
    ("es", "el río Ebro", "río Ebro"),
    ("es", "a Madrid", "Madrid"),  # a Spanish preposition that SQuAD's English rule deletes
    ("es", "¿Los Ángeles?", "Ángeles"),
    ("es", "una  casa", "la casa"),
    ("de", "die Donau", "Donau"),
    ("de", "Das Haus der Musik", "haus musik"),
    ("vi", "cái bàn của tôi", "bàn tôi"),
    ("vi", "Hà Nội", "hà nội"),
    ("zh", "北京市。", "北京"),
    ("zh", "“长城”", "长城"),
    ("zh", "2008年北京奥运会", "北京奥运会"),
    ("zh", "the 长江 river", "长江"),
    ("ar", "القاهرة", "قاهرة"),
    ("ar", "مالك", "مالك"),
    ("ar", "السلام، عليكم", "السلام عليكم"),
    ("ar", "في الكتاب", "كتاب"),
    ("hi", "भारत।", "भारत"),
    ("hi", "नई दिल्ली", "दिल्ली"),
]


@pytest.mark.parametrize("lang,prediction,gold", CASES)
def test_both_normalisations_match_independent_implementations(lang, prediction, gold):
    for norm, tokens in (("squad_v1", squad_v11_tokens), ("mlqa", lambda t: mlqa_tokens(t, lang))):
        em, f1 = reference_scores(prediction, gold, tokens)
        got = metrics.qa_scores(prediction, [gold], lang, norm)
        assert (got["exact_match"], got["f1"]) == (em, pytest.approx(f1)), (norm, prediction, gold)
        assert metrics.qa_tokens(prediction, lang, norm) == tokens(prediction)


def test_the_two_normalisations_disagree_where_the_issue_says():
    # exact values: Chinese partial answers are worth nothing to the SQuAD script
    assert metrics.qa_scores("北京", ["北京市"], "zh", "squad_v1") == {"exact_match": 0.0, "f1": 0.0, "contains": 0.0}
    assert metrics.qa_scores("北京", ["北京市"], "zh", "mlqa")["f1"] == pytest.approx(0.8)
    assert metrics.qa_scores("el río Ebro", ["río Ebro"], "es", "squad_v1")["f1"] == pytest.approx(0.8)
    assert metrics.qa_scores("el río Ebro", ["río Ebro"], "es", "mlqa")["exact_match"] == 1.0
    assert metrics.qa_tokens("“长城”。", "zh", "squad_v1") == ["“长城”。"]
    assert metrics.qa_tokens("مالك", "ar", "mlqa") == ["م", "ك"]  # MLQA's expression, quirk and all
    assert metrics.qa_signature("zh", "squad_v1").startswith("qa|lang:zh|norm:squad_v1.1|seg:space|")
    assert metrics.qa_signature("zh").startswith("qa|lang:zh|norm:mlqa_v1+polyalign_v1|seg:chars|")
    with pytest.raises(ValueError, match="unknown QA normalisation 'squad'"):
        metrics.qa_signature("en", "squad")


def test_xquad_defaults_to_squad_and_mlqa_to_its_own():
    from polyalign.eval import tasks as T

    assert {name: t.qa_norm for name, t in T.TASKS.items() if t.kind == "qa"} == {
        "xquad": "squad_v1",
        "mlqa": "mlqa",
        "polyqa": "mlqa",
        "polyqa_v2": "mlqa",
        "local_qa": "mlqa",
    }


def test_score_qa_takes_qa_norm(tmp_path, capsys):
    dataset = tmp_path / "xquad.zh.json"
    para = {"context": "首都是北京市。", "qas": [{"id": "q1", "question": "首都?", "answers": [{"text": "北京市"}]}]}
    dataset.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [para]}]}), encoding="utf-8")
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"q1": "北京"}), encoding="utf-8")
    results = {}
    for norm in ("squad_v1", "mlqa"):
        assert main(["score", "qa", str(dataset), str(preds), "--lang", "zh", "--qa-norm", norm]) == 0
        results[norm] = json.loads(capsys.readouterr().out)
    assert results["squad_v1"]["f1"] == 0.0 and results["mlqa"]["f1"] == pytest.approx(80.0)
    assert "norm:squad_v1.1" in results["squad_v1"]["signature"]
    assert main(["score", "qa", str(dataset), str(preds), "--lang", "zh"]) == 0  # default: mlqa, as before
    assert json.loads(capsys.readouterr().out)["f1"] == pytest.approx(80.0)
    with pytest.raises(SystemExit) as e:
        main(["score", "qa", str(dataset), str(preds), "--lang", "zh", "--qa-norm", "squad"])
    assert e.value.code == 2 and "invalid choice: 'squad'" in capsys.readouterr().err
