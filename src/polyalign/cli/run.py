"""``polyalign run``, ``report``, ``export`` and ``push``: the main job, its report, and handing its models over."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polyalign.cli.checks as checks
from polyalign.arms import check_arms, quick, quick_note
from polyalign.calibrate import remember_rates
from polyalign.dry_run import dry_run
from polyalign.io import read_json, write_json
from polyalign.outputs import check_apart, run_lock
from polyalign.tracking import check_trackers


def cmd_run(args: argparse.Namespace) -> int:
    cfg = checks.args_recipe(args)
    checks.warn_arm_overrides(args, cfg)
    if args.quick:
        cfg, before = quick(cfg), cfg
        print(f"[polyalign] {quick_note(before, cfg)}", file=sys.stderr)
    checks.run_inputs_apart(cfg)
    if args.dry_run:
        check_arms(cfg)
        print(dry_run(cfg))
        return 0
    from polyalign.experiment import run

    check_trackers(cfg.train.report_to)  # a tracker that cannot start stops the run before any work
    with run_lock(cfg.run_dir):
        run(cfg, nproc=args.nproc, refresh_data=args.refresh_data)
        remember_rates(cfg, cfg.run_dir)  # this machine's rates, for the next --dry-run
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from polyalign.report.build import build_report

    out = build_report(args.run_dir, finished=True)
    summary = Path(args.run_dir) / "summary.json"
    if summary.is_file():  # its claims and deltas are the report's: recomputed by this polyalign, never left stale
        write_json(summary, {**read_json(summary), "claims": out["judged"], "deltas": out["summary"]["deltas"]})
    print("\n".join(out["claims"]))
    print(f"\nreport: {out['html']}\n        {out['markdown']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from polyalign.train.export import export

    check_apart({"--base": args.base}, {"OUT": args.out}, replaced={"OUT"})  # SOURCE: export's own check
    out = export(args.source, args.out, mode=args.mode, base=args.base, dtype=args.dtype, overwrite=args.overwrite)
    print(out)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from polyalign.train.push import push

    print(
        push(args.source, args.repo_id, private=args.private, allow_existing=args.allow_existing, license=args.license)
    )
    return 0


def add_commands(sub) -> None:
    """``polyalign run`` and ``polyalign report``."""
    r = sub.add_parser("run", help="data → baseline eval → tune → eval → report (default: the embedded recipe)")
    r.add_argument("recipe", nargs="?", help="recipe YAML (default: the embedded default)")
    r.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe fields, e.g. train.max_steps=10")
    r.add_argument(
        "--nproc",
        type=checks.whole(1),
        default=1,
        help="tune with N processes on this host under torchrun (DDP, or FSDP2 with train.strategy=fsdp)",
    )
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (arms, data, steps, tokens, evaluations, estimated time) without loading a model",
    )
    r.add_argument("--quick", action="store_true", help="every stage at toy size, into runs/<name>-quick")
    r.add_argument(
        "--refresh-data",
        action="store_true",
        help="read the sources again instead of the run's frozen pool (refused once results were built on it)",
    )
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser(
        "report", help="rebuild a run's report.html, report.md, figures and summary.json's claims from its JSON files"
    )
    rp.add_argument("run_dir", help="a run directory (runs/<name>)")
    rp.set_defaults(func=cmd_report)


def add_publish_commands(sub) -> None:
    """``polyalign export`` and ``polyalign push``."""
    e = sub.add_parser(
        "export", help="merge LoRA into the base model (a plain transformers folder), or save the adapter for peft"
    )
    e.add_argument(
        "source",
        help="a training output_dir or run directory (its model/), an adapter/model folder, "
        "or a checkpoint (OUTPUT_DIR/checkpoints/step-N)",
    )
    e.add_argument("out", help="folder to write: a new path or an empty folder (never the source)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier export of the same mode at OUT")
    e.add_argument(
        "--mode",
        choices=["merged", "adapter"],
        default="merged",
        help="merged: base + LoRA folded into one transformers model (default); adapter: the adapter alone, for peft",
    )
    e.add_argument("--base", help="base model (default: the one the run recorded)")
    e.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        default="float32",
        help="dtype of the merged weights (--mode merged only)",
    )
    e.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "push",
        help="publish an export or a run's tuned model, with its model card, to a Hugging Face Hub repository",
        description="The token is read from HF_TOKEN only (never printed or written). A repository that exists "
        "and was not made by polyalign push is refused unless --allow-existing.",
    )
    p.add_argument("source", help="an export folder, a run directory or arms/<arm> (its model/), or a model folder")
    p.add_argument("repo_id", help="OWNER/NAME on the hub (HF_ENDPOINT picks another hub)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument(
        "--allow-existing", action="store_true", help="push into an existing repository not made by polyalign"
    )
    p.add_argument(
        "--license", help="the card's license field (default: an export's card's own, else other; see the base model's)"
    )
    p.set_defaults(func=cmd_push)
