"""Translation metrics: BLEU and chrF++ through sacrebleu, with the tokenizer the target needs.

BLEU's tokenizer is chosen by target language (``zh`` for Chinese; ``char`` for Japanese, Korean,
Thai and other scripts written without spaces; ``13a`` otherwise), because BLEU with ``13a`` on
Chinese counts whole sentences as words. ``flores101`` / ``flores200`` is spBLEU, BLEU over the
SentencePiece pieces of the FLORES papers' models: sacrebleu downloads those at run time, so here
the model is read from a local file (``spm_model``, or sacrebleu's cache when it holds one) and
the pieces are exactly sacrebleu's (``" ".join(EncodeAsPieces(line))``, the same scoring code).
chrF++ is chrF with word bigrams (``word_order=2``).
Every score carries sacrebleu's signature. No torch here.

Scores are sacrebleu's own ``corpus_score``, and so are their intervals: ``corpus_score(...,
n_bootstrap=1000)`` resamples the sentences' sufficient statistics and reports the half-width of the
95% interval (``μ = mean ± ci`` in sacrebleu's output; seeded by ``SACREBLEU_SEED``, 12345 by
default; ``bs`` and ``seed`` appear in the signature). COMET, when ``unbabel-comet`` is installed,
scores with a checkpoint read from local files only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
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
            if isinstance(value, list):  # a QA sample's several gold answers
                raise InputError(
                    f"'{field}' holds a list, not one text a segment: translation metrics "
                    "score one reference a segment (QA answers: polyalign score qa)",
                    path,
                    n,
                )
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


# sacrebleu's spBLEU tokenizers: where it downloads each model from, and its file name in the cache.
SPM_MODELS = {
    "flores101": (
        "https://dl.fbaipublicfiles.com/fairseq/models/flores/sacrebleu_tokenizer_spm.model",
        "sacrebleu_tokenizer_spm.model",
    ),
    "flores200": ("https://tinyurl.com/flores200sacrebleuspm", "flores200sacrebleuspm"),
}
BLEU_TOKENIZERS = ("13a", "intl", "zh", "char", "none", "ja-mecab", "ko-mecab", *SPM_MODELS)


def check_tokenizer(name: str) -> None:
    """An :class:`~polyalign.io.InputError` unless ``name`` is a BLEU tokenizer polyalign offers."""
    if name not in BLEU_TOKENIZERS:
        raise InputError(f"unknown BLEU tokenizer {name!r} (known: {', '.join(BLEU_TOKENIZERS)})")


def spm_model_path(tokenize: str, spm_model: str | None = None) -> Path:
    """The SentencePiece model file of spBLEU tokenizer ``tokenize``: ``spm_model`` when given,
    else sacrebleu's cached copy (``$SACREBLEU`` or ``~/.sacrebleu``, then ``models/``)."""

    if spm_model is not None:
        path = Path(spm_model).expanduser()
        if not path.is_file():
            raise InputError("no such SentencePiece model file", path)
        return path
    url, name = SPM_MODELS[tokenize]
    path = Path(os.environ.get("SACREBLEU", Path.home() / ".sacrebleu")).expanduser() / "models" / name
    if not path.is_file():
        raise InputError(
            f"spBLEU ({tokenize}) needs its SentencePiece model: download {url} to {path}, "
            "or give its path with --spm-model (recipe: eval.spm_model)"
        )
    return path


class SpmTokenizer:
    """sacrebleu's spBLEU tokenizer over a local SentencePiece model file (sacrebleu's own
    ``TokenizerSPM`` downloads its model instead): the same pieces, the same signature name."""

    def __init__(self, tokenize: str, path: Path):
        try:
            import sentencepiece
        except ImportError:
            raise InputError("spBLEU needs sentencepiece: pip install 'polyalign[spbleu]'") from None
        self.name = tokenize
        self.sp = sentencepiece.SentencePieceProcessor()
        self.sp.Load(str(path))
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    def signature(self) -> str:
        return self.name

    @functools.lru_cache(maxsize=2**16)  # noqa: B019 (one per metric; sacrebleu caches the same way)
    def __call__(self, line: str) -> str:
        return " ".join(self.sp.EncodeAsPieces(line))


