"""Translation metrics: BLEU and chrF++ through sacrebleu, with the tokenizer the target needs.

BLEU's tokenizer is chosen by target language (``zh`` for Chinese; ``char`` for Japanese, Korean,
Thai and other scripts written without spaces; ``13a`` otherwise), because BLEU with ``13a`` on
Chinese counts whole sentences as words. chrF++ is chrF with word bigrams (``word_order=2``).
Every score carries sacrebleu's signature. No torch here.

Scores are sacrebleu's own ``corpus_score``, and so are their intervals: ``corpus_score(...,
n_bootstrap=1000)`` resamples the sentences' sufficient statistics and reports the half-width of the
95% interval (``μ = mean ± ci`` in sacrebleu's output; seeded by ``SACREBLEU_SEED``, 12345 by
default; ``bs`` and ``seed`` appear in the signature). COMET, when ``unbabel-comet`` is installed,
scores with a checkpoint read from local files only.
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


def score_corpus(
    hyps: Sequence[str],
    refs: Sequence[str],
    lang: str,
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """Corpus BLEU and chrF++ of ``hyps`` against one reference each, target language ``lang``.

    Returns ``{"bleu", "chrf", "n", "bleu_signature", "chrf_signature", "bleu_ci", "chrf_ci"}``;
    the scores are exactly sacrebleu's, ``*_ci`` the half-width of sacrebleu's 95% bootstrap
    interval (``n_bootstrap`` resamples; ``n_bootstrap=1`` skips it, and the ``*_ci`` keys).
    """
    from sacrebleu.metrics import BLEU, CHRF

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    out: dict[str, Any] = {"n": len(hyps)}
    for name, metric in (("bleu", BLEU(tokenize=bleu_tokenizer(lang))), ("chrf", CHRF(word_order=2))):
        score = metric.corpus_score(list(hyps), [list(refs)], n_bootstrap=n_bootstrap)
        out[name] = score.score
        out[f"{name}_signature"] = str(metric.get_signature())
        if n_bootstrap > 1:
            out[f"{name}_ci"] = confidence_halfwidth(score, out[f"{name}_signature"])
    return out


def confidence_halfwidth(score: Any, signature: str) -> float:
    """Half-width of the 95% bootstrap interval of a sacrebleu score made with ``n_bootstrap > 1``,
    read through sacrebleu's public JSON format (it omits the interval when every resample scored 0)."""
    import json

    return float(json.loads(score.format(width=8, signature=signature, is_json=True)).get("confidence_var", 0.0))


def sentence_chrf(hyp: str, ref: str) -> float:
    """chrF++ of one sentence (for per-sample listings; corpus chrF is not their mean)."""
    from sacrebleu.metrics import CHRF

    return CHRF(word_order=2).sentence_score(hyp, [ref]).score


def comet_score(
    sources: Sequence[str],
    hyps: Sequence[str],
    refs: Sequence[str],
    model: str,
    batch_size: int = 16,
    gpus: int | None = None,
) -> dict[str, Any]:
    """COMET of ``hyps`` (with their ``sources`` and ``refs``), from a local checkpoint.

    ``model`` is a ``.ckpt`` file, a downloaded model folder (holding ``checkpoints/model.ckpt``),
    or a hub id already in the local cache; nothing is downloaded. Needs ``unbabel-comet``.
    """
    import os
    from pathlib import Path

    from polyalign.io import InputError

    try:
        import comet
    except ImportError:
        raise InputError("COMET needs unbabel-comet: pip install 'polyalign[comet]'") from None
    if not (len(sources) == len(hyps) == len(refs)):
        raise ValueError(f"{len(sources)} sources, {len(hyps)} hypotheses, {len(refs)} references")
    path = Path(model).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / "model.ckpt"
    elif not path.is_file():
        try:
            path = Path(comet.download_model(model, local_files_only=True))
        except Exception as e:
            raise InputError(f"no local COMET checkpoint ({type(e).__name__}); give a .ckpt path", model) from None
    if not path.is_file():
        raise InputError("no such COMET checkpoint", path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scorer = comet.load_from_checkpoint(str(path), local_files_only=True)
    if gpus is None:
        import torch

        gpus = 1 if torch.cuda.is_available() else 0
    data = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(sources, hyps, refs)]
    pred = scorer.predict(data, batch_size=batch_size, gpus=gpus, progress_bar=False)
    import numpy as np

    seg = [float(x) for x in pred.scores]
    return {
        "comet": float(pred.system_score),
        "comet_stderr": float(np.std(seg, ddof=1) / np.sqrt(len(seg))) if len(seg) > 1 else 0.0,
        "comet_model": str(model),
        "comet_segments": seg,
    }
