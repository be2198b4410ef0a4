"""Translation metrics: BLEU and chrF++ through sacrebleu, with the tokenizer the target needs.

BLEU's tokenizer is chosen by target language (``zh`` for Chinese; ``char`` for Japanese, Korean,
Thai and other scripts written without spaces; ``13a`` otherwise), because BLEU with ``13a`` on
Chinese counts whole sentences as words. chrF++ is chrF with word bigrams (``word_order=2``).
Every score carries sacrebleu's signature. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyalign import langs

# Scripts written without spaces between words: word-level BLEU is meaningless there.
_UNSEGMENTED_SCRIPTS = {"Thai", "Laoo", "Khmr", "Mymr", "Jpan", "Hang"}


def bleu_tokenizer(lang: str) -> str:
    """sacrebleu tokenizer name for BLEU on text in ``lang``.

    >>> bleu_tokenizer("zh"), bleu_tokenizer("th"), bleu_tokenizer("es")
    ('zh', 'char', '13a')
    """
    code = langs.base(lang)
    if code == "zh":
        return "zh"
    if code in ("ja", "ko"):
        return _mecab_or_char(code)
    if langs.script(lang) in _UNSEGMENTED_SCRIPTS:
        return "char"
    return "13a"


def _mecab_or_char(code: str) -> str:
    module = {"ja": "MeCab", "ko": "mecab_ko"}[code]
    try:
        __import__(module)
    except ImportError:
        return "char"
    return "ja-mecab" if code == "ja" else "ko-mecab"


def score_corpus(hyps: Sequence[str], refs: Sequence[str], lang: str) -> dict[str, Any]:
    """Corpus BLEU and chrF++ of ``hyps`` against one reference each, target language ``lang``.

    Returns ``{"bleu", "chrf", "n", "bleu_signature", "chrf_signature"}``.
    """
    from sacrebleu.metrics import BLEU, CHRF

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    bleu = BLEU(tokenize=bleu_tokenizer(lang))
    chrf = CHRF(word_order=2)
    b = bleu.corpus_score(list(hyps), [list(refs)])
    c = chrf.corpus_score(list(hyps), [list(refs)])
    return {
        "bleu": b.score,
        "chrf": c.score,
        "n": len(hyps),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def sentence_chrf(hyp: str, ref: str) -> float:
    """chrF++ of one sentence (for per-sample listings; corpus chrF is not their mean)."""
    from sacrebleu.metrics import CHRF

    return CHRF(word_order=2).sentence_score(hyp, [ref]).score
