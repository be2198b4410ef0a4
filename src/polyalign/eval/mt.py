"""Translation metrics: BLEU and chrF++ through sacrebleu, with the tokenizer the target needs.

BLEU's tokenizer is chosen by target language (``zh`` for Chinese; ``char`` for Japanese, Korean,
Thai and other scripts written without spaces; ``13a`` otherwise), because BLEU with ``13a`` on
Chinese counts whole sentences as words. chrF++ is chrF with word bigrams (``word_order=2``).
Every score carries sacrebleu's signature. No torch here.

Scores are sacrebleu's own ``corpus_score``; their standard errors come from the same per-sentence
sufficient statistics sacrebleu sums (n-gram matches and totals), resampled with replacement: the
bootstrap sacrebleu uses for its confidence intervals, seeded. COMET, when ``unbabel-comet`` is
installed, scores with a checkpoint read from local files only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from polyalign import langs
from polyalign.io import InputError, iter_jsonl, read_lines

# Scripts written without spaces between words: word-level BLEU is meaningless there.
_UNSEGMENTED_SCRIPTS = {"Thai", "Laoo", "Khmr", "Mymr", "Jpan", "Hang"}


def read_segments(path: str, field: str, column: int | None = None) -> list[str]:
    """The segments of a file to score: one a line, never a line of some other format scored as text.

    * JSON lines (what ``polyalign eval`` writes as ``samples_*.jsonl``): ``field`` of each record
      (``output`` for hypotheses, ``reference`` for references);
    * ``column`` (1-based): that tab-separated column of each line (``src<TAB>tgt``: 2);
    * otherwise plain text, one segment a line: a file of JSON objects or of tab-separated lines
      is refused, since scoring its raw lines gives a confident, wrong number.

    An empty file is an error: there is nothing to score.
    """
    lines = read_lines(path)
    if not any(line.strip() for line in lines):
        raise InputError("is empty: no segments to score", path)
    if column is not None:
        if column < 1:
            raise InputError(f"--*-column counts from 1, got {column}")
        out = []
        for n, line in enumerate(lines, start=1):
            cols = line.split("\t")
            if len(cols) < column:
                raise InputError(f"has {len(cols)} tab-separated column(s), no column {column}", path, n)
            out.append(cols[column - 1])
        return out
    first = next(line for line in lines if line.strip())
    if _is_json_object(first):
        out = []
        for n, rec in iter_jsonl(path):
            value = rec.get(field)
            if not isinstance(value, str):
                found = ", ".join(sorted(rec)) or "none"
                raise InputError(f"a JSON record without a string '{field}' field (fields: {found})", path, n)
            out.append(value)
        return out
    tabbed = next((n for n, line in enumerate(lines, start=1) if "\t" in line), None)
    if tabbed is not None:
        raise InputError("has tab-separated columns: pick one with --hyp-column/--ref-column N", path, tabbed)
    return lines


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


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
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Corpus BLEU and chrF++ of ``hyps`` against one reference each, target language ``lang``.

    Returns ``{"bleu", "chrf", "n", "bleu_signature", "chrf_signature", "bleu_stderr",
    "chrf_stderr"}``; the scores are exactly sacrebleu's. ``n_boot=0`` skips the standard errors.
    """
    from sacrebleu.metrics import BLEU, CHRF

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    bleu = BLEU(tokenize=bleu_tokenizer(lang))
    chrf = CHRF(word_order=2)
    b = bleu.corpus_score(list(hyps), [list(refs)])
    c = chrf.corpus_score(list(hyps), [list(refs)])
    out: dict[str, Any] = {
        "bleu": b.score,
        "chrf": c.score,
        "n": len(hyps),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }
    if n_boot > 0:
        out["bleu_stderr"] = bootstrap_stderr(bleu, hyps, refs, n_boot, seed)
        out["chrf_stderr"] = bootstrap_stderr(chrf, hyps, refs, n_boot, seed)
    return out


def bootstrap_stderr(metric: Any, hyps: Sequence[str], refs: Sequence[str], n_boot: int = 1000, seed: int = 0) -> float:
    """Bootstrap standard error of a sacrebleu corpus metric over its per-sentence statistics."""
    import numpy as np

    if len(hyps) < 2:
        return 0.0
    # The sufficient statistics sacrebleu itself sums (one row per sentence).
    stats = np.asarray(metric._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = len(stats)
    scores = [metric._compute_score_from_stats(stats[rng.integers(0, n, n)].sum(axis=0)).score for _ in range(n_boot)]
    return float(np.std(scores, ddof=1))


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
