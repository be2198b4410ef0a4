"""Metrics over strings: QA exact match / F1 / contains, accuracy, MGSM answers, language fidelity.

Every metric here is a pure function of strings; no torch. Scores follow one path (DESIGN anchor 2):
each example yields its statistics, the statistics are summed (:class:`MeanStats`), and the sum is
scored. The same sums give standard errors, bootstrap intervals and multi-process reduction, and
every score carries a *signature* naming what produced it.

QA normalisation
----------------
For the seven languages of the official MLQA v1 evaluation (en, es, de, ar, hi, vi, zh), scores are
identical to that evaluation. An answer is normalised by, in this order:

1. lower-casing (``str.lower``);
2. deleting punctuation: every character whose Unicode category starts with ``P``, plus the ASCII
   characters of ``string.punctuation`` (which include the symbols ``$ + < = > ^ ` | ~``);
3. deleting articles, per language: en ``a an the``; es ``un una unos unas el la los las``;
   de ``ein eine einen einem eines einer der die das den dem des``; vi ``của là cái chiếc những``
   (as whole words); ar: **every occurrence of the letters "ال"**, even inside a word, because
   that is what the official expression does (its other alternative can never match);
   hi and zh: none;
4. splitting into tokens: on whitespace, except zh, where each character in U+4E00–U+9FA5 is a
   token of its own and the text between such characters is split on whitespace ("mixed
   segmentation").

EM compares the normalised strings; F1 is the harmonic mean of token precision and recall (0 when
no token is shared, so two answers that both normalise to nothing have EM 1 and F1 0). Each is the
maximum over the gold answers, and the official averages count an unanswered question as 0.

polyalign's own rules for the other XQuAD languages, and any other code:

* el: the Greek articles (``ο η το οι τα του της των τον την τους τις ένας μια μία ένα ενός μιας
  έναν``) are deleted as whole words, as English articles are;
* ru, tr, ro and every other language written with spaces: no article removal (Russian and Turkish
  have no articles; Romanian's definite article is a suffix), whitespace tokens;
* tr and az lower-case the Turkish way first (``İ`` → ``i``, ``I`` → ``ı``), since ``str.lower``
  would turn ``İstanbul`` into ``i̇stanbul`` with a combining dot;
* th, lo, km, my (scripts written without spaces) and ja: character-level segmentation, the zh
  rule applied to that script's characters (Thai U+0E00–U+0E7F, Lao U+0E80–U+0EFF, Khmer
  U+1780–U+17FF, Myanmar U+1000–U+109F; Japanese kana U+3040–U+30FF and CJK U+4E00–U+9FFF).

``contains`` is the lenient score of earlier multilingual work: 1 when some gold answer's
normalised tokens appear, contiguous and whole, in the normalised prediction.

SQuAD v1.1 normalisation (``norm="squad_v1"``)
---------------------------------------------
XQuAD's authors (and lm-evaluation-harness) score XQuAD with the SQuAD v1.1 evaluation script,
which knows one language: lower-case; delete the ASCII characters of ``string.punctuation`` only
(``。``, ``،`` and ``«`` stay); delete the English words ``a``, ``an``, ``the`` in every language;
split on whitespace. Chinese and Thai answers are then single tokens, so a partly right answer
gets F1 0. This is the default for the ``xquad`` task, so its numbers are comparable with
published ones; every other QA task defaults to the MLQA rules above. ``--qa-norm`` chooses.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from polyalign import langs
from polyalign.eval.types import QA_NORMS, QANorm
from polyalign.io import InputError

QA_NORMALIZATION_VERSION = "mlqa_v1+polyalign_v1"
SQUAD_NORMALIZATION_VERSION = "squad_v1.1"
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")

_ASCII_PUNCT = frozenset(string.punctuation)

# Articles deleted as whole words (after lower-casing and punctuation removal).
_ARTICLES: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # polyalign's rule for Greek (not in MLQA).
    "el": re.compile(r"\b(ο|η|το|οι|τα|του|της|των|τον|την|τους|τις|ένας|μια|μία|ένα|ενός|μιας|έναν)\b"),
}
_ARABIC_ARTICLE = "ال"

# Languages whose tokens are single characters of one script (the rest split on whitespace).
_CHAR_SEGMENTED: dict[str, re.Pattern[str]] = {
    "zh": re.compile(r"[\u4e00-\u9fa5]"),  # exactly MLQA's range
    "th": re.compile(r"[\u0e00-\u0e7f]"),
    "lo": re.compile(r"[\u0e80-\u0eff]"),
    "km": re.compile(r"[\u1780-\u17ff]"),
    "my": re.compile(r"[\u1000-\u109f]"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
}


def is_punctuation(ch: str) -> bool:
    """True for a Unicode punctuation character (category ``P*``) or an ASCII punctuation mark.

    >>> is_punctuation("。"), is_punctuation("$"), is_punctuation("a")
    (True, True, False)
    """
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _segment(text: str, chars: re.Pattern[str] | None) -> list[str]:
    if chars is None:
        return text.split()
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if chars.match(ch) or is_punctuation(ch):
            if run:
                tokens.extend("".join(run).split())
                run = []
            tokens.append(ch)
        else:
            run.append(ch)
    if run:
        tokens.extend("".join(run).split())
    return tokens


def check_norm(norm: str) -> None:
    """A ``ValueError`` unless ``norm`` is one of :data:`QA_NORMS`."""
    if norm not in QA_NORMS:
        raise ValueError(f"unknown QA normalisation {norm!r} (known: {', '.join(QA_NORMS)})")


def squad_tokens(text: str) -> list[str]:
    """SQuAD v1.1's normalised tokens (any language; see the module docstring).

    >>> squad_tokens("The Eiffel Tower!"), squad_tokens("北京，首都。")
    (['eiffel', 'tower'], ['北京，首都。'])
    """
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCT)
    return _SQUAD_ARTICLES.sub(" ", text).split()


def qa_tokens(text: str, lang: str, norm: QANorm = "mlqa") -> list[str]:
    """The normalised tokens of an answer in language ``lang`` (see the module docstring).

    >>> qa_tokens("The Eiffel Tower!", "en")
    ['eiffel', 'tower']
    >>> qa_tokens("北京是首都, Beijing 2008", "zh")
    ['北', '京', '是', '首', '都', 'beijing', '2008']
    """
    if norm != "mlqa":
        check_norm(norm)
        return squad_tokens(text)
    code = langs.base(lang)
    if code in ("tr", "az"):
        text = text.replace("İ", "i").replace("I", "ı")
    text = "".join(ch for ch in text.lower() if not is_punctuation(ch))
    if code == "ar":
        text = text.replace(_ARABIC_ARTICLE, " ")
    elif code in _ARTICLES:
        text = _ARTICLES[code].sub(" ", text)
    return [t for t in _segment(text, _CHAR_SEGMENTED.get(code)) if t.strip()]


def normalize_answer(text: str, lang: str, norm: QANorm = "mlqa") -> str:
    """The normalised answer string: its :func:`qa_tokens` joined by single spaces.

    >>> normalize_answer("Los  Ángeles", "es"), normalize_answer("Los  Ángeles", "es", "squad_v1")
    ('ángeles', 'los ángeles')
    """
    return " ".join(qa_tokens(text, lang, norm))


def qa_f1(prediction: str, gold: str, lang: str, norm: QANorm = "mlqa") -> float:
    """Token F1 of one prediction against one gold answer, in [0, 1]."""
    pred, ref = qa_tokens(prediction, lang, norm), qa_tokens(gold, lang, norm)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def qa_scores(prediction: str, golds: Sequence[str], lang: str, norm: QANorm = "mlqa") -> dict[str, float]:
    """``{"exact_match", "f1", "contains"}`` of one prediction, each the max over ``golds``, in [0, 1].

    >>> qa_scores("the Eiffel tower", ["Eiffel Tower", "tower"], "en")
    {'exact_match': 1.0, 'f1': 1.0, 'contains': 1.0}
    >>> qa_scores("北京", ["北京市"], "zh")["f1"], qa_scores("北京", ["北京市"], "zh", "squad_v1")["f1"]
    (0.8, 0.0)
    """
    if not golds:
        raise ValueError("a QA example needs at least one gold answer")
    pred = normalize_answer(prediction, lang, norm)
    normed = [normalize_answer(g, lang, norm) for g in golds]
    em = max(float(pred == g) for g in normed)
    f1 = max(qa_f1(prediction, g, lang, norm) for g in golds)
    contains = max(float(bool(g) and f" {g} " in f" {pred} ") for g in normed)
    return {"exact_match": em, "f1": f1, "contains": contains}


# ---------------------------------------------------------------------------------------------
# Sufficient statistics


@dataclass(frozen=True)
class MeanStats:
    """Sufficient statistics of a mean: sum, sum of squares and count of per-example values.

    Sums add (``a + b``), so shards of a dataset scored apart combine exactly.

    >>> s = MeanStats.of([1.0, 0.0, 1.0, 1.0])
    >>> s.score(), round(s.stderr(), 4)
    (75.0, 25.0)
    """

    total: float = 0.0
    total_sq: float = 0.0
    n: int = 0

    @classmethod
    def of(cls, values: Iterable[float]) -> MeanStats:
        vals = [float(v) for v in values]
        return cls(sum(vals), sum(v * v for v in vals), len(vals))

    def __add__(self, other: MeanStats) -> MeanStats:
        return MeanStats(self.total + other.total, self.total_sq + other.total_sq, self.n + other.n)

    def score(self) -> float:
        """The mean, in percent (0 for no examples)."""
        return 100.0 * self.total / self.n if self.n else 0.0

    def stderr(self) -> float:
        """Standard error of the mean, in percent (sample standard deviation / sqrt(n))."""
        if self.n < 2:
            return 0.0
        var = max(self.total_sq - self.total * self.total / self.n, 0.0) / (self.n - 1)
        return 100.0 * math.sqrt(var / self.n)


def signature(metric: str, **fields: Any) -> str:
    """A sacrebleu-style signature: ``metric|key:value|...|version:polyalign-X``.

    >>> signature("em", lang="zh", norm="mlqa_v1")[:24]
    'em|lang:zh|norm:mlqa_v1|'
    """
    from polyalign import __version__

    parts = [metric] + [f"{k}:{v}" for k, v in fields.items()] + [f"version:polyalign-{__version__}"]
    return "|".join(parts)


def qa_signature(lang: str, norm: QANorm = "mlqa") -> str:
    """What produced a QA score: language, normalisation (and its version) and segmentation.

    >>> qa_signature("zh", "squad_v1").split("|")[:4]
    ['qa', 'lang:zh', 'norm:squad_v1.1', 'seg:space']
    """
    check_norm(norm)
    code = langs.base(lang)
    if norm == "squad_v1":
        return signature("qa", lang=code, norm=SQUAD_NORMALIZATION_VERSION, seg="space")
    seg = "chars" if code in _CHAR_SEGMENTED else "space"
    return signature("qa", lang=code, norm=QA_NORMALIZATION_VERSION, seg=seg)


# ---------------------------------------------------------------------------------------------
# QA over a SQuAD / MLQA file


def qa_items(dataset: dict[str, Any] | list[Any]) -> list[tuple[str, list[str]]]:
    """``(id, gold answers)`` for every question of a SQuAD-format dataset (``data/paragraphs/qas``)."""
    articles = dataset["data"] if isinstance(dataset, dict) else dataset
    items = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                items.append((str(qa["id"]), [a["text"] for a in qa["answers"]]))
    return items


def evaluate_qa(
    items: Sequence[tuple[str, list[str]]],
    predictions: dict[str, str],
    lang: str,
    norm: QANorm = "mlqa",
) -> dict[str, Any]:
    """Exact match, F1 and contains (percent) over ``items``, as the official MLQA (``norm="mlqa"``)
    or SQuAD v1.1 (``norm="squad_v1"``) script counts them.

    A question without a prediction scores 0 and is counted in ``missing``.
    """
    per: dict[str, list[float]] = {"exact_match": [], "f1": [], "contains": []}
    missing = 0
    for qid, golds in items:
        if qid not in predictions:
            missing += 1
            for v in per.values():
                v.append(0.0)
            continue
        for k, v in qa_scores(predictions[qid], golds, lang, norm).items():
            per[k].append(v)
    out: dict[str, Any] = {}
    for k, values in per.items():
        s = MeanStats.of(values)
        out[k] = s.score()
        out[f"{k}_stderr"] = s.stderr()
    out.update(n=len(items), missing=missing, signature=qa_signature(lang, norm))
    return out


# ---------------------------------------------------------------------------------------------
# Classification and math


def accuracy(predictions: Sequence[Any], golds: Sequence[Any]) -> dict[str, float]:
    """Accuracy (percent) with its standard error.

    >>> accuracy(["yes", "no", "no"], ["yes", "no", "yes"])["accuracy"]
    66.66666666666667
    """
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions but {len(golds)} gold labels")
    s = MeanStats.of(float(p == g) for p, g in zip(predictions, golds))
    return {"accuracy": s.score(), "accuracy_stderr": s.stderr(), "n": s.n}


def majority_baseline(golds: Sequence[Any], order: Sequence[Any] | None = None) -> dict[str, Any]:
    """What always answering the most frequent gold label scores on these items: a classification
    accuracy means something only beside it (5 items of which 3 are positive give 60% to a model
    that cannot tell the classes apart).

    ``majority_baseline`` is in percent; ``majority_label`` is the label, a tie going to the one
    first in ``order`` (default: first met in ``golds``).

    >>> majority_baseline(["pos", "neg", "pos", "pos", "neg"])
    {'majority_baseline': 60.0, 'majority_label': 'pos'}
    >>> majority_baseline([1, 0, 0, 1], order=[0, 1])["majority_label"]
    0
    """
    if not golds:
        return {"majority_baseline": None, "majority_label": None}
    counts = Counter(golds)
    rank = {g: i for i, g in enumerate(order if order is not None else dict.fromkeys(golds))}
    label = min(counts, key=lambda g: (-counts[g], rank.get(g, len(rank))))
    return {"majority_baseline": 100.0 * counts[label] / len(golds), "majority_label": label}


def constant_prediction(predictions: Sequence[Any]) -> Any | None:
    """The one label predicted for every item, when there are two items or more; else ``None``.

    A model that gives every item the same label measures nothing about the items: its accuracy
    is the share of that label among them, however it was tuned.

    >>> constant_prediction(["pos", "pos", "pos"]), constant_prediction(["pos", "neg"]), constant_prediction(["pos"])
    ('pos', None, None)
    """
    return predictions[0] if len(predictions) >= 2 and len(set(predictions)) == 1 else None


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_number(text: str) -> float | None:
    """The last number written in ``text`` (thousands commas allowed), or ``None``.

    This is how MGSM reads a model's answer: the chain of thought comes first, the result last.

    >>> last_number("3 apples and 4 pears make 7."), last_number("total: 1,250.5 €"), last_number("none")
    (7.0, 1250.5, None)
    """
    found = _NUMBER.findall(text)
    if not found:
        return None
    raw = found[-1].replace(",", "")
    try:
        return float(raw)
    except ValueError:
        return None


def numbers_equal(prediction: float | None, gold: float, tol: float = 1e-6) -> bool:
    """Whether a read answer equals the gold number (``None`` never does)."""
    return prediction is not None and abs(prediction - gold) <= tol * max(1.0, abs(gold))


# ---------------------------------------------------------------------------------------------
# Language fidelity


def fidelity_candidates(lang: str, candidates: Iterable[str] | None = langs.COMMON_LANGUAGES) -> frozenset[str] | None:
    """The languages the identifier chooses among when judging text expected in ``lang``:
    ``candidates`` plus ``lang`` itself (and the codes langid splits it into); ``None``: all 97.

    >>> sorted(fidelity_candidates("gl", ["en", "es"]))
    ['en', 'es', 'gl']
    """
    if candidates is None:
        return None
    target = langs.base(lang)
    return frozenset(langs.base(c) for c in candidates) | langs.langid_codes_for(target)


def identify(texts: Iterable[str], candidates: Iterable[str] | None = None) -> list[str]:
    """langid's language code for each text (offline, deterministic), chosen among ``candidates``
    (every language langid knows when ``None``)."""
    ident = langs.language_identifier(candidates)
    return [ident.classify(t)[0] for t in texts]


def fidelity_counts(
    detected: Sequence[str | None], lang: str, candidates: Iterable[str] | None = None, neutral: int = 0
) -> dict[str, Any]:
    """Fidelity from detected codes (``None`` for an output not identified): on-target share and counts.

    ``candidates`` is the set the codes were chosen among; the signature records it. ``neutral`` of the
    ``None`` codes were outputs without a letter (``"40"``, ``"3.5 %"``), the rest empty. With nothing
    identified the rate is ``None``: no text, no language.

    >>> fidelity_counts(["es", "en", "es", None], "es")["on_target_rate"]
    0.6666666666666666
    """
    target = langs.base(lang)
    accept = langs.langid_codes_for(target)
    found = [d for d in detected if d is not None]
    counts = Counter(found)
    on = sum(counts[c] for c in accept)
    s = MeanStats.of(float(d in accept) for d in found)
    among = "all" if candidates is None else ",".join(sorted(candidates))
    return {
        "on_target_rate": on / len(found) if found else None,
        "on_target_stderr": s.stderr() / 100.0,
        "n": len(found),
        "empty": len(detected) - len(found) - neutral,
        "neutral": neutral,
        "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "signature": signature("fidelity", lang=target, identifier=langs.LANGID_VERSION, candidates=among),
    }


def fidelity(
    outputs: Sequence[str], lang: str, candidates: Iterable[str] | None = langs.COMMON_LANGUAGES
) -> dict[str, Any]:
    """Language fidelity of ``outputs``: the share of those with letters identified as ``lang``.

    The identifier chooses among :func:`fidelity_candidates` (``candidates`` plus ``lang``): a
    free choice among 97 languages calls short Spanish strings Galician or Catalan. Empty
    (whitespace-only) outputs are not identified, nor are outputs without a letter, which are in no
    language (a QA answer ``"40"``: langid calls it English, and a right answer read as off-target);
    they are counted apart in ``empty`` and ``neutral``.
    """
    target = langs.base(lang)
    if target not in langs.langid_languages():
        raise InputError(f"the language identifier (langid) does not know {lang!r}")
    among = fidelity_candidates(lang, candidates)
    stripped = [o.strip() for o in outputs]
    worded = [any(ch.isalpha() for ch in o) for o in stripped]
    ids = iter(identify([o for o, w in zip(stripped, worded) if w], among))
    detected = [next(ids) if w else None for w in worded]
    neutral = sum(1 for o, w in zip(stripped, worded) if o and not w)
    out = fidelity_counts(detected, lang, among, neutral)
    out["detected"] = detected
    return out
