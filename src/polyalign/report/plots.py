"""Every figure of a run, drawn with matplotlib from the run's JSON artefacts, saved as PNG.

No torch, no model: a report can be rebuilt from a finished run directory alone.
"""

from __future__ import annotations

from pathlib import Path

from polyalign.io import atomic_write


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


def arm_losses_plot(losses: dict[str, list[float]], path: Path) -> bool:
    """Training-loss curves of every arm on one axis."""
    plt = _pyplot()
    if plt is None or not losses:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=110)
    for i, (arm, ys) in enumerate(losses.items()):
        ax.plot(range(1, len(ys) + 1), ys, lw=1.4, color=f"C{i % 10}", label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (supervised tokens)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def transfer_heatmap(
    values: list[list[float | None]], rows: list[str], cols: list[str], tuned: list[set[str]], title: str, path: Path
) -> bool:
    """Arms × languages heat map (delta against the base); a box marks each arm's tuned languages."""
    plt = _pyplot()
    if plt is None or not rows or not cols:
        return False
    import numpy as np

    grid = np.array([[np.nan if v is None else v for v in r] for r in values], dtype=float)
    span = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(cols) + 2.5), max(2.4, 0.5 * len(rows) + 1.4)), dpi=110)
    im = ax.imshow(grid, cmap="RdBu", vmin=-span or -1, vmax=span or 1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is not None:
                ax.text(
                    j,
                    i,
                    f"{v:+.1f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if abs(v) > 0.6 * (span or 1) else "black",
                )
            if cols[j] in tuned[i]:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2, ec="black"))
    fig.colorbar(im, ax=ax, shrink=0.8, label="Δ vs base")
    ax.set_title(title + " (boxed: languages the arm was tuned on)", fontsize=9)
    return _save(fig, plt, path)


