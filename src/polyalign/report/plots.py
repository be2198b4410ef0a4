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
    """matplotlib's pyplot on the Agg backend, or ``None`` when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(fig, plt, path: Path) -> bool:
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return True


def _label(doc: dict) -> str:
    name = str(doc.get("model") or "model").rstrip("/").split("/")[-1]
    return name + (" + " + str(doc["adapter"]).rstrip("/").split("/")[-1] if doc.get("adapter") else "")


def alignment_plot(doc: dict, path: Path, other: dict | None = None) -> bool:
    """Per-layer alignment of ``alignment.json``: centred cosine, retrieval, CKA; ``other`` overlaid dashed."""
    plt = _pyplot()
    if plt is None:
        return False
    panels = [
        ("cosine (centred)", [("cosine_parallel_centred", "parallel"), ("cosine_random_centred", "mismatched")]),
        ("top-1 retrieval", [("retrieval_x2en", f"{doc.get('lang', 'x')}→en"), ("retrieval_en2x", f"en→{doc.get('lang', 'x')}"),
                             ("margin_retrieval_x2en", f"{doc.get('lang', 'x')}→en margin")]),
        ("linear CKA", [("cka", "CKA")]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=110)
    runs = [(doc, "-", _label(doc))] + ([(other, "--", _label(other))] if other else [])
    for ax, (title, series) in zip(axes, panels):
        for k, (key, name) in enumerate(series):
            for run, style, label in runs:
                xs = [r["layer"] for r in run["layers"]]
                ax.plot(xs, [r[key] for r in run["layers"]], style, color=f"C{k}", lw=1.5,
                        label=f"{name} ({label})" if other else name)
        ax.set_title(title)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{_label(doc)}: {doc.get('en_lang', 'en')}–{doc.get('lang', '')} alignment by layer, "
                 f"{doc.get('pairs')} pairs, {doc.get('pool')} pooling", fontsize=10)
    return _save(fig, plt, path)


def lens_plot(doc: dict, path: Path) -> bool:
    """The logit lens of ``lens.json``: English and target-language mass with 95% bands, entropy underneath."""
    plt = _pyplot()
    if plt is None:
        return False
    rows = doc["layers"]
    xs = [r["layer"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.2), dpi=110, sharex=True, height_ratios=[2, 1])
    for key, name, color in (("p_en", "English", "C0"), ("p_lang", doc.get("lang", "target"), "C1")):
        top.plot(xs, [r[key] for r in rows], color=color, lw=1.6, label=name)
        top.fill_between(xs, [r[f"{key}_lo"] for r in rows], [r[f"{key}_hi"] for r in rows], color=color, alpha=0.25)
    top.set_ylabel("probability of the answer")
    top.set_ylim(bottom=0)
    top.legend()
    top.grid(alpha=0.3)
    top.set_title(f"{_label(doc)}: logit lens, {doc.get('source_lang')}→{doc.get('lang')} words, "
                  f"{doc.get('items')} items", fontsize=10)
    bottom.plot(xs, [r["entropy"] for r in rows], color="C2", lw=1.6)
    bottom.fill_between(xs, [r["entropy_lo"] for r in rows], [r["entropy_hi"] for r in rows], color="C2", alpha=0.25)
    bottom.set_ylabel("entropy (bits)")
    bottom.set_xlabel("layer (0 = embeddings; last = the model's output)")
    bottom.grid(alpha=0.3)
    return _save(fig, plt, path)


def pca_plot(doc: dict, path: Path) -> bool:
    """A grid of per-layer 2-D PCA scatters from ``pca.json``, one colour per language."""
    plt = _pyplot()
    if plt is None:
        return False
    rows = doc["layers"]
    cols = min(6, len(rows))
    nrows = -(-len(rows) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.4 * cols, 2.3 * nrows + 0.6), dpi=100, squeeze=False)
    for ax in axes.flat[len(rows):]:
        ax.axis("off")
    for ax, r in zip(axes.flat, rows):
        for k, code in enumerate(doc["langs"]):
            pts = r["points"][code]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, color=f"C{k % 10}", label=code)
        ax.set_title(f"layer {r['layer']}  r₁={r['pc1_correlation_mean']:.2f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8, markerscale=3)
    fig.suptitle(f"{_label(doc)}: PCA of pooled states by layer ({doc.get('items')} parallel items; "
                 "r₁ = mean cross-language correlation of PC1)", fontsize=10)
    return _save(fig, plt, path)
