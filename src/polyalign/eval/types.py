"""The evaluation's shared vocabulary: names the task table, the loaders and the metrics all use.

Only type names and the fixed choices they stand for, so the task table (:mod:`polyalign.eval.tasks`)
can name them without importing the loaders or the metrics.
"""

from __future__ import annotations

from typing import Any, Literal

Row = dict[str, Any]
"""One evaluation item as a loader gives it (the fields its task reads: ``question``, ``context``, ``answers`` ...)."""

QANorm = Literal["squad_v1", "mlqa"]
QA_NORMS: tuple[str, ...] = ("squad_v1", "mlqa")
"""The QA answer normalisations: SQuAD v1.1's (English rules for every language) and MLQA's per-language one."""