def alignment_compare_plot(base: dict, tuned: dict[str, dict], key: str, path: Path) -> bool:
    """One alignment measure by layer (``key`` of ``alignment.json``): the base dashed, each tuned arm solid."""
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for i, (label, doc, style) in enumerate([("base", base, "--")] + [(n, d, "-") for n, d in tuned.items()]):
        rows = [r for r in doc.get("layers", []) if r.get(key) is not None]
        if rows:
            ax.plot([r["layer"] for r in rows], [r[key] for r in rows], style, lw=1.5, color=f"C{i % 10}", label=label)
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel(key.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def lens_compare_plot(base: dict, tuned: dict[str, dict], path: Path) -> bool:
    """Logit-lens probability of the English and of the target-language answer by layer, base vs tuned."""
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for i, (label, doc) in enumerate([("base", base), *tuned.items()]):
        rows = doc.get("layers", [])
        xs = [r["layer"] for r in rows]
        if rows and "p_en" in rows[0]:
            ax.plot(xs, [r["p_en"] for r in rows], "--", color=f"C{i % 10}", lw=1.3, label=f"{label}: English")
        if rows and "p_lang" in rows[0]:
            ax.plot(
                xs,
                [r["p_lang"] for r in rows],
                "-",
                color=f"C{i % 10}",
                lw=1.6,
                label=f"{label}: {doc.get('lang', 'target')}",
            )
    ax.set_xlabel("layer (last = the model's output)")
    ax.set_ylabel("probability of the answer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, plt, path)


# --- the scaling pilot's figures ----------------------------------------------------------------


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
        every = [v for g in fits["fits"].values() for v in g.get("sizes") or []]  # no points: the others' range
        lo, hi = (min(sizes), max(sizes)) if sizes else (min(every), max(every)) if every else (1.0, 10.0)
        xs = np.geomspace(lo / 1.5, hi * 1.5, 200)
        gamma = f.get("gamma", 1.0)
        ax.plot(
            xs,
            predict(f["form"], f["params"], xs, gamma),
            color=color,
            lw=1.6,
            label=f"{lang}: {f['form']}, " + (f"R² {f['r2']:.3f}" if f.get("r2") is not None else "no points"),
        )
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
    return _save(fig, plt, path)


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
    ax.bar(
        x + 0.2,
        [plan["uniform"]["allocation"][k] for k in langs],
        0.4,
        label=f"uniform ({plan['uniform']['total_predicted']:.2f})",
    )
    ax.set_xticks(x, langs)
    ax.set_ylabel("parallel pairs")
    ax.set_title(f"budget {plan['budget']}: predicted gain {plan['gain_over_uniform']:+.2f}", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


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
        (
            "top-1 retrieval",
            [
                ("retrieval_x2en", f"{doc.get('lang', 'x')}→en"),
                ("retrieval_en2x", f"en→{doc.get('lang', 'x')}"),
                ("margin_retrieval_x2en", f"{doc.get('lang', 'x')}→en margin"),
            ],
        ),
        ("linear CKA", [("cka", "CKA")]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=110)
    runs = [(doc, "-", _label(doc))] + ([(other, "--", _label(other))] if other else [])
    for ax, (title, series) in zip(axes, panels):
        for k, (key, name) in enumerate(series):
            for run, style, label in runs:
                xs = [r["layer"] for r in run["layers"]]
                ax.plot(
                    xs,
                    [r[key] for r in run["layers"]],
                    style,
                    color=f"C{k}",
                    lw=1.5,
                    label=f"{name} ({label})" if other else name,
                )
        ax.set_title(title)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"{_label(doc)}: {doc.get('en_lang', 'en')}–{doc.get('lang', '')} alignment by layer, "
        f"{doc.get('pairs')} pairs, {doc.get('pool')} pooling",
        fontsize=10,
    )
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
    top.set_title(
        f"{_label(doc)}: logit lens, {doc.get('source_lang')}→{doc.get('lang')} words, {doc.get('items')} items",
        fontsize=10,
    )
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
    for ax in axes.flat[len(rows) :]:
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
    fig.suptitle(
        f"{_label(doc)}: PCA of pooled states by layer ({doc.get('items')} parallel items; "
        "r₁ = mean cross-language correlation of PC1)",
        fontsize=10,
    )
    return _save(fig, plt, path)


def forest_plot(judged: list[dict], path: Path) -> bool:
    """Every claim with parts: each part's effect and 95% paired interval (a bar), the pooled one (a
    diamond), the line the verdict is read against (0, or the equivalence margin). One panel per
    claim, since their units differ."""
    plt = _pyplot()
    shown = [c for c in judged if c.get("parts")]
    if plt is None or not shown:
        return False
    heights = [len(c["parts"]) + 1.6 for c in shown]
    fig, axes = plt.subplots(
        len(shown), 1, figsize=(7.2, 0.9 + 0.32 * sum(heights)), dpi=110, gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(shown) == 1 else list(axes)
    for ax, c in zip(axes, shown):
        rows = [*c["parts"], {**c["pooled"], "name": c.get("pooled_label", "pooled"), "pooled": True}]
        ys = list(range(len(rows)))[::-1]
        for y, r in zip(ys, rows):
            pooled = r.get("pooled", False)
            color = "black" if pooled else "C0"
            ax.plot([r["low"], r["high"]], [y, y], color=color, lw=2.4 if pooled else 1.6)
            ax.plot([r["effect"]], [y], marker="D" if pooled else "o", color=color, ms=6 if pooled else 4)
        margin = c.get("margin")
        for x in [-margin, margin] if margin else [0.0]:
            ax.axvline(x, color="C3", lw=0.9, ls="--")
        ax.set_yticks(ys, [r["name"] for r in rows], fontsize=7)
        ax.set_title(f"{c['claim']}: {c['verdict']}", fontsize=8.5, loc="left")
        ax.set_xlabel(f"effect ({c.get('unit') or ''}), 95% paired interval", fontsize=7.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    return _save(fig, plt, path)
