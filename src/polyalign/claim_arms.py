"""Which arms each claim reads, from the arms' builders, allocations and languages: one rule for what an
arm is scored on (:func:`polyalign.arms.planned_beside_uniform`) and for the report
(:mod:`polyalign.report.claims`). Pure: it imports nothing of polyalign.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def claim_arms(arms: Mapping[str, Mapping[str, Any]]) -> tuple[str | None, tuple[str, str] | None]:
    """The arms the MuIT claim and the plan claim read; ``arms``: ``{name: {"builder", "allocation",
    "languages"}}`` in recipe order.

    * MuIT claim: the first uniform MuIT arm sharing a language with a CoIT arm, else the first MuIT
      arm sharing one; ``None`` when no MuIT arm shares a language with a CoIT arm.
    * plan claim: ``(planned, uniform)``, the first planned MuIT arm and the first uniform MuIT arm
      sharing a language with it; ``None`` without such a pair.
    """

    def of(kind: str, allocation: str | None = None) -> list[str]:
        return [n for n, a in arms.items() if a.get("builder") == kind and allocation in (None, a.get("allocation"))]

    def shares(name: str, others: list[str]) -> bool:
        mine = set(arms[name].get("languages") or [])
        return any(mine & set(arms[o].get("languages") or []) for o in others)

    coit = of("coit")
    with_coit = [n for n in of("muit") if shares(n, coit)]
    muit = next((n for n in with_coit if arms[n].get("allocation") == "uniform"), with_coit[0] if with_coit else None)
    planned = of("muit", "plan")
    uniform = [u for u in of("muit", "uniform") if planned and shares(u, planned[:1])]
    return muit, (planned[0], uniform[0]) if uniform else None