def bleu_metric(lang: str, tokenize: str | None = None, spm_model: str | None = None) -> Any:
    """sacrebleu's ``BLEU`` for text in ``lang``: the target-aware tokenizer, or ``tokenize``.

    For spBLEU the metric is sacrebleu's own, its tokenizer an :class:`SpmTokenizer` over the local
    model (set through the metric's public ``tokenizer`` and ``tokenizer_signature`` attributes,
    which is all sacrebleu reads), so scores and signature are those of ``BLEU(tokenize=...)``.
    """
    from sacrebleu.metrics import BLEU

    if spm_model is not None and tokenize not in SPM_MODELS:
        raise InputError(f"--spm-model goes with --tokenize {' or '.join(SPM_MODELS)}")
    if tokenize in SPM_MODELS:
        bleu = BLEU(tokenize="none")
        bleu.tokenizer = SpmTokenizer(tokenize, spm_model_path(tokenize, spm_model))
        bleu.tokenizer_signature = bleu.tokenizer.signature()
        return bleu
    if tokenize is not None:
        check_tokenizer(tokenize)
    return BLEU(tokenize=tokenize or bleu_tokenizer(lang))


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
    tokenize: str | None = None,
    spm_model: str | None = None,
) -> dict[str, Any]:
    """Corpus BLEU and chrF++ of ``hyps`` against one reference each, target language ``lang``.

    Returns ``{"bleu", "chrf", "n", "bleu_signature", "chrf_signature", "bleu_ci", "chrf_ci"}``;
    the scores are exactly sacrebleu's, ``*_ci`` the half-width of sacrebleu's 95% bootstrap
    interval (``n_bootstrap`` resamples; ``n_bootstrap=1`` skips it, and the ``*_ci`` keys).
    ``tokenize``: BLEU's tokenizer (default: by ``lang``); ``flores101``/``flores200`` with
    ``spm_model`` is spBLEU, and the result names the model file and its sha256.
    """
    from sacrebleu.metrics import CHRF

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    bleu = bleu_metric(lang, tokenize, spm_model)
    out: dict[str, Any] = {"n": len(hyps)}
    if isinstance(bleu.tokenizer, SpmTokenizer):
        out.update(spm_model=str(spm_model_path(bleu.tokenizer.name, spm_model)), spm_sha256=bleu.tokenizer.sha256)
    for name, metric in (("bleu", bleu), ("chrf", CHRF(word_order=2))):
        try:
            score = metric.corpus_score(list(hyps), [list(refs)], n_bootstrap=n_bootstrap)
        except TypeError:
            # sacrebleu 2.x: when some resamples score exactly 0 its interval code meets a Python float
            # beside numpy float32s and fails in statistics.mean; resample through its public API instead.
            score = metric.corpus_score(list(hyps), [list(refs)])
            out[name] = score.score
            out[f"{name}_signature"] = str(metric.get_signature())
            out[f"{name}_ci"] = resampled_halfwidth(metric, hyps, refs, n_bootstrap)
            continue
        out[name] = score.score
        out[f"{name}_signature"] = str(metric.get_signature())
        if n_bootstrap > 1:
            out[f"{name}_ci"] = confidence_halfwidth(score, out[f"{name}_signature"])
    return out


def resampled_halfwidth(metric: Any, hyps: Sequence[str], refs: Sequence[str], n_bootstrap: int) -> float:
    """Half-width of the 95% interval as sacrebleu computes it (sorted resample scores, 1/40 from
    each end), with the resamples scored by ``metric.corpus_score`` itself; seeded as sacrebleu is
    (12345), so the same corpus gives the same interval."""
    import numpy as np

    rng = np.random.default_rng(12345)
    n = len(hyps)
    scores = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, n, n)
        scores.append(float(metric.corpus_score([hyps[i] for i in idx], [[refs[i] for i in idx]]).score))
    scores.sort()
    low = n_bootstrap // 40
    return 0.5 * (scores[n_bootstrap - low - 1] - scores[low])


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
