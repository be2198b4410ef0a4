"""``polyalign scaling``: fit the law, predict, allocate a budget, run a pilot."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import polyalign.cli.checks as checks
from polyalign import langs
from polyalign.grid import choose_executor
from polyalign.io import InputError, sha256_file, write_json
from polyalign.outputs import check_apart, check_output_file, run_lock
from polyalign.run_config import PilotConfig

# What each command's JSON holds: how a fits.json or plan.json polyalign wrote (now or in an earlier
# version) is told from a file of the user's at the --out path. Only the former is replaced.
WRITTEN_KEYS = {
    "fit": {"fits": dict, "settings": dict},
    "allocate": {"allocation": dict, "predicted": dict, "uniform": dict, "method": str, "budget": int},
}
MAX_BUDGET = 10**15  # polyalign.scaling.allocate.MAX_BUDGET (not imported: --help stays fast)
MAX_WEIGHT = 1e6  # polyalign.scaling.allocate.MAX_WEIGHT


def check_own_output(path: str | None, command: str) -> None:
    """Refuse, before any work, to replace ``path`` unless polyalign's ``scaling COMMAND`` wrote it: the
    JSON parses to an object with the command's keys, each of its kind (:data:`WRITTEN_KEYS`).
    Re-running a command into its own earlier output replaces it; anything else is one line and
    nothing changes."""
    check_output_file(path)
    if path is None or not Path(path).exists():
        return
    try:
        old = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    keys = WRITTEN_KEYS[command]
    if not (isinstance(old, dict) and all(isinstance(old.get(k), kind) for k, kind in keys.items())):
        raise InputError(
            f"exists and was not written by polyalign scaling {command}: choose another --out (nothing was changed)",
            path,
        )


@contextlib.contextmanager
def blamed(where: str):
    """An ``InputError`` that names no file names ``where``: the flags (``<command line>``) or the input
    the library call read, so every error is ``error: PATH[:LINE]: what is wrong``."""
    try:
        yield
    except InputError as e:
        if e.path is not None:
            raise
        raise InputError(e.message, where) from None


def at_most(parse: Callable[[str], object], hi: float, why: str = "") -> Callable[[str], object]:
    """An ``argparse`` type: what ``parse`` accepts, its number (of ``LANG=VALUE``, the value) at most ``hi``."""

    def check(text: str) -> object:
        value = parse(text)
        number = value[1] if isinstance(value, tuple) else value
        if number > hi:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at most {hi:g}{why}")
        return value

    return check


def cmd_scaling_fit(args: argparse.Namespace) -> int:
    from polyalign.scaling.fits import fit_points
    from polyalign.scaling.laws import read_points

    check_apart({"points": args.points}, {"--out": args.out})
    check_own_output(args.out, "fit")
    points, notes = read_points(args.points)
    checks.point_langs(args.points, list(points))
    similarity = dict(args.similarity or [])
    if not args.shared:  # the shared fit plans a language with no points from its similarity alone
        with blamed("<command line>"):
            checks.fitted(similarity, "--similarity", list(points))
    for note in notes:
        print(f"[polyalign] {args.points}: {note}", file=sys.stderr)
    with blamed("<command line>"):  # what the fit refuses without naming the points is a flag
        doc = fit_points(points, args.form, args.bootstrap, args.seed, similarity, args.points, args.shared)
    for note in doc["notes"]:
        print(f"[polyalign] {note}", file=sys.stderr)
    if args.out:
        write_json(args.out, doc)
    shown = {
        lang: {k: v for k, v in f.items() if k not in ("bootstrap_draws", "sizes", "scores")}
        for lang, f in doc["fits"].items()
    }
    extra = {"shared": doc["shared"]} if "shared" in doc else {}
    print(json.dumps({"fits": shown, **extra, "settings": doc["settings"]}, ensure_ascii=False, indent=2))
    return 0


def cmd_scaling_predict(args: argparse.Namespace) -> int:
    from polyalign.scaling.laws import extrapolation, load_fits, predict_sizes

    fits = load_fits(args.fits)["fits"]
    with blamed(args.fits):
        predicted = predict_sizes(fits, args.size, args.ci)
    where = {lang: extrapolation(f, args.size) for lang, f in fits.items()}
    outside = [f"{lang} {note.removeprefix('extrapolated: ')}" for lang, (flag, note, _) in where.items() if flag]
    if outside:  # the law trusted beyond its data, as allocate marks it
        print(f"[polyalign] warning: {args.fits}: extrapolated: {'; '.join(outside)}", file=sys.stderr)
    doc = {
        "predicted": predicted,
        "extrapolated": {lang: w[0] for lang, w in where.items()},
        "extrapolated_note": {lang: w[1] for lang, w in where.items()},
        "measured_range": {lang: w[2] for lang, w in where.items()},
    }
    print(json.dumps(doc, ensure_ascii=False, indent=2))
    return 0


def cmd_scaling_allocate(args: argparse.Namespace) -> int:
    from polyalign.scaling.allocate import plan
    from polyalign.scaling.laws import load_fits

    check_apart({"fits": args.fits}, {"--out": args.out})
    check_own_output(args.out, "allocate")
    fits = load_fits(args.fits)["fits"]
    for code in fits:  # a plan for 'french' would only be refused later, by data build
        if langs.unknown(code) is not None:
            raise InputError(f"fits: {langs.unknown(code)}", args.fits)
    with blamed("<command line>"):  # what plan refuses is the flags asked of these fits
        doc = plan(fits, args.budget, args.min_per_lang, dict(args.available or []), dict(args.weight or []))
    doc["source"] = {"fits": str(args.fits), "sha256": sha256_file(args.fits)}  # what produced this plan
    if args.out:
        write_json(args.out, doc)
    print(json.dumps(doc, indent=2))
    return 0


def cmd_scaling_pilot(args: argparse.Namespace) -> int:
    from polyalign.experiment import run_pilot

    if args.recipe is None:
        raise InputError("scaling pilot needs a recipe with a scaling: section (see recipes/scaling_pilot.yaml)")
    cfg = checks.args_recipe(args, PilotConfig)
    checks.run_inputs_apart(cfg)
    choose_executor(cfg.scaling.launcher, cfg.scaling.cluster)
    with run_lock(cfg.run_dir):
        run_pilot(cfg)
    return 0


def add_commands(sub) -> None:
    """``polyalign scaling fit|predict|allocate|pilot``."""
    s = sub.add_parser("scaling", help="fit quality against parallel-data size, plan a budget, run the pilot grid")
    ssub = s.add_subparsers(dest="scaling_command", metavar="SUBCOMMAND")
    ssub.required = True
    f = ssub.add_parser("fit", help="fit a law per language to lang,size,score[,similarity] points")
    f.add_argument("points", help="CSV with columns lang,size,score and optionally similarity")
    f.add_argument("--form", choices=["xllama", "power", "log", "auto"], default="auto", help="law (auto: by AICc)")
    f.add_argument("--out", help="write the fits (with bootstrap draws, for predict --ci and plots) to this JSON")
    f.add_argument("--bootstrap", type=checks.whole(0), default=1000, help="bootstrap resamples for the 95%% intervals")
    f.add_argument("--seed", type=checks.whole(0), default=0, help="bootstrap seed")
    f.add_argument(
        "--similarity",
        type=checks.lang_value(float, 0, inclusive=False),
        action="append",
        metavar="LANG=GAMMA",
        help="xllama γ where the CSV has none",
    )
    f.add_argument(
        "--shared",
        action="store_true",
        help="one α, β for all languages, γ per language (given, else fitted); a --similarity alone plans a language",
    )
    f.set_defaults(func=cmd_scaling_fit)
    p = ssub.add_parser("predict", help="predicted score per language at the given sizes")
    p.add_argument("fits", help="FITS.json from scaling fit --out")
    p.add_argument("--size", type=checks.positive, action="append", required=True, help="parallel pairs (repeatable)")
    p.add_argument("--ci", action="store_true", help="add the 95%% bootstrap interval of each prediction")
    p.set_defaults(func=cmd_scaling_predict)
    a = ssub.add_parser("allocate", help="split a budget of pairs across languages to maximise predicted quality")
    a.add_argument("fits", help="FITS.json from scaling fit --out")
    a.add_argument("--budget", type=at_most(checks.whole(1), MAX_BUDGET), required=True, help="total parallel pairs N")
    a.add_argument("--min-per-lang", type=checks.whole(1), default=1, help="fewest pairs per language M")
    a.add_argument(
        "--available",
        type=checks.lang_value(int, 0),
        action="append",
        metavar="LANG=K",
        help="at most K pairs for LANG (repeatable)",
    )
    a.add_argument(
        "--weight",
        type=at_most(checks.lang_value(float, 0), MAX_WEIGHT, " (weights are relative)"),
        action="append",
        metavar="LANG=W",
        help="weight of LANG's score (default 1)",
    )
    a.add_argument("--out", help="also write the plan here (data build reads it as allocation: PLAN.json)")
    a.set_defaults(func=cmd_scaling_allocate)
    pi = ssub.add_parser("pilot", help="run the pilot grid of a recipe's scaling: section, then fit, plan and plot")
    pi.add_argument("recipe", nargs="?", help="recipe YAML with a scaling: section")
    pi.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. scaling.sizes=50,100,200,400")
    pi.set_defaults(func=cmd_scaling_pilot)
