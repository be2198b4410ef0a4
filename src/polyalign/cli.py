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
    "eval": "standalone evaluation (`polyalign eval --model M --tasks ...`)",
    "scaling": "scaling-law fitting and budget allocation",
    "analyze": "layer-wise alignment analysis",
}


def _recipe(args: argparse.Namespace, cls: type | None = None):
    """The recipe named on the command line (or the default), with its overrides applied.

    ``polyalign run max_steps=5`` has no recipe file: a first argument holding ``=`` is an
    override when no file of that name exists.
    """
    import os

    from polyalign.config import RunConfig, load_recipe

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):
        recipe, overrides = None, [recipe, *overrides]
    return load_recipe(recipe, overrides, cls=cls or RunConfig)


def cmd_run(args: argparse.Namespace) -> int:
    from polyalign.pipeline import run

    cfg = _recipe(args)
    run(cfg)
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    from polyalign.pipeline import prepare_run_dir, stage_data

    cfg = _recipe(args)
    manifest = stage_data(cfg, prepare_run_dir(cfg))
    print(json.dumps({code: {k: info[k] for k in ("train_pairs", "test_pairs")} | {"counts": info["counts"]}
                      for code, info in manifest["languages"].items()}, indent=2))
    return 0


def cmd_score_mt(args: argparse.Namespace) -> int:
    from polyalign.eval.mt import score_corpus

    hyps = _read_lines(args.hyp)
    refs = _read_lines(args.ref)
    if len(hyps) != len(refs):
        raise InputError(f"{len(hyps)} lines but the reference {args.ref} has {len(refs)}", args.hyp, min(len(hyps), len(refs)) + 1)
    print(json.dumps(score_corpus(hyps, refs, args.lang), ensure_ascii=False, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import os

    from polyalign.config import TrainJobConfig

    job = _recipe(args, TrainJobConfig)
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        from polyalign.train.main import check_inputs

        check_inputs(job)  # one clear line here rather than one per process
        from polyalign.train.distributed import launch

        return launch(args.nproc, ["train", *([args.recipe] if args.recipe else []), *args.overrides])
    from polyalign.train.main import train

    train(job)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from polyalign.train.export import export

    out = export(args.source, args.out, mode=args.mode, base=args.base, dtype=args.dtype)
    print(out)
    return 0


def _add_train_commands(sub) -> None:
    """``polyalign train`` and ``polyalign export``."""
    t = sub.add_parser(
        "train",
        help="tune a model on a training file (LoRA or full; one process, or many with --nproc / torchrun)",
        description="Keys follow Hugging Face TrainingArguments: polyalign train model_name_or_path=M "
                    "train_file=data.jsonl output_dir=out learning_rate=2e-4 per_device_train_batch_size=8 ...",
    )
    t.add_argument("recipe", nargs="?", help="YAML with top-level train_file, output_dir, seed and sections model, train")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="settings, e.g. train_file=data.jsonl max_steps=100")
    t.add_argument("--nproc", type=int, default=1, help="start N processes on this host under torchrun (DDP, or FSDP2 with strategy=fsdp)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("export", help="merge LoRA into the base model (a plain transformers folder), or save the adapter for peft")
    e.add_argument("source", help="a training output_dir or run directory (its model/), or an adapter/model folder")
    e.add_argument("out", help="folder to write")
    e.add_argument("--mode", choices=["merged", "adapter"], default="merged",
                   help="merged: base + LoRA folded into one transformers model (default); adapter: the adapter alone, for peft")
    e.add_argument("--base", help="base model (default: the one the run recorded)")
    e.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="dtype of the merged weights")
    e.set_defaults(func=cmd_export)


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

    d = sub.add_parser("data", help="build and inspect alignment data")
    dsub = d.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True
    db = dsub.add_parser("build", help="build a recipe's data into its run directory")
    db.add_argument("recipe", nargs="?")
    db.add_argument("overrides", nargs="*", metavar="key=value")
    db.set_defaults(func=cmd_data_build)

    s = sub.add_parser("score", help="score predictions against references")
    ssub = s.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    ssub.required = True
    sm = ssub.add_parser("mt", help="BLEU and chrF++ of a hypothesis file against a reference file")
    sm.add_argument("hyp")
    sm.add_argument("ref")
    sm.add_argument("--lang", required=True, help="target language (chooses the BLEU tokenizer)")
    sm.set_defaults(func=cmd_score_mt)

    _add_train_commands(sub)

    for name, what in NOT_BUILT.items():
        n = sub.add_parser(name, help=f"{what} (not built yet)")
        n.add_argument("rest", nargs=argparse.REMAINDER)
        n.set_defaults(func=not_built(what))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args, extra = p.parse_known_args(argv)
    if extra:  # `polyalign train a=1 --nproc 2 b=2`: argparse leaves b=2 over
        if getattr(args, "overrides", None) is not None and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            p.error("unrecognized arguments: " + " ".join(extra))
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
