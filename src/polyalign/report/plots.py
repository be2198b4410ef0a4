"""Every figure of a run, drawn with matplotlib from the run's JSON artefacts, saved as PNG.

No torch, no model: a report can be rebuilt from a finished run directory alone.
"""

from __future__ import annotations

from pathlib import Path

from polyalign.io import atomic_write


def loss_plot(losses: list[float], path: Path) -> bool:
    """Save the training-loss curve as a PNG; ``False`` when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    ax.plot(range(1, len(losses) + 1), losses, lw=1.4)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (supervised tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return True
