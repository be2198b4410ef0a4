"""``polyalign run``: data → baseline evaluation → tuning → evaluation → analysis → report.

A plain recipe is one run (:func:`polyalign.stages.run_plain`); a recipe with ``arms`` is an
experiment (:func:`polyalign.experiment.run_arms`): the base and every arm, the scaling pilot, the
look inside and the report. Nothing imports this module but the command line.
"""

from __future__ import annotations

from typing import Any

from polyalign.run_config import RunConfig


def run(cfg: RunConfig, nproc: int = 1, refresh_data: bool = False) -> dict[str, Any]:
    """Run every stage of a recipe; return the summary (also written to ``summary.json``).

    The suite's protocol is settled first (:func:`polyalign.arms.suite_protocol`: few-shot for a
    question-alignment run), so the resolved ``config.yaml`` records what every model was given.
    ``refresh_data``: read the sources again instead of the run's frozen pool (refused once
    anything was built on it; see :func:`polyalign.stages.check_refresh`).
    """
    from polyalign.arms import suite_protocol

    cfg = suite_protocol(cfg)
    if cfg.arms:
        from polyalign.experiment import run_arms

        return run_arms(cfg, nproc, refresh_data)
    from polyalign.stages import run_plain

    return run_plain(cfg, nproc, refresh_data)
