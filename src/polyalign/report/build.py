"""Rebuild a run's report (figures, ``report.md``, ``report.html``) from its JSON artefacts alone.

``polyalign report RUN_DIR`` and the end of ``polyalign run`` both call :func:`build_report`. The
report is a list of sections; each is present with its numbers when the run measured it, and
otherwise says in one line that it was not run. No model, no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign.io import read_json
from polyalign.report import claims, html, markdown, plots, tables
from polyalign.report.collect import collect
from polyalign.report.deltas import delta_effects, deltas_json, with_interval
from polyalign.report.model_card import write_model_cards
from polyalign.stats.bootstrap import RESAMPLES

Section = dict[str, Any]


def _section(
    title: str,
    text: list[str] | None = None,
    tabs: list[dict] | None = None,
    figures: list[tuple[str, str]] | None = None,
    missing: str | None = None,
) -> Section:
    return {"title": title, "text": text or [], "tables": tabs or [], "figures": figures or [], "missing": missing}


def _results_sections(doc: dict[str, Any], run_dir: Path, effects: tables.Effects) -> list[Section]:
    out = []
    fams = tables.families(doc)
    tabs = [tables.results_table(doc, f, effects) for f in fams]
    text = [
        "Each tuned number is followed by its delta against the untuned base model on the same items, "
        f"with the delta's 95% interval (paired bootstrap over the items, {RESAMPLES} resamples, "
        "seeded; chrF++ and BLEU recomputed on each resample)."
    ]
    unpaired = sum(t["unpaired"] for t in tabs)
    if unpaired:
        text.append(
            f"{unpaired} deltas are shown without an interval: the samples hold no per-item scores "
            "that give their numbers (e.g. BLEU without the output texts)."
        )
    out.append(
        _section(
            "Results by arm and language",
            text,
            tabs,
            missing=None if fams else "No evaluation results: not run.",
        )
    )
    tm = tables.transfer_matrix(doc, effects)
    if tm and plots.transfer_heatmap(
        tm["values"],
        tm["rows"],
        tm["cols"],
        tm["tuned"],
        f"{tm['family']} {tm['metric']}: Δ vs base",
        run_dir / "transfer.png",
    ):
        rows = [
            [arm, *["—" if v is None else with_interval(e, v) + (" *" if c else "") for v, e, c in zip(*cells)]]
            for arm, *cells in zip(tm["rows"], tm["values"], tm["effects"], tm["constant"])
        ]
        out.append(
            _section(
                "Transfer matrix",
                [
                    f"{tm['family']} {tm['metric']}, delta against the base with its 95% paired interval, per arm "
                    "and language; a box marks the languages the arm was tuned on"
                    + (
                        "; * marks a cell where the arm or the base gave every item one label "
                        "(a measurement that cannot move)."
                        if any(any(f) for f in tm["constant"])
                        else "."
                    )
                ],
                [{"title": "transfer", "header": ["arm", *tm["cols"]], "rows": rows}],
                [("transfer.png", "transfer matrix")],
            )
        )
    else:
        out.append(_section("Transfer matrix", missing="Not run: no base and tuned results to compare."))
    return out


def _losses_section(doc: dict[str, Any], run_dir: Path) -> Section:
    losses = {n: a["train"]["losses"] for n, a in doc["arms"].items() if (a.get("train") or {}).get("losses")}
    if losses and plots.arm_losses_plot(losses, run_dir / "losses.png"):
        return _section("Training loss", figures=[("losses.png", "training loss per arm")])
    return _section("Training loss", missing="Not run: no training log in this run.")


def _analysis_section(doc: dict[str, Any], run_dir: Path) -> Section:
    an = doc.get("analysis")
    if not an:
        return _section("Look inside", missing="Not run: no alignment-by-layer or logit-lens results in this run.")
    figs, text = [], [f"Language: {an.get('lang')}; base model dashed, tuned arms solid."]
    base_al = (an.get("base") or {}).get("alignment")
    tuned_al = {n: a["alignment"] for n, a in an["arms"].items() if a.get("alignment")}
    if base_al and tuned_al:
        for key, name in (
            ("cosine_parallel_centred", "alignment_cosine.png"),
            ("retrieval_x2en", "alignment_retrieval.png"),
        ):
            if plots.alignment_compare_plot(base_al, tuned_al, key, run_dir / name):
                figs.append((name, f"{key.replace('_', ' ')} by layer"))
    else:
        text.append("Alignment by layer: not run for both the base and a tuned arm.")
    base_lens = (an.get("base") or {}).get("lens")
    tuned_lens = {n: a["lens"] for n, a in an["arms"].items() if a.get("lens")}
    if base_lens and plots.lens_compare_plot(base_lens, tuned_lens, run_dir / "lens.png"):
        figs.append(("lens.png", "logit lens by layer"))
    else:
        text.append("Logit lens: not run.")
    return _section("Look inside", text, figures=figs)


def _scaling_section(doc: dict[str, Any], run_dir: Path) -> Section:
    if not doc.get("scaling"):
        return _section("Scaling law and budget", missing="Not run: no scaling pilot (scaling/fits.json) in this run.")
    figs = [
        (f"scaling/{n}", cap)
        for n, cap in (
            ("fits.png", "scaling curves with 95% bands"),
            ("plan.png", "planned allocation against uniform"),
        )
    ]
    return _section(
        "Scaling law and budget",
        tabs=tables.scaling_tables(doc),
        figures=[f for f in figs if (run_dir / f[0]).is_file()],
    )


def claims_table(judged: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per claim: verdict, effect with its 95% paired interval, what decided it."""
    rows = []
    for c in judged:
        p = 3 if "cosine" in (c.get("unit") or "") else 2
        eff = "—"
        if "effect" in c:
            eff = f"{c['effect']:+.{p}f} [{c['low']:+.{p}f}, {c['high']:+.{p}f}] {c.get('unit') or ''}".strip()
        rows.append([c["claim"], c["verdict"], eff, c.get("decided_by") or "—"])
    return {"title": "claims", "header": ["claim", "verdict", "effect [95% interval]", "decided by"], "rows": rows}


