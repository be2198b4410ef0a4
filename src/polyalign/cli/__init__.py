"""``polyalign <command>``: the parser, and one module per command group, each a parser and thin
handlers (``data``, ``train``, ``eval``, ``score``, ``scaling``, ``analyze``, and ``run`` with
``report``, ``export`` and ``push``); heavy imports stay inside the handlers so ``--help`` is fast.

Bad input of any kind ends as one line, ``error: PATH:LINE: what is wrong``, and exit status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from polyalign import __version__
from polyalign.cli import analyze, checks, data, run, scaling, score, train
from polyalign.cli import eval as eval_cli
from polyalign.io import InputError, describe_os_error


def parser() -> argparse.ArgumentParser:
    p = checks.Parser(prog="polyalign", description="Align an English-centric LLM to other languages, and measure it.")
    p.add_argument("--version", action="version", version=f"polyalign {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run.add_commands(sub)
    data.add_commands(sub)
    score.add_commands(sub)
    eval_cli.add_commands(sub)
    train.add_commands(sub)
    run.add_publish_commands(sub)
    scaling.add_commands(sub)
    analyze.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args, extra = p.parse_known_args(argv)
    if extra:  # `polyalign train a=1 --nproc 2 b=2`: argparse leaves b=2 over
        if getattr(args, "overrides", None) is not None and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            p.error("unrecognized arguments: " + " ".join(extra))
    old_term = _term_as_interrupt()
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe is found here, inside the handlers below, not at exit
        return code
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `polyalign run --dry-run | head -3`: the reader has what it wanted
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit's flush finds no closed pipe either
        return 0
    except OSError as e:  # a user's path that is a folder, missing, unwritable, on a full or read-only disk
        err = describe_os_error(e)
        if err is None:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _term_as_interrupt():
    """SIGTERM (``kill``, a scheduler's stop) ends a command as Ctrl-C does: what it was writing is
    removed (a half-made folder beside the output), the line says how to resume, exit status 130. Its
    default killed the process where it stood. Returns the handler it replaced (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
