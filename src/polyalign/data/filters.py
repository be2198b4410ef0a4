"""Quality filters for parallel pairs: pure functions over strings.

Each filter answers one question about a pair and the builder counts how many pairs each one
removed, so a manifest shows exactly what cleaning did.

Filters also combine: :func:`loosest` passes what any of several passes, and :func:`cover` says
what one frozen pool (:mod:`polyalign.data.pool`) must hold for every build of a run.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from polyalign import langs
from polyalign.io import InputError


@dataclass(frozen=True)
class PairFilter:
    """Every setting that decides whether a parallel pair is clean enough to use.

    Built once from the recipe's ``data`` section (:meth:`from_config`),
    passed whole through selection and the builders, and written to the manifest as it is.
    """

    min_words: int = 3
    """Fewest words on the English side."""
    max_words: int = 40
    """Most words on the English side."""
    max_chars: int = 400
    """Longest side, in characters."""
    max_length_ratio: float | None = 3.0
    """Drop a pair whose one side is more than this many times longer than the other (``None``: keep)."""
    language_id: bool = True
    """Check both sides' language with the offline identifier; drop pairs in the wrong language."""
    max_similarity: float | None = 0.8
    """Drop a pair whose English side has this character 4-gram Jaccard with one already chosen
    (``None``: off), so no held-out source has a near-copy in training."""
    placeholders: bool = True
    """Require both sides to carry the same format placeholders (``%s``, ``{name}``...)."""

    @classmethod
    def from_config(cls, data: Any) -> PairFilter:
        """The filter a recipe's ``data`` section (:class:`~polyalign.config.DataConfig`) describes."""
        return cls(
            min_words=data.min_words,
            max_words=data.max_words,
            max_chars=data.max_chars,
            max_length_ratio=data.max_length_ratio,
            language_id=data.language_id,
            max_similarity=data.max_similarity,
        )


CHEAP = ("min_words", "max_words", "max_chars", "max_length_ratio", "placeholders")
"""The :class:`PairFilter` settings the pool applies (the per-pair checks); the others run on every build."""


# ---------------------------------------------------------------------------------------------
# Which pairs a run needs (what one frozen pool must hold: polyalign.data.pool)


def loosest(filters: Iterable[PairFilter]) -> PairFilter:
    """A filter that passes every pair any of ``filters`` passes (in the :data:`CHEAP` settings).

    >>> f = loosest([PairFilter(min_words=3, max_length_ratio=3.0), PairFilter(min_words=1, max_length_ratio=None)])
    >>> f.min_words, f.max_words, f.max_length_ratio
    (1, 40, None)
    """
    fs = list(filters)
    ratios = [f.max_length_ratio for f in fs]
    return PairFilter(
        min_words=min(f.min_words for f in fs),
        max_words=max(f.max_words for f in fs),
        max_chars=max(f.max_chars for f in fs),
        max_length_ratio=None if None in ratios else max(r for r in ratios if r is not None),
        placeholders=all(f.placeholders for f in fs),
    )


def serves(pool: dict[str, Any], f: PairFilter) -> bool:
    """Whether a pool frozen with ``pool`` settings holds every pair ``f`` would pass."""
    return loosest([PairFilter(**pool), f]) == loosest([PairFilter(**pool)])


def cover(datas: Iterable[Any]) -> dict[str, Any]:
    """What one pool must hold for every build of a run: ``{"languages", "sources", "gettext_dirs", "filter"}``.

    ``datas``: the :class:`~polyalign.config.DataConfig` of each build (the run's, each arm's, each
    pilot point's); question alignment reads no pairs. Sources and languages keep first-seen order.
    """
    codes: list[str] = []
    sources: list[str] = []
    dirs: list[list[str]] = []
    filters: list[PairFilter] = []
    for d in datas:
        if d.builder == "qalign":
            continue
        codes += [c for c in map(langs.normalize, d.languages) if c not in codes]
        sources += [s for s in d.sources if s not in sources]
        if list(d.gettext_dirs) not in dirs:
            dirs.append(list(d.gettext_dirs))
        filters.append(PairFilter.from_config(d))
    if len(dirs) > 1:
        raise InputError("the run's builds read gettext from different folders; give one data.gettext_dirs")
    f = loosest(filters) if filters else PairFilter()
    return {
        "languages": codes,
        "sources": sources,
        "gettext_dirs": dirs[0] if dirs else [],
        "filter": {k: getattr(f, k) for k in CHEAP},
    }


# printf conversions (%s, %5.2f, %ld, %1$s, %'d), Python %(name)s, and brace fields ({0}, {name},
# {}, {0:>8}). "%%" is a literal percent sign, not a placeholder.
_PRINTF = re.compile(
    r"%(?:(\d+)\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64|I32|I)?([diouxXeEfFgGaAcspn])"
)
_PYNAMED = re.compile(r"%\(([^)]+)\)[-+ #0]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa])")
_BRACE = re.compile(r"(?<!\{)\{([A-Za-z0-9_]*)(?:[:!][^{}]*)?\}(?!\})")