def _claims_section(judged: list[dict[str, Any]], run_dir: Path) -> Section:
    text = [c["line"] for c in judged]
    figs = [("forest.png", "each claim's parts with their 95% paired intervals")]
    if not plots.forest_plot(judged, run_dir / "forest.png"):
        figs = []
    sec = _section("Claims", text, [claims_table(judged)], figs)
    sec["judged"] = judged
    return sec


def sections(doc: dict[str, Any], run_dir: Path, effects: tables.Effects | None = None) -> list[Section]:
    """Every section of the report, in reading order (figures are written to ``run_dir`` on the way);
    ``effects``: the deltas' intervals (:func:`polyalign.report.deltas.delta_effects`), computed when not given."""
    effects = delta_effects(doc) if effects is None else effects
    out = [_claims_section(claims.judge_claims(doc), run_dir)]
    frozen = doc.get("model_files") or {}
    which = f" ({frozen['source']}; files sha256 {str(frozen['sha256'])[:12]}, model.json)" if frozen else ""
    ran = [
        f"Model {doc.get('model')}{which}, seed {doc['recipe'].get('seed')}, recipe config.yaml "
        f"({len(doc['arms'])} tuned arms and the untuned base)."
    ]
    ran += [
        f"Arm {n}: not run ({why})." if why != "not run" else f"Arm {n}: not run (arms/{n}/ holds no results yet)."
        for n, why in doc.get("not_run", {}).items()
    ]
    tabs = [tables.what_ran(doc)] + [t for t in [tables.timings_table(doc)] if t]
    out.append(_section("What was run", ran, tabs))
    out += _results_sections(doc, run_dir, effects)
    out.append(_losses_section(doc, run_dir))
    out.append(_analysis_section(doc, run_dir))
    out.append(_scaling_section(doc, run_dir))
    out.append(_judge_section(doc))
    return out


def _judge_section(doc: dict[str, Any]) -> Section:
    judge = doc.get("judge")
    title = "Judge (pairwise against the base)"
    if not judge or not judge.get("arms"):
        return _section(title, missing="Not run: the recipe names no judge endpoint.")
    rows = [
        [
            name,
            f"{a['win_rate']:.1f}" if a.get("win_rate") is not None else "—",
            a.get("wins"),
            a.get("ties"),
            a.get("losses"),
            f"{a['consistency']:.0f}" if a.get("consistency") is not None else "—",
            f"{a.get('judged')}/{a.get('n')}",
        ]
        for name, a in judge["arms"].items()
    ]
    return _section(
        title,
        [
            f"Judge {judge.get('judge_model')} at {judge.get('endpoint')}: each arm's answer (A) "
            "against the base's (B) on polyinstruct test items, asked in both orders; ties count half."
        ],
        [
            {
                "title": "judge",
                "header": ["arm", "win rate % (A)", "wins", "ties", "losses", "consistency %", "judged"],
                "rows": rows,
            }
        ],
    )


