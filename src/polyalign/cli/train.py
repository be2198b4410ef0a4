"""``polyalign train``: the one training job, in one process or many."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polyalign.cli.checks as checks
from polyalign.config import TrainJobConfig
from polyalign.io import InputError
from polyalign.outputs import check_apart
from polyalign.train.job import JOB_CONFIG, is_record, launch_or_train


def cmd_train(args: argparse.Namespace) -> int:
    cfg = checks.args_recipe(args, TrainJobConfig)
    inputs = {"train_file": cfg.train_file, "model.model_name_or_path": cfg.model.model_name_or_path}
    check_apart(inputs, {"output_dir": cfg.output_dir})
    check_recipe_kept(args.recipe, cfg)
    try:
        launch_or_train(cfg, args.nproc)
    except KeyboardInterrupt:  # train's own line: the same command without resume_from_checkpoint is refused
        again = (
            "run the same command again to resume"
            if cfg.train.resume_from_checkpoint
            else "to resume, run the same command with resume_from_checkpoint=latest"
        )
        print(f"interrupted; {again}", file=sys.stderr)
        return 130
    return 0


def check_recipe_kept(recipe: str | None, cfg: TrainJobConfig) -> None:
    """The recipe is never an output: ``polyalign train proj/train_config.yaml`` with ``output_dir: proj``
    would write the resolved settings over the user's own (commented) recipe. polyalign's own record
    read back (``polyalign train out/train_config.yaml resume_from_checkpoint=latest``, as torchrun's
    processes read it) is not the user's, and is allowed."""
    if not recipe or not Path(recipe).is_file():
        return
    written = Path(cfg.output_dir) / JOB_CONFIG
    if Path(recipe).resolve() == written.resolve() and not is_record(written):
        raise InputError(
            f"the recipe is inside output_dir ({cfg.output_dir}) where train writes {JOB_CONFIG}: "
            "choose another output_dir or move the recipe (nothing was changed)",
            recipe,
        )


def add_commands(sub) -> None:
    """``polyalign train``."""
    t = sub.add_parser(
        "train",
        help="tune a model on a training file (LoRA or full; one process, or many with --nproc / torchrun)",
        description="Keys follow Hugging Face TrainingArguments: polyalign train model_name_or_path=M "
        "train_file=data.jsonl output_dir=out learning_rate=2e-4 per_device_train_batch_size=8 ...",
    )
    t.add_argument(
        "recipe", nargs="?", help="YAML with top-level train_file, output_dir, seed and sections model, train"
    )
    t.add_argument(
        "overrides", nargs="*", metavar="key=value", help="settings, e.g. train_file=data.jsonl max_steps=100"
    )
    t.add_argument(
        "--nproc",
        type=checks.whole(1),
        default=1,
        help="start N processes on this host under torchrun (DDP, or FSDP2 with strategy=fsdp)",
    )
    t.set_defaults(func=cmd_train)
