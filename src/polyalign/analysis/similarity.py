"""Cross-lingual similarity over arrays: cosine, top-1 and margin retrieval, linear CKA, PCA (numpy only).

Every function takes plain ``(n, d)`` arrays whose row ``i`` in one language translates row ``i``
in the other. Large ``n`` is handled in row blocks, so no ``n × n`` matrix is ever held whole.
:class:`LayerStore` collects per-layer pooled vectors batch by batch in a bounded amount of memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BLOCK = 1024
"""Rows of a similarity matrix computed at once (``BLOCK × n`` floats)."""


def derangement(n: int, seed: int) -> np.ndarray:
    """A seeded permutation with no fixed point (Sattolo's algorithm: one random cycle).

    >>> p = derangement(5, 0); bool((p != np.arange(5)).all()) and sorted(p.tolist()) == [0, 1, 2, 3, 4]
    True
    """
    if n < 2:
        raise ValueError("a derangement needs at least 2 items")
    rng = np.random.default_rng(seed)
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))  # j < i: Sattolo, not Fisher-Yates
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32); a zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def row_cosines(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine of row ``i`` of ``x`` with row ``i`` of ``y``."""
    return (unit_rows(x) * unit_rows(y)).sum(axis=1)


def pair_cosines_centred(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The centred cosine of every parallel pair: row ``i`` of ``x`` with row ``i`` of ``y`` after
    subtracting each side's mean row. Its mean is ``cosine_parallel_centred``; a paired bootstrap
    over pairs resamples these values.

    >>> cos = pair_cosines_centred(np.array([[3.0, 1], [1, 1], [2, 4]]), np.array([[1.0, 2], [0, 0], [2, 1]]))
    >>> [round(float(c), 3) for c in cos]
    [-0.707, 1.0, 0.0]
    """
    return row_cosines(x - x.mean(axis=0), y - y.mean(axis=0))


def cosine_stats(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Mean cosine of parallel rows against mismatched rows (a seeded derangement of ``y``).

    ``*_centred`` first subtracts each language's mean vector: raw cosines in a language model
    share one dominant direction and sit near 1 for any two sentences.
    """
    perm = derangement(len(x), seed)
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    return {
        "cosine_parallel": float(row_cosines(x, y).mean()),
        "cosine_random": float(row_cosines(x, y[perm]).mean()),
        "cosine_parallel_centred": float(row_cosines(xc, yc).mean()),
        "cosine_random_centred": float(row_cosines(xc, yc[perm]).mean()),
    }


def _tie_credit(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per query, the chance that picking uniformly among the best-scoring keys picks the right one.

    ``scores[i, rows[i]]`` is the right key's score: 0 when another key scores higher, else
    ``1 / (number of keys scoring exactly as high)``.
    """
    right = scores[np.arange(len(rows)), rows][:, None]
    higher = (scores > right).any(axis=1)
    equal = (scores == right).sum(axis=1)
    return np.where(higher, 0.0, 1.0 / equal)


def retrieval_top1(queries: np.ndarray, keys: np.ndarray) -> float:
    """Top-1 accuracy of cosine nearest-neighbour search from ``queries`` into ``keys``.

    Query ``i``'s right answer is key ``i``; ties share the credit (see :func:`_tie_credit`).

    >>> retrieval_top1(np.array([[1., 0], [0, 1]]), np.array([[1., 0], [1, 0]]))  # two ties of two
    0.5
    """
    q, k = unit_rows(queries), unit_rows(keys)
    credit = 0.0
    for start in range(0, len(q), BLOCK):
        scores = q[start : start + BLOCK] @ k.T
        credit += float(_tie_credit(scores, np.arange(start, start + len(scores))).sum())
    return credit / len(q)


def _top_k_mean(scores: np.ndarray, k: int, axis: int) -> np.ndarray:
    size = scores.shape[axis]
    return np.partition(scores, size - k, axis=axis).take(range(size - k, size), axis=axis).mean(axis=axis)


def retrieval_scores(x: np.ndarray, y: np.ndarray, k: int = 4) -> dict[str, float]:
    """Plain and margin top-1 accuracy both ways, in three passes over row blocks of the cosine matrix.

    The ratio margin (Artetxe & Schwenk 2019, as in LASER/BUCC) is
    ``margin(a, b) = cos(a, b) / ((knn_a + knn_b) / 2)``, where ``knn_a`` is the mean cosine of
    ``a``'s ``k`` nearest neighbours in the other language: hubs that are near everything are
    discounted. Ties share the credit (:func:`_tie_credit`); every tie is decided within one row
    of one matrix product, so equal vectors always score exactly equal.
    """
    ux, uy = unit_rows(x), unit_rows(y)
    n, m = len(ux), len(uy)
    k = min(k, n, m)
    plain_x2y = margin_x2y = plain_y2x = margin_y2x = 0.0
    kx = np.empty(n, dtype=np.float64)
    col_top = np.full((k, m), -np.inf, dtype=np.float32)
    for start in range(0, n, BLOCK):  # x rows: plain x->y, knn of x, running top-k of every y
        cos = ux[start : start + BLOCK] @ uy.T
        plain_x2y += float(_tie_credit(cos, np.arange(start, start + len(cos))).sum())
        kx[start : start + len(cos)] = _top_k_mean(cos, k, axis=1)
        both = np.concatenate([col_top, cos])
        col_top = np.partition(both, len(both) - k, axis=0)[len(both) - k :]
    ky = col_top.astype(np.float64).mean(axis=0)
    for start in range(0, m, BLOCK):  # y rows: plain and margin y->x
        cos = uy[start : start + BLOCK] @ ux.T
        rows = np.arange(start, start + len(cos))
        plain_y2x += float(_tie_credit(cos, rows).sum())
        margin = cos.astype(np.float64) / ((ky[rows, None] + kx[None, :]) / 2)
        margin_y2x += float(_tie_credit(margin, rows).sum())
    for start in range(0, n, BLOCK):  # x rows again: margin x->y (needs every y's knn)
        cos = ux[start : start + BLOCK] @ uy.T
        rows = np.arange(start, start + len(cos))
        margin = cos.astype(np.float64) / ((kx[rows, None] + ky[None, :]) / 2)
        margin_x2y += float(_tie_credit(margin, rows).sum())
    return {
        "retrieval_x2en": plain_x2y / n,
        "retrieval_en2x": plain_y2x / m,
        "margin_retrieval_x2en": margin_x2y / n,
        "margin_retrieval_en2x": margin_y2x / m,
    }


def margin_retrieval(x: np.ndarray, y: np.ndarray, k: int = 4) -> tuple[float, float]:
    """Top-1 accuracy ``(x→y, y→x)`` under the ratio margin over ``k`` neighbours (see :func:`retrieval_scores`)."""
    got = retrieval_scores(x, y, k)
    return got["margin_retrieval_x2en"], got["margin_retrieval_en2x"]


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019): ``‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on column-centred data.

    Invariant to orthogonal transforms and isotropic scaling of either side; 1 for identical data.
    """
    xc = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0, dtype=np.float64)
    yc = np.asarray(y, dtype=np.float64) - np.mean(y, axis=0, dtype=np.float64)
    cross = np.linalg.norm(yc.T @ xc) ** 2
    denom = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    return float(cross / denom) if denom > 0 else 0.0


def alignment_metrics(x: np.ndarray, y: np.ndarray, seed: int = 0, k: int = 4) -> dict[str, float]:
    """Every per-layer number of ``analyze align`` for ``x`` (language X) against ``y`` (English)."""
    return {**cosine_stats(x, y, seed), **retrieval_scores(x, y, k), "cka": linear_cka(x, y)}


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """``(projections (n, 2), components (2, d), explained variance ratios)`` of centred ``x``.

    Signs are fixed so that each component's largest-magnitude loading is positive.
    """
    xc = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0, dtype=np.float64)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    comps = vt[:2].copy()
    for c in comps:
        if c[np.argmax(np.abs(c))] < 0:
            c *= -1
    total = float((s**2).sum())
    ratios = [float(v**2 / total) if total > 0 else 0.0 for v in s[:2]]
    return xc @ comps.T, comps, ratios


def pc1_correlations(projections: dict[str, np.ndarray]) -> dict[str, Any]:
    """Pearson correlation across languages of the first-component projections of parallel items.

    ``projections`` maps a language to its items' PC1 values (same item order in every language).
    Returns the matrix (as ``{lang: {lang: r}}``) and the mean over distinct pairs.
    """
    names = list(projections)
    mat = np.corrcoef(np.stack([projections[n] for n in names]))
    pairs = [float(mat[i, j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    return {
        "matrix": {a: {b: round(float(mat[i, j]), 6) for j, b in enumerate(names)} for i, a in enumerate(names)},
        "mean": float(np.mean(pairs)) if pairs else 1.0,
    }


class LayerStore:
    """Pooled vectors of ``n`` items at every layer, filled batch by batch.

    ``float32`` keeps them exactly; ``float16`` halves the memory by storing each vector as a
    unit vector in float16 and its length in float32 (no overflow, ~5e-4 relative error per
    component). The per-layer means are summed exactly in float64 as batches arrive.
    """

    def __init__(self, layers: int, n: int, dim: int, dtype: str = "float32") -> None:
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be float32 or float16, not {dtype}")
        self.layers, self.n, self.dim, self.dtype = layers, n, dim, dtype
        self._vecs = np.zeros((layers, n, dim), dtype=np.float32 if dtype == "float32" else np.float16)
        self._norms = np.ones((layers, n), dtype=np.float32)
        self._sums = np.zeros((layers, dim), dtype=np.float64)
        self._filled = np.zeros(n, dtype=bool)

    @staticmethod
    def nbytes(layers: int, n: int, dim: int, dtype: str) -> int:
        """Bytes the store needs for these sizes."""
        return layers * n * (dim * (4 if dtype == "float32" else 2) + 4)

    def add(self, rows: np.ndarray, batch: np.ndarray) -> None:
        """Store ``batch`` (``(layers, len(rows), dim)``) as the items at positions ``rows``."""
        batch = np.asarray(batch, dtype=np.float32)
        self._sums += batch.sum(axis=1, dtype=np.float64)
        self._filled[rows] = True
        if self.dtype == "float32":
            self._vecs[:, rows] = batch
            return
        norms = np.linalg.norm(batch, axis=2)
        self._norms[:, rows] = norms
        self._vecs[:, rows] = batch / np.where(norms == 0, 1.0, norms)[..., None]

    def layer(self, i: int) -> np.ndarray:
        """All items' vectors at layer ``i`` as float32 ``(n, dim)``."""
        if not self._filled.all():
            raise ValueError(f"{int((~self._filled).sum())} of {self.n} items never added")
        if self.dtype == "float32":
            return self._vecs[i]
        return self._vecs[i].astype(np.float32) * self._norms[i][:, None]

    def mean(self, i: int) -> np.ndarray:
        """The exact mean vector at layer ``i`` (float64)."""
        return self._sums[i] / self.n
