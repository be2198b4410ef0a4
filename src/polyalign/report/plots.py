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


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def scaling_plot(fits: dict, path: Path) -> bool:
    """Points, fitted curve and 95% bootstrap band per language (log-scaled sizes), from a fits document."""
    import numpy as np

    from polyalign.scaling.laws import predict, predict_draws

    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4), dpi=110)
    for i, (lang, f) in enumerate(fits["fits"].items()):
        color = f"C{i}"
        sizes = f.get("sizes") or []
        lo, hi = (min(sizes), max(sizes)) if sizes else (1.0, 10.0)
        xs = np.geomspace(lo / 1.5, hi * 1.5, 200)
        gamma = f.get("gamma", 1.0)
        ax.plot(xs, predict(f["form"], f["params"], xs, gamma), color=color, lw=1.6,
                label=f"{lang}: {f['form']}, R² {f['r2']:.3f}")
        draws = predict_draws(f["form"], f.get("bootstrap_draws") or [], xs, gamma)
        if len(draws):
            band = np.nanpercentile(draws, [2.5, 97.5], axis=0)
            ax.fill_between(xs, band[0], band[1], color=color, alpha=0.18, lw=0)
        ax.scatter(sizes, f.get("scores") or [], color=color, s=22, zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("parallel training pairs")
    ax.set_ylabel("chrF++ (held-out, after tuning)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return True


def allocation_plot(plan: dict, path: Path) -> bool:
    """Bars of the planned allocation against uniform, per language, from a plan document."""
    import numpy as np

    plt = _pyplot()
    if plt is None:
        return False
    langs = list(plan["allocation"])
    x = np.arange(len(langs))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(langs) + 2), 3.4), dpi=110)
    ax.bar(x - 0.2, [plan["allocation"][k] for k in langs], 0.4, label=f"planned ({plan['total_predicted']:.2f})")
    ax.bar(x + 0.2, [plan["uniform"]["allocation"][k] for k in langs], 0.4,
           label=f"uniform ({plan['uniform']['total_predicted']:.2f})")
    ax.set_xticks(x, langs)
    ax.set_ylabel("parallel pairs")
    ax.set_title(f"budget {plan['budget']}: predicted gain {plan['gain_over_uniform']:+.2f}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return True