def placeholders(text: str) -> Counter:
    """The multiset of format placeholders in ``text``, normalised for comparison.

    Positional printf arguments (``%1$s``) count as their conversion, since translations
    reorder them legitimately.

    >>> sorted(placeholders("Copy %s to %(dest)s in {0} (100%%)").elements())
    ['%(dest)s', '%s', '{0}']
    """
    text = text.replace("%%", "")
    found: Counter = Counter()
    for m in _PYNAMED.finditer(text):
        found[f"%({m.group(1)}){m.group(2)}"] += 1
    rest = _PYNAMED.sub("", text)
    for m in _PRINTF.finditer(rest):
        found[f"%{m.group(2)}"] += 1
    for m in _BRACE.finditer(text):
        found["{" + m.group(1) + "}"] += 1
    return found


def placeholders_match(src: str, tgt: str) -> bool:
    """True when both sides carry the same placeholders (a translation must keep them all).

    >>> placeholders_match("Copy %s to %s", "Copiar %1$s a %2$s"), placeholders_match("{n} files", "archivos")
    (True, False)
    """
    if not any(c in src or c in tgt for c in "%{"):
        return True  # the common case, decided without the regexes
    return placeholders(src) == placeholders(tgt)


_MNEMONIC_UNDERSCORE = re.compile(r"_(?=[^\W_])")
_MNEMONIC_AMPERSAND = re.compile(r"&(?=[^\W_])(?![A-Za-z]+;|#\d+;|#x[0-9A-Fa-f]+;)")


def strip_accelerators(src: str, tgt: str) -> tuple[str, str]:
    """Remove keyboard-accelerator markers (``_File``, ``&Open``) from a UI string pair.

    An underscore is a marker when it sits before a letter and the token holding it does not
    appear, unchanged, on the other side: identifiers such as ``user_name`` survive translation
    verbatim, mnemonics do not (``_File`` becomes ``_Archivo``). ``&&`` is a literal ampersand.

    >>> strip_accelerators("_Open Recent", "Abrir _reciente")
    ('Open Recent', 'Abrir reciente')
    >>> strip_accelerators("Set user_name first", "Defina user_name primero")
    ('Set user_name first', 'Defina user_name primero')
    >>> strip_accelerators("&Save && Quit", "&Guardar && salir")
    ('Save & Quit', 'Guardar & salir')
    """

    def strip_one(text: str, other: str) -> str:
        if "_" in text:
            kept = {tok for tok in re.findall(r"\S*_\S*", text) if tok in other}
            parts = re.split(r"(\S*_\S*)", text)
            text = "".join(
                p if (p in kept or "_" not in p) else _MNEMONIC_UNDERSCORE.sub("", p, count=1) for p in parts
            )
        if "&" in text:
            text = text.replace("&&", "\x00")
            text = _MNEMONIC_AMPERSAND.sub("", text).replace("\x00", "&")
        return text

    return strip_one(src, tgt), strip_one(tgt, src)


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def dedup_key(text: str) -> str:
    """Key under which two source strings count as the same sentence.

    Case, surrounding punctuation, whitespace and Unicode compatibility forms are ignored, so
    ``"Open file"`` and ``"Open File..."`` share a key; the train/test split uses it to keep
    near-identical sources on one side.

    >>> dedup_key("  Open File... "), dedup_key("open file")
    ('open file', 'open file')
    """
    t = unicodedata.normalize("NFKC", text).casefold()
    t = " ".join(t.split())
    return t.strip(" .:;,!?…\"'()[]")


def word_count(text: str) -> int:
    return len(text.split())


_NOT_LETTERS = re.compile(r"[\W\d_]+")


