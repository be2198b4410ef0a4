"""Which items ``--limit N`` evaluates: a seeded sample, stratified over the set's topics, labels or domains.

Shipped sets are written in blocks (polyqa's paragraphs by topic, polysent's reviews by product),
so the first N rows in file order cover a few topics only. :func:`sample` instead

* groups the rows by their stratum field (the first of :data:`STRATUM_FIELDS` the rows carry:
  polymt's ``domain``, polyqa's ``title`` (its topic), polyinstruct's ``category``, a
  classification set's ``label``);
* gives each stratum its proportional share of N (largest remainders first, ties broken by a
  seeded order of the strata), so polysent's two labels get one item each when N is 2;
* takes, inside each stratum, the items that come first in a seeded order of their **ids**.

The order depends on the seed and the ids only: every model of a run (one seed) sees the same
items, and a parallel set gives the same ids in every language. Rows without a stratum field are a
seeded uniform sample by the same id order. The chosen rows keep their file order.

Pure logic: no torch, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

STRATUM_FIELDS = ("domain", "topic", "title", "category", "label")
"""Row fields a sample is stratified over, the first found in every row wins."""


def _key(seed: int, *parts: Any) -> str:
    return hashlib.sha256("\x00".join([str(seed), *map(str, parts)]).encode("utf-8")).hexdigest()


def stratum_field(rows: Sequence[dict[str, Any]]) -> str | None:
    """The first of :data:`STRATUM_FIELDS` that every row has (``None``: none of them).

    >>> stratum_field([{"id": "a", "label": 0, "title": "rivers"}])
    'title'
    """
    for name in STRATUM_FIELDS:
        if rows and all(name in r and r[name] is not None for r in rows):
            return name
    return None


def quotas(sizes: dict[Any, int], n: int, seed: int) -> dict[Any, int]:
    """Items per stratum: the floor of each proportional share of ``n``, then one more for the
    strata with the largest remainders (ties in a seeded order of the strata).

    >>> quotas({"positive": 132, "negative": 132}, 2, 0)
    {'positive': 1, 'negative': 1}
    >>> quotas({"a": 6, "b": 3, "c": 1}, 5, 0)
    {'a': 3, 'b': 2, 'c': 0}
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    out = {s: n * k // total for s, k in sizes.items()}
    rest = n - sum(out.values())
    order = sorted(sizes, key=lambda s: (-((n * sizes[s]) % total), _key(seed, "stratum", s)))
    for s in order[:rest]:
        out[s] += 1
    return out


def sample(
    rows: Sequence[dict[str, Any]], limit: int | None, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """``rows`` cut to at most ``limit`` (see the module docstring), and what was drawn.

    Returns ``(chosen rows in file order, info)``; ``info`` is ``None`` when nothing was cut, else
    ``{"limit", "seed", "stratified_by" (a field or None), "strata" ({value: count}), "ids"}``.

    >>> rows = [{"id": f"ps{i}", "label": i % 2} for i in range(10)]
    >>> chosen, info = sample(rows, 2, 0)
    >>> sorted(r["label"] for r in chosen), info["stratified_by"]
    ([0, 1], 'label')
    """
    if limit is None or limit >= len(rows):
        return list(rows), None
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    field = stratum_field(rows)
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r[field] if field else None, []).append(i)
    share = quotas({s: len(ix) for s, ix in groups.items()}, limit, seed)
    keep: set[int] = set()
    for s, ix in groups.items():
        ranked = sorted(ix, key=lambda i: _key(seed, "item", rows[i]["id"]))
        keep.update(ranked[: share[s]])
    chosen = [r for i, r in enumerate(rows) if i in keep]
    strata = {str(s): share[s] for s in groups if share[s]} if field else {}
    info = {"limit": limit, "seed": seed, "stratified_by": field, "strata": strata, "ids": [r["id"] for r in chosen]}
    return chosen, info