def gaps(run_dir: Path, doc: dict[str, Any], finished: bool = True) -> list[tuple[Path, str]]:
    """What the run should hold but does not, each as (the file, what the report lacks because of it).

    ``finished``: the run is expected to be over (``polyalign report``), so a missing ``summary.json``
    counts; a truncated one is an :class:`InputError` naming it (exit 2), never read past.
    """

    out = []
    summary = run_dir / "summary.json"
    if summary.is_file():
        read_json(summary)  # a truncated summary: `error: PATH:LINE: invalid JSON ...`
    elif finished:
        out.append(
            (
                summary,
                "the run has not finished (or the file was deleted); rerun the polyalign run command "
                "that made it to finish it",
            )
        )
    with_arms = bool(doc["recipe"].get("arms"))
    base = run_dir / "eval" / ("base" if with_arms else "before")
    if doc["base"] is None and (doc["recipe"].get("eval") or {}).get("baseline", True):  # pilot points skip it
        out.append(
            (
                base,
                "no results.json here or in suite/: no untuned-base numbers, no deltas, and no claim "
                "against the base is judged",
            )
        )
    elif doc["base"] is not None:
        out += _missing_samples(base, "the base")
    for name, arm in doc["arms"].items():
        folder = run_dir / "arms" / name / "eval" if with_arms else run_dir / "eval" / "after"
        if arm["results"] is None and with_arms:
            out.append((folder, f"no results.json here or in suite/: no evaluation of arm {name}"))
        elif arm["results"] is not None:
            out += _missing_samples(folder, name)
    return out


def _missing_samples(folder: Path, who: str) -> list[tuple[Path, str]]:
    """A task an evaluation folder has results for but no samples file: its claims and deltas cannot
    pair it (they leave it out and say so)."""
    out = []
    for sub in (folder, folder / "suite"):
        results = sub / "results.json"
        if not results.is_file():
            continue
        for task in read_json(results).get("results") or {}:
            samples = sub / f"samples_{task.replace('/', '_', 1)}.jsonl"
            if not samples.is_file():
                out.append(
                    (
                        samples,
                        f"no per-item scores of {who} on {task}: its delta has no interval and the claims leave it out",
                    )
                )
    return out


def build_report(run_dir: str | Path, finished: bool = False) -> dict[str, Any]:
    """Write the figures, ``report.md`` and ``report.html`` of ``run_dir``; return the document and paths.

    Parts the run lacks (:func:`gaps`) are warned about on stderr, one line each, and named in the
    report's "What was run"; ``finished``: called on a run that should be over (``polyalign report``).
    """
    import sys

    run_dir = Path(run_dir)
    doc = collect(run_dir)
    missing = gaps(run_dir, doc, finished)
    for path, lack in missing:
        print(f"warning: {path}: missing: {lack}", file=sys.stderr)
    effects = delta_effects(doc)
    secs = sections(doc, run_dir, effects)
    secs[1]["text"] += [f"Missing: {path.relative_to(run_dir)} — {lack}." for path, lack in missing]
    title = f"polyalign run {doc['name']}"
    markdown.write_report(run_dir / "report.md", title, secs)
    html.write_report(run_dir / "report.html", title, secs, run_dir)
    # each tuned model's README.md carries the numbers just reported, and the claims
    write_model_cards(run_dir, claims.run_claims(run_dir))
    return {
        "doc": doc,
        "claims": secs[0]["text"],
        "judged": secs[0]["judged"],
        "summary": summary_document(doc, secs[0]["judged"], effects),
        "markdown": run_dir / "report.md",
        "html": run_dir / "report.html",
    }


def summary_document(doc: dict[str, Any], judged: list[dict[str, Any]], effects: tables.Effects) -> dict[str, Any]:
    """What ``summary.json`` records: the report document without the per-item rows (they stay in
    the samples), every claim with its effect, interval, verdict and method, and every delta of the
    results tables with its paired interval (``deltas``: arm → task → metric)."""
    return {**{k: v for k, v in doc.items() if k != "items"}, "claims": judged, "deltas": deltas_json(effects)}
