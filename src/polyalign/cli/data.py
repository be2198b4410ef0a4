"""``polyalign data``: build, inspect, translate and freeze alignment data."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import polyalign.cli.checks as checks
from polyalign.arms import pool_cover
from polyalign.config import DataConfig
from polyalign.data.corpora import available
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.records import validate_file
from polyalign.data.translate import check_settings, output_paths, run_translation_job
from polyalign.io import InputError, read_json, require_folder
from polyalign.outputs import check_apart, check_new_output_dir, run_lock
from polyalign.run_dir import prepare_run_dir


def cmd_data_build(args: argparse.Namespace) -> int:
    from polyalign.stages import stage_data

    cfg = checks.args_recipe(args)
    checks.run_inputs_apart(cfg)
    MixtureSpec.from_config(cfg.data)  # a recipe no builder can make stops before its run directory is made
    with run_lock(cfg.run_dir):  # with arms, the run's frozen pool serves them too
        manifest = stage_data(cfg, prepare_run_dir(cfg), pool_cover(cfg) if cfg.arms else None)
    print(
        json.dumps(
            {
                "builder": manifest["builder"],
                "train_examples": manifest["files"]["train.jsonl"]["rows"],
                "parts": manifest["parts"],
                "languages": {
                    code: {
                        k: info.get(k) for k in ("train_pairs", "test_pairs", "allocated_pairs", "parts") if k in info
                    }
                    | {"counts": info["counts"]}
                    for code, info in manifest["languages"].items()
                },
                "manifest": str(cfg.run_dir / "data" / "manifest.json"),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_data_sources(args: argparse.Namespace) -> int:
    if args.lang:
        checks.check_lang(args.lang, "--lang")
    for folder in args.gettext_dir or ():
        require_folder(folder)
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
    for code, flag in ((args.src_lang, "--src-lang"), (args.tgt_lang, "--tgt-lang")):
        if code:
            checks.check_lang(code, flag)
    info = validate_file(args.file, args.format, args.src_lang, args.tgt_lang, args.tgt_file)
    print(json.dumps({"file": args.file, **info}, ensure_ascii=False))
    return 0


def cmd_data_translate(args: argparse.Namespace) -> int:
    cfg = checks.args_recipe(args)
    t = cfg.translate
    try:  # settings no job can run with, before any request
        check_settings(t)
    except ValueError as e:
        raise InputError(str(e), _origin(args, str(e))) from None
    outputs: dict[str, str | Path] = {"translate.output_dir": t.output_dir}
    for lang in t.target_languages:
        for path in output_paths(t.input, t.output_dir, lang) if t.input else ():
            outputs[f"translate.output_dir {path.name}"] = path
    check_apart({"translate.input": t.input or None}, outputs)
    report = run_translation_job(t, model_fallback=cfg.model.model_name_or_path)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for info in report["languages"].values():
        if info["rejected"]:
            print(
                f"warning: {info['output']}: {info['rejected']} of {info['records']} records left out: a "
                "translation came back empty or without its protected markers (⟦0⟧); those were not "
                "journaled, so running the same command again retries them",
                file=sys.stderr,
            )
    return 0


def _origin(args: argparse.Namespace, message: str) -> str:
    """Where the settings a message names came from: the command line when an override sets one
    of them (or no recipe file was named), else the recipe file."""
    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):  # as checks.args_recipe reads them
        recipe, overrides = None, [recipe, *overrides]
    named = set(re.findall(r"translate\.\w+", message)) | {"translate"}
    if recipe is None or any(item.partition("=")[0].strip() in named for item in overrides):
        return "<command line>"
    return recipe


def cmd_data_snapshot(args: argparse.Namespace) -> int:
    from polyalign.data.filters import cover
    from polyalign.data.pool import freeze

    inputs = {f"--gettext-dir {d}": d for d in args.gettext_dir or ()} | {"recipe": args.recipe}
    check_apart(inputs, {"-o": args.output}, replaced=["-o"])
    if args.languages and (args.recipe or args.overrides):
        raise InputError("<command line>: give a recipe (its languages, sources and filters) or --languages, not both")
    if not args.languages and (args.sources or args.gettext_dir):
        raise InputError("<command line>: --sources and --gettext-dir go with --languages; a recipe names its own")
    if args.languages:
        codes = [checks.check_lang(c.strip(), "--languages") for c in args.languages.split(",") if c.strip()]
        for folder in args.gettext_dir or ():
            require_folder(folder)
        data = DataConfig(languages=codes, gettext_dirs=list(args.gettext_dir or []))
        if args.sources:
            data.sources = [x.strip() for x in args.sources.split(",") if x.strip()]
        want = cover([data])
    else:
        cfg = checks.args_recipe(args)
        want = pool_cover(cfg) if cfg.arms else cover([cfg.data])
    held = Path(args.output) / "pool.json"
    if held.is_file():  # a pool polyalign made: it is frozen, so it is never written again
        try:
            codes_held = ", ".join(sorted(read_json(held).get("languages") or {})) or "no languages"
        except (InputError, AttributeError):
            codes_held = "an unreadable pool.json"
        raise InputError(
            f"already holds a frozen pool ({codes_held}), which is never changed: choose another -o "
            "(nothing was changed)",
            args.output,
        )
    check_new_output_dir(args.output, "a frozen pool", "choose another -o")
    doc = freeze(args.output, want)
    pairs = {c: v["pairs"] for c, v in doc["languages"].items()}
    print(json.dumps({"pool": args.output, "sha256": doc["sha256"], "pairs": pairs}, ensure_ascii=False, indent=2))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """``polyalign data build|sources|validate|translate|snapshot``."""
    d = sub.add_parser("data", help="build and inspect alignment data")
    dsub = d.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True

    db = dsub.add_parser(
        "build", help="build a recipe's data (CoIT, MuIT or question alignment) into its run directory"
    )
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
    dt.add_argument(
        "overrides", nargs="*", metavar="key=value", help="e.g. translate.backend=http translate.target_languages=es"
    )
    dt.set_defaults(func=cmd_data_translate)

    dp = dsub.add_parser("snapshot", help="freeze a recipe's candidate pairs into a pool a recipe names as data.pool")
    dp.add_argument("recipe", nargs="?", help="recipe whose languages, sources and filters the pool serves")
    dp.add_argument("overrides", nargs="*", metavar="key=value")
    dp.add_argument("--languages", help="instead of a recipe: comma-separated languages (the default sources)")
    dp.add_argument("--sources", help="with --languages: comma-separated sources (default: gettext)")
    dp.add_argument("--gettext-dir", action="append", help="with --languages: locale folder to read (repeatable)")
    dp.add_argument("-o", "--output", required=True, help="the pool folder to write (new or empty)")
    dp.set_defaults(func=cmd_data_snapshot)
