"""``polyalign <command>``: one small function per command; heavy imports inside them.

Bad input of any kind ends as one line, ``error: PATH:LINE: what is wrong``, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from polyalign import __version__
from polyalign.io import InputError

NOT_BUILT = {
    "train": "standalone training (`polyalign train RECIPE.yaml`)",
    "eval": "standalone evaluation (`polyalign eval --model M --tasks ...`)",
    "scaling": "scaling-law fitting and budget allocation",
    "analyze": "layer-wise alignment analysis",
}


def _recipe(args: argparse.Namespace):
    """The recipe named on the command line (or the default), with its overrides applied.

    ``polyalign run max_steps=5`` has no recipe file: a first argument holding ``=`` is an
    override when no file of that name exists.
    """
    import os

    from polyalign.config import load_recipe

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):
        recipe, overrides = None, [recipe, *overrides]
    return load_recipe(recipe, overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from polyalign.pipeline import run

    cfg = _recipe(args)
    run(cfg)
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    from polyalign.pipeline import prepare_run_dir, stage_data

    cfg = _recipe(args)
    manifest = stage_data(cfg, prepare_run_dir(cfg))
    print(json.dumps({
        "builder": manifest["builder"],
        "train_examples": manifest["files"]["train.jsonl"]["rows"],
        "parts": manifest["parts"],
        "languages": {code: {k: info.get(k) for k in ("train_pairs", "test_pairs", "allocated_pairs", "parts") if k in info}
                      | {"counts": info["counts"]} for code, info in manifest["languages"].items()},
        "manifest": str(cfg.run_dir / "data" / "manifest.json"),
    }, ensure_ascii=False, indent=2))
    return 0


def cmd_data_sources(args: argparse.Namespace) -> int:
    from polyalign.data.sources import available

    rows = available(args.lang, args.gettext_dir or ())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no offline parallel sources found" + (f" for {args.lang}" if args.lang else ""))
        return 0
    width = max(len(r["source"]) for r in rows)
    print(f"{'source'.ljust(width)}  lang    pairs  detail")
    for r in rows:
        print(f"{r['source'].ljust(width)}  {r['lang'].ljust(6)} {r['pairs']:>6}  {r['detail']}")
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["source"]] = totals.get(r["source"], 0) + r["pairs"]
    print("total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from polyalign.data.formats import validate_file

    info = validate_file(args.file, args.format, args.src_lang, args.tgt_lang, args.tgt_file)
    print(json.dumps({"file": args.file, **info}, ensure_ascii=False))
    return 0


def cmd_data_translate(args: argparse.Namespace) -> int:
    from polyalign.data.translate import run_translation_job

    cfg = _recipe(args)
    report = run_translation_job(cfg.translate, model_fallback=cfg.model.model_name_or_path)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    """``polyalign data build|sources|validate|translate``."""
    d = sub.add_parser("data", help="build and inspect alignment data")
    dsub = d.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True

    db = dsub.add_parser("build", help="build a recipe's data (CoIT, MuIT or question alignment) into its run directory")
    db.add_argument("recipe", nargs="?")
    db.add_argument("overrides", nargs="*", metavar="key=value")
    db.set_defaults(func=cmd_data_build)

    ds = dsub.add_parser("sources", help="list the offline parallel sources here and their pairs per language")
    ds.add_argument("--lang", help="count every source for this language only")
    ds.add_argument("--gettext-dir", action="append", help="locale folder to search (repeatable)")
    ds.add_argument("--json", action="store_true", help="print JSON rows")
    ds.set_defaults(func=cmd_data_sources)

    dv = dsub.add_parser("validate", help="check a data file; the first bad line is reported as PATH:LINE")
    dv.add_argument("file", help="a file, or hf:ORG/NAME[:CONFIG][@SPLIT]")
    dv.add_argument("--format", required=True, choices=["alpaca", "sharegpt", "messages", "parallel"])
    dv.add_argument("--src-lang", help="parallel: source language when the records do not say")
    dv.add_argument("--tgt-lang", help="parallel: target language when the records do not say")
    dv.add_argument("--tgt-file", help="parallel: the target side as a second aligned text file")
    dv.set_defaults(func=cmd_data_validate)

    dt = dsub.add_parser("translate", help="translate an instruction set with a journaled, resumable job")
    dt.add_argument("recipe", nargs="?", help="recipe with a `translate:` section")
    dt.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. translate.backend=http translate.target_languages=es")
    dt.set_defaults(func=cmd_data_translate)


def cmd_score_mt(args: argparse.Namespace) -> int:
    from polyalign.eval.mt import score_corpus

    hyps = _read_lines(args.hyp)
    refs = _read_lines(args.ref)
    if len(hyps) != len(refs):
        raise InputError(f"{len(hyps)} lines but the reference {args.ref} has {len(refs)}", args.hyp, min(len(hyps), len(refs)) + 1)
    print(json.dumps(score_corpus(hyps, refs, args.lang), ensure_ascii=False, indent=2))
    return 0


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for n, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 (column {e.start + 1})", path, n) from None
    return out


def not_built(what: str):
    def cmd(args: argparse.Namespace) -> int:
        print(f"error: {what} is not built yet in polyalign {__version__}", file=sys.stderr)
        return 2

    return cmd


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="polyalign", description="Align an English-centric LLM to other languages, and measure it.")
    p.add_argument("--version", action="version", version=f"polyalign {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="data → baseline eval → tune → eval → report (default: the embedded recipe)")
    r.add_argument("recipe", nargs="?", help="recipe YAML (default: the embedded default)")
    r.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe fields, e.g. train.max_steps=10")
    r.set_defaults(func=cmd_run)

    _add_data_commands(sub)

    s = sub.add_parser("score", help="score predictions against references")
    ssub = s.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    ssub.required = True
    sm = ssub.add_parser("mt", help="BLEU and chrF++ of a hypothesis file against a reference file")
    sm.add_argument("hyp")
    sm.add_argument("ref")
    sm.add_argument("--lang", required=True, help="target language (chooses the BLEU tokenizer)")
    sm.set_defaults(func=cmd_score_mt)

    for name, what in NOT_BUILT.items():
        n = sub.add_parser(name, help=f"{what} (not built yet)")
        n.add_argument("rest", nargs=argparse.REMAINDER)
        n.set_defaults(func=not_built(what))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
