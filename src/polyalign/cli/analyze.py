"""``polyalign analyze``: alignment by layer, the logit lens, PCA."""

from __future__ import annotations

import argparse
import json

import polyalign.cli.checks as checks
from polyalign import langs
from polyalign.hub import DEFAULT_MODEL
from polyalign.io import InputError, provenance, read_json, write_json
from polyalign.outputs import check_output_dir
from polyalign.report.plots import alignment_plot, lens_plot, pca_plot


def _analysis_model(args: argparse.Namespace):
    from polyalign.models import load_model

    return load_model(args.model, dtype=args.dtype, adapter=args.adapter)


def _analysis_header(args: argparse.Namespace) -> dict:
    return {"model": args.model, "adapter": args.adapter, "dtype": args.dtype, "provenance": provenance()}


def cmd_analyze_align(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyalign.analysis.align import add_comparison, align_report, check_same_pairs, read_pairs

    checks.analysis_checks(args, **{"--pairs": args.pairs, "--compare": args.compare})
    out = check_output_dir(args.out)
    pairs = read_pairs(args.pairs, args.src_lang, args.tgt_lang, args.limit)
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
        **align_report(model, tok, pairs, args.pool, args.batch_size, args.seed, args.margin_k),
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
    from pathlib import Path

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
    check_output_dir(args.out)
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
    from pathlib import Path

    from polyalign.analysis.align import multiway_texts, pca_report

    codes = [langs.base(c) for c in langs.check_all([c.strip() for c in args.langs.split(",") if c.strip()], "--langs")]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InputError(f"--langs: {', '.join(twice)} named twice (pca compares different languages)")
    texts = multiway_texts(codes, args.limit)
    checks.analysis_checks(args)  # all before the model loads
    check_output_dir(args.out)
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
    al.add_argument("--src-lang", default="en", help="language of the first column when the file does not say")
    al.add_argument("--tgt-lang", default="es", help="language of the second column when the file does not say")
    al.add_argument("--limit", type=checks.whole(2, " (pairs to tell apart)"), help="use the first N pairs")
    al.add_argument("--margin-k", type=checks.whole(1), default=4, help="neighbours in the ratio margin")
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
