"""``polyalign train``: the one training job, in one process or many."""

from __future__ import annotations

import argparse

import polyalign.cli.checks as checks
from polyalign.config import TrainJobConfig
from polyalign.outputs import check_apart
from polyalign.train.job import launch_or_train


def cmd_train(args: argparse.Namespace) -> int:
    cfg = checks.args_recipe(args, TrainJobConfig)
    inputs = {"train_file": cfg.train_file, "model.model_name_or_path": cfg.model.model_name_or_path}
    check_apart(inputs, {"output_dir": cfg.output_dir})
    launch_or_train(cfg, args.nproc)
    return 0


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