def near_dup_key(text: str) -> str:
    """Key under which two sentences count as near-duplicates: letters only, case folded.

    Digits, punctuation, symbols and spaces are ignored, so strings that differ only in a number
    or a punctuation mark (``"Page 1 of 10"``, ``"Page 2 of 10"``) collapse to one key: a
    mixture that keeps both teaches the same thing twice.

    >>> near_dup_key("Page 1 of 10"), near_dup_key("page 2, of 12!")
    ('pageof', 'pageof')
    """
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str, n: int = 4) -> frozenset[str]:
    """Character ``n``-grams of ``text`` after :func:`dedup_key` (the whole key when shorter).

    >>> sorted(shingles("Open it!", 4))
    ['en i', 'n it', 'open', 'pen ']
    """
    t = dedup_key(text)
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1)) if len(t) > n else frozenset([t])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """``|a ∩ b| / |a ∪ b|`` (1.0 for two empty sets).

    >>> jaccard(shingles("Open the selected file"), shingles("Open the selected files"))
    0.95
    """
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class SimilarTexts:
    """Fuzzy near-duplicate detection: texts whose character 4-gram sets have Jaccard similarity
    of at least ``threshold`` count as the same.

    MinHash signatures (``num_perm`` permutations of stable CRC-32 shingle hashes) split into
    ``bands`` buckets find the candidates (locality-sensitive hashing), the signatures' agreement
    discards those far below the threshold, and the exact Jaccard of the shingle sets decides.
    Everything is deterministic: the same texts in the same order give the same answers in every
    process. Memory grows with the texts added, so feed it a bounded set (the builder adds only
    the pairs it keeps).

    >>> index = SimilarTexts(0.8)
    >>> index.add_if_new("Open the selected file"), index.add_if_new("Open the selected files")
    (True, False)
    >>> index.add_if_new("Close all open windows")
    True
    """

    _PRIME = (1 << 31) - 1

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 16):
        if not 0 < threshold <= 1:
            raise ValueError("similarity threshold must be in (0, 1]")
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        rng = np.random.default_rng(0)
        self.threshold = threshold
        self.rows = num_perm // bands
        self.a = rng.integers(1, self._PRIME, size=num_perm, dtype=np.int64)[:, None]
        self.b = rng.integers(0, self._PRIME, size=num_perm, dtype=np.int64)[:, None]
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self.kept: list[frozenset[str]] = []
        self.sigs = np.empty((1024, num_perm), dtype=np.int64)

    def signature(self, grams: frozenset[str]) -> np.ndarray:
        h = np.fromiter((zlib.crc32(g.encode()) % self._PRIME for g in sorted(grams)), dtype=np.int64, count=len(grams))
        return ((self.a * h[None, :] + self.b) % self._PRIME).min(axis=1)

    def add_if_new(self, text: str) -> bool:
        """Add ``text`` and return True, unless it is similar to a text added before (False)."""
        grams = shingles(text)
        sig = self.signature(grams)
        keys = [sig[i * self.rows : (i + 1) * self.rows].tobytes() for i in range(len(self.buckets))]
        found: set[int] = set()
        for band, key in zip(self.buckets, keys):
            found.update(band.get(key, ()))
        if found:
            ids = np.fromiter(found, dtype=np.int64, count=len(found))
            # The signatures' agreement estimates the Jaccard (±0.05 at 0.8 with 64 permutations):
            # only candidates within a wide margin of the threshold get the exact check.
            close = ids[(self.sigs[ids] == sig).mean(axis=1) >= self.threshold - 0.2]
            if any(jaccard(grams, self.kept[j]) >= self.threshold for j in sorted(close.tolist())):
                return False
        n = len(self.kept)
        if n == len(self.sigs):
            self.sigs = np.concatenate([self.sigs, np.empty_like(self.sigs)])
        self.sigs[n] = sig
        self.kept.append(grams)
        for band, key in zip(self.buckets, keys):
            band.setdefault(key, []).append(n)
        return True


def length_ratio_ok(src: str, tgt: str, max_ratio: float) -> bool:
    """True when neither side is more than ``max_ratio`` times longer than the other (in chars).

    Very short strings (both under 10 characters) always pass: their ratio says little.

    >>> length_ratio_ok("Open the file", "Abrir el archivo", 3.0), length_ratio_ok("Yes", "Sí", 3.0)
    (True, True)
    >>> length_ratio_ok("Open", "Abrir el archivo seleccionado en una ventana nueva", 3.0)
    False
    """
    a, b = len(src), len(tgt)
    if max(a, b) < 10:
        return True
    return max(a, b) <= max_ratio * max(min(a, b), 1)


class LanguageId:
    """Offline language identification with ``langid`` (97 languages, model inside the wheel).

    Short UI strings are hard to identify (langid is ~0.89 accurate on them), so a side passes
    when its expected language is among langid's ``top`` guesses, and sides with fewer than
    ``min_letters`` letters are not judged at all. Languages langid does not know pass unjudged.
    """

    def __init__(self, top: int = 3, min_letters: int = 8):
        self._ident = langs.language_identifier()
        self.known = set(self._ident.nb_classes)
        self.top = top
        self.min_letters = min_letters

    def judgeable(self, text: str, lang: str) -> bool:
        """Whether ``text`` is long enough and ``lang`` known, so that a verdict means something."""
        return lang in self.known and sum(ch.isalpha() for ch in text) >= self.min_letters

    def matches(self, text: str, lang: str) -> bool:
        """True when ``lang`` (an ISO 639-1 code) is among the top guesses for ``text``."""
        if not self.judgeable(text, lang):
            return True
        import numpy as np

        # langid's own scoring multiplies a dense 7,480-feature vector by the whole model; the
        # same log-probabilities over the few features a short string has are ~20x faster.
        fv = self._ident.instance2fv(text)
        nz = np.flatnonzero(fv)
        scores = fv[nz] @ self._ident.nb_ptc[nz] + self._ident.nb_pc
        best = np.argpartition(-scores, self.top - 1)[: self.top]
        return lang in {self._ident.nb_classes[i] for i in best}
