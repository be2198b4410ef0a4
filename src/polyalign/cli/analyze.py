"""``polyalign analyze``: alignment by layer, the logit lens, PCA."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polyalign.cli.checks as checks
from polyalign import langs
from polyalign.hub import DEFAULT_MODEL
from polyalign.io import InputError, provenance, read_json, write_json
from polyalign.outputs import check_output_dir, check_output_file
from polyalign.report.plots import alignment_plot, lens_plot, pca_plot


def _analysis_model(args: argparse.Namespace):
    from polyalign.models import load_model

    return load_model(args.model, dtype=args.dtype, adapter=args.adapter)


def _analysis_header(args: argparse.Namespace) -> dict:
    return {"model": args.model, "adapter": args.adapter, "dtype": args.dtype, "provenance": provenance()}


# what each analyze command's JSON holds beside its ``provenance``: how a file polyalign wrote is told
# from a file of the same name the user keeps in the output folder
WRITTEN_KEYS = {
    "alignment.json": ("layers", "best_layer", "pooling"),
    "lens.json": ("layers", "shots", "source_lang"),
    "pca.json": ("layers", "langs"),
}
DEFAULT_MARGIN_K = 4


def check_own_outputs(out: Path, doc_name: str, plot_name: str) -> None:
    """Refuse, before any work, to replace ``out/doc_name`` or ``out/plot_name`` unless polyalign
    wrote them: the JSON parses to an object with ``provenance`` and the command's own keys
    (:data:`WRITTEN_KEYS`), and the plot sits beside such a JSON. Running the same command into
    its own earlier output replaces both; anything else is one line and nothing changes."""
    doc, plot = out / doc_name, out / plot_name
    check_output_file(doc)
    check_output_file(plot)
    command = doc_name.removesuffix(".json").replace("alignment", "align")
    advice = f"exists and was not written by polyalign analyze {command}: choose another --out (nothing was changed)"
    ours = False
    if doc.exists():
        try:
            old = json.loads(doc.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        ours = (
            isinstance(old, dict)
            and isinstance(old.get("provenance"), dict)
            and all(k in old for k in WRITTEN_KEYS[doc_name])
        )
        if not ours:
            raise InputError(advice, doc)
    if plot.exists() and not ours:
        raise InputError(advice, plot)


def margin_k(asked: int | None, n: int) -> int:
    """The ratio margin's ``k`` for ``n`` pairs: ``--margin-k`` when below ``n``, else an error;
    not given, :data:`DEFAULT_MARGIN_K` or ``n - 1`` when that is fewer."""
    if asked is None:
        return min(DEFAULT_MARGIN_K, n - 1)
    if asked >= n:
        raise InputError(
            f"--margin-k {asked}: needs fewer neighbours than the {n} pairs (at most {n - 1}), or more pairs (--limit)"
        )
    return asked


def cmd_analyze_align(args: argparse.Namespace) -> int:
    from polyalign.analysis.align import add_comparison, align_report, check_same_pairs, read_pairs

    checks.analysis_checks(args, **{"--pairs": args.pairs, "--compare": args.compare})
    out = check_output_dir(args.out)
    check_own_outputs(out, "alignment.json", "alignment.png")
    if args.tgt_lang is not None:
        checks.check_lang(args.tgt_lang, "--tgt-lang")
    pairs = read_pairs(args.pairs, args.src_lang, args.tgt_lang, args.limit)
    k = margin_k(args.margin_k, len(pairs["x"]))
    other = None
    if args.compare:  # read it before the long part: a bad path fails at once
        other_file = Path(args.compare) / "alignment.json"
        if not other_file.is_file():
            raise InputError("no alignment.json to compare with", args.compare)
        other = read_json(other_file)
        check_same_pairs(pairs, other, args.compare)
    model, tok = _analysis_model(args)
    doc = {
        **_analysis_header(args),
        "pairs_file": pairs["file"],
        **align_report(model, tok, pairs, args.pool, args.batch_size, args.seed, k),
    }
    if other is not None:
        add_comparison(doc, other, args.compare)
    write_json(out / "alignment.json", doc)
    alignment_plot(doc, out / "alignment.png", other)
    best = doc["best_layer"]
    print(
        json.dumps(
            {
                "alignment": str(out / "alignment.json"),
                "plot": str(out / "alignment.png"),
                "pairs": doc["pairs"],
                "pooling": {k: v for k, v in doc["pooling"].items() if k != "rule"},
                "best_layer": best,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_analyze_lens(args: argparse.Namespace) -> int:
    lang = langs.base(langs.check_all([args.lang], "--lang")[0])
    default = "de" if lang == "fr" else "fr"
    source = langs.base(langs.check_all([args.source_lang], "--source-lang")[0]) if args.source_lang else default
    if "en" in (lang, source) or lang == source:
        flag = "--lang" if lang == "en" or not args.source_lang else "--source-lang"
        raise InputError(
            f"{flag}: the lens needs a target ({lang}) and a source ({source}) that differ and are not English "
            "(English is what the lens looks for in the middle layers)"
        )
    checks.analysis_checks(args)  # all before the model loads
    check_own_outputs(check_output_dir(args.out), "lens.json", "lens.png")
    model, tok = _analysis_model(args)
    from polyalign.analysis.lens import run_lens

    doc = {
        **_analysis_header(args),
        **run_lens(model, tok, args.lang, args.source_lang, args.shots, args.limit, args.batch_size, args.seed),
    }
    out = Path(args.out)
    write_json(out / "lens.json", doc)
    lens_plot(doc, out / "lens.png")
    peak = max(doc["layers"], key=lambda r: r["p_en"])
    print(
        json.dumps(
            {
                "lens": str(out / "lens.json"),
                "plot": str(out / "lens.png"),
                "items": doc["items"],
                "peak_english_layer": peak["layer"],
                "peak_english_p": round(peak["p_en"], 4),
                "final_p_lang": round(doc["layers"][-1]["p_lang"], 4),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_analyze_pca(args: argparse.Namespace) -> int:
    from polyalign.analysis.align import multiway_texts, pca_report

    codes = [langs.base(c) for c in langs.check_all([c.strip() for c in args.langs.split(",") if c.strip()], "--langs")]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InputError(f"--langs: {', '.join(twice)} named twice (pca compares different languages)")
    texts = multiway_texts(codes, args.limit)
    checks.analysis_checks(args)  # all before the model loads
    check_own_outputs(check_output_dir(args.out), "pca.json", "pca.png")
    model, tok = _analysis_model(args)
    doc = {**_analysis_header(args), **pca_report(model, tok, texts, args.pool, args.batch_size)}
    out = Path(args.out)
    write_json(out / "pca.json", doc)
    pca_plot(doc, out / "pca.png")
    print(
        json.dumps(
            {
                "pca": str(out / "pca.json"),
                "plot": str(out / "pca.png"),
                "items": doc["items"],
                "pc1_correlation_mean": [round(r["pc1_correlation_mean"], 3) for r in doc["layers"]],
            },
            indent=2,
        )
    )
    return 0


def add_commands(sub) -> None:
    """``polyalign analyze align|lens|pca``."""

    a = sub.add_parser("analyze", help="look inside: layer-wise cross-lingual alignment, the logit lens, PCA")
    asub = a.add_subparsers(dest="analyze_command", metavar="SUBCOMMAND")
    asub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default=DEFAULT_MODEL, help="hub id or local folder (default: the bundled SmolLM2)")
        p.add_argument("--adapter", help="LoRA adapter folder to apply (a run's model/ folder)")
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--batch-size", type=checks.whole(1), default=32, help="sentences per forward pass")
        p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="model weights")
        p.add_argument("--seed", type=int, default=0)

    al = asub.add_parser("align", help="per-layer cosine, retrieval, margin retrieval and CKA of parallel sentences")
    common(al)
    al.add_argument(
        "--pairs", required=True, help="TSV (source<TAB>target), JSONL (src, tgt), or a built run directory"
    )
    al.add_argument(
        "--pool",
        choices=["mean", "mean-all", "last"],
        default="mean",
        help="mean over content tokens (attention sinks and massive activations left out, counted in "
        "alignment.json), mean over every real token, or the last one",
    )
    al.add_argument("--compare", metavar="OTHER_DIR", help="another analyze align output to overlay and subtract")
    al.add_argument(
        "--src-lang", default="en", help="language of the first column when the file does not say (default: en)"
    )
    al.add_argument(
        "--tgt-lang",
        help="language of the second column: required when the file does not say (a TSV, records without "
        "tgt_lang); with a run directory, whose held-out pairs to read (required when it has several)",
    )
    al.add_argument("--limit", type=checks.whole(2, " (pairs to tell apart)"), help="use the first N pairs")
    al.add_argument(
        "--margin-k",
        type=checks.whole(1),
        help=f"neighbours in the ratio margin (default {DEFAULT_MARGIN_K}, or one fewer than the pairs when "
        "there are fewer; a k of the pairs or more is refused); alignment.json records the k used",
    )
    al.set_defaults(func=cmd_analyze_align)

    le = asub.add_parser("lens", help="logit lens on few-shot word translation into a language")
    common(le)
    le.add_argument("--lang", required=True, help="the language translated into, e.g. es, zh")
    le.add_argument("--source-lang", help="the language translated from (default fr; de when --lang is fr)")
    le.add_argument("--shots", type=checks.whole(0), default=5, help="demonstrations per prompt")
    le.add_argument("--limit", type=checks.whole(1), default=200, help="at most this many items")
    le.set_defaults(func=cmd_analyze_lens, batch_size=16)

    pc = asub.add_parser("pca", help="per-layer 2-D PCA of parallel sentences in several languages")
    common(pc)
    pc.add_argument("--langs", default="en,es,fr,de,zh,ru", help="comma-separated polyinstruct languages")
    pc.add_argument("--pool", choices=["mean", "mean-all", "last"], default="mean")
    pc.add_argument(
        "--limit", type=checks.whole(2, " (items to correlate)"), help="at most this many items per language"
    )
    pc.set_defaults(func=cmd_analyze_pca)
