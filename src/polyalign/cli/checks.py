"""The command line's checks made before any work: numbers and language codes where a flag is parsed
(``--limit -1``, ``--similarity es=0``), outputs kept apart from inputs, what ``analyze`` can check
before a model loads (issue 17). Bad input is one line, ``error: <command line>: ...``, exit 2.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from polyalign import langs
from polyalign.arms import suite_protocol
from polyalign.hub import require_adapter
from polyalign.io import InputError
from polyalign.outputs import check_apart, check_output_dir
from polyalign.recipe import load_recipe
from polyalign.run_config import RunConfig


def whole(lo: int, why: str = "") -> Callable[[str], int]:
    """An ``argparse`` type: a whole number ``>= lo``, checked where it is parsed (``--limit -1`` fails at once)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}{why}, got {value}")
        return value

    return parse


def positive(text: str) -> float:
    """An ``argparse`` type: a finite number above 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def lang_value(kind: type, lo: float, inclusive: bool = True) -> Callable[[str], tuple[str, float]]:
    """An ``argparse`` type: ``LANG=VALUE`` with a known language and a finite VALUE ``>= lo`` (``> lo``)."""
    import math

    def parse(text: str) -> tuple[str, float]:
        lang, sep, raw = text.partition("=")
        name = "N" if kind is int else "VALUE"
        if not sep or not lang.strip():
            raise argparse.ArgumentTypeError(f"expected LANG={name}, got {text!r}")
        msg = langs.unknown(lang.strip())
        if msg is not None:
            raise argparse.ArgumentTypeError(f"{text!r}: {msg}")
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected LANG={name}, got {text!r}") from None
        ok = math.isfinite(value) and (value >= lo if inclusive else value > lo)
        if not ok:
            raise argparse.ArgumentTypeError(f"{text!r}: {name} must be {'at least' if inclusive else 'above'} {lo}")
        return langs.normalize(lang.strip()), value

    return parse


class Parser(argparse.ArgumentParser):
    """argparse with polyalign's one line for a bad flag: ``error: <command line>: argument --limit: ...``."""

    def error(self, message: str) -> NoReturn:
        print(f"error: <command line>: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def run_inputs_apart(cfg: Any) -> None:
    """A run's inputs are not its run folder, and none lies in the data/ it rebuilds."""

    inputs = {f"data.sources {x}": x.partition("#")[0] for x in cfg.data.sources if "/" in x or "." in x}
    inputs |= {f"data.instructions {x}": x.partition("=")[2] or x for x in cfg.data.instructions if x != "polyinstruct"}
    inputs |= {"model.model_name_or_path": cfg.model.model_name_or_path, "plan": cfg.plan}
    check_apart(inputs, {"the run folder": cfg.run_dir, "data/": cfg.run_dir / "data"}, replaced={"data/"})


def warn_arm_overrides(args: argparse.Namespace, cfg: Any) -> None:
    """``polyalign run languages=fr`` on an experiment: its arms name their own languages; say so."""
    keys = {o.partition("=")[0].strip() for o in args.overrides}
    ignored = sorted(
        keys & {"languages", "data.languages", "builder", "data.builder", "pair_budget", "data.pair_budget"}
    )
    if cfg.arms and ignored:
        print(
            f"[polyalign] <command line>: {', '.join(ignored)}: this recipe's arms set their own builder, "
            "languages and pair budget (arms=...), so this changes none of them",
            file=sys.stderr,
        )


def fitted(table: dict, flag: str, have: Sequence[str]) -> dict:
    """``--similarity`` values, each for a language the points have (as ``allocate`` asks of ``--weight``)."""
    stray = sorted(set(table) - set(have))
    if stray:
        raise InputError(f"{flag} names {', '.join(stray)}, which the points do not have (points: {', '.join(have)})")
    return table


def point_langs(path: str, codes: Sequence[str]) -> None:
    """Every language of a points CSV is one polyalign knows: ``error: PATH:LINE: unknown language code``."""
    import csv

    bad = [c for c in codes if langs.unknown(c) is not None]
    if not bad:
        return
    with open(path, encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if bad[0] in (cell.strip() for cell in row):
                raise InputError(f"lang: {langs.unknown(bad[0])}", path, line)
    raise InputError(f"lang: {langs.unknown(bad[0])}", path)


def analysis_checks(args: argparse.Namespace, **inputs: str | None) -> None:
    """What an analyze command can check without a model, checked before one loads."""
    check_apart({"--model": args.model, "--adapter": args.adapter, **inputs}, {"--out": args.out})
    check_output_dir(args.out)
    if args.adapter:
        require_adapter(args.adapter)


def args_recipe(args: argparse.Namespace, cls: type | None = None, embedded: bool = True):
    """The recipe named on the command line (or the default), with its overrides applied.

    ``polyalign run max_steps=5`` has no recipe file: a first argument holding ``=`` is an
    override when no file of that name exists. ``embedded=False``: overrides without a recipe file
    start from the fields' defaults, not from the embedded default experiment (``polyalign eval``).
    """
    import os

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):
        recipe, overrides = None, [recipe, *overrides]
    cfg = load_recipe(recipe, overrides, cls=cls or RunConfig, embedded=embedded)
    # the suite's protocol settled at once, as polyalign run settles it: every command that makes the run
    # directory (data build, scaling pilot) writes the same config.yaml, so a later run finds its own recipe
    return suite_protocol(cfg) if isinstance(cfg, RunConfig) else cfg


def check_lang(code: str, flag: str) -> str:
    """A language code from a flag, checked before any work: ``error: --lang: unknown language code 'xx'``."""

    msg = langs.unknown(code)
    if msg is not None:
        raise InputError(f"{flag}: {msg}")
    return langs.normalize(code)
