"""Command-line entry point: argument parsing only; every command calls a library function.

Each sub-command lives in ``reactbench/commands/<name>.py`` and exposes
``register(subparsers) -> None``; its parser sets ``func`` (called with the parsed args).
Command modules import heavy libraries inside their functions so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from reactbench import __version__
from reactbench.commands._common import error_message, release_empty_out_dirs
from reactbench.errors import ModelError, ReactbenchError

# command module names, in the order shown by --help
COMMAND_MODULES = (
    "data",  # data synth / data check / data summary
    "appropriate",  # neighbour matrices
    "run",  # generate + score + result file
    "score",  # score saved predictions
    "leaderboard",  # tables from result files
    "plot",  # pictures of one speaker row
    "fid",  # image FID through pytorch-fid (optional extra)
    "train",  # train a model (a plug-in's train hook)
    "ablate",  # a model's ablation study (a plug-in's ablate hook)
    "cache",  # cache info / cache clear
)


TRACEBACK_HINT = "--traceback shows the whole traceback"
TRACEBACK_DEST = "reactbench_traceback"  # never a command's own argument name
TRACEBACK_HELP = ("on an error, print the whole (chained) Python traceback, not only the "
                  "one-line message")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reactbench",
        description="Benchmark for multiple appropriate facial reaction generation (REACT2024).",
    )
    parser.add_argument("--version", action="version", version=f"reactbench {__version__}")
    parser.add_argument("--traceback", action="store_true", dest=TRACEBACK_DEST,
                        help=TRACEBACK_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"reactbench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"reactbench.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    _add_traceback_flag(parser)
    return parser


def _add_traceback_flag(parser: argparse.ArgumentParser) -> None:
    """``--traceback`` on every sub-command's parser (and theirs), so it may come before or
    after the command; it defaults to nothing there, so it never hides the top-level flag."""
    for action in parser._actions:  # argparse keeps sub-commands as a subparsers action
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in {id(p): p for p in action.choices.values()}.values():
            if "-" not in child.prefix_chars:  # a command that takes no flags at all
                continue
            try:
                child.add_argument("--traceback", action="store_true", dest=TRACEBACK_DEST,
                                   default=argparse.SUPPRESS, help=TRACEBACK_HELP)
            except argparse.ArgumentError:  # a plug-in command with a --traceback of its own
                continue
            _add_traceback_flag(child)


def _report(command: str, exc: ReactbenchError, *, whole: bool) -> None:
    """The error as one line on stderr; with the whole chained traceback first (``whole``:
    ``--traceback``); otherwise, for a model's own exception, a hint that the flag shows it."""
    message = error_message(exc)
    if whole:
        traceback.print_exception(exc, file=sys.stderr)
    elif isinstance(exc, ModelError) and _foreign_cause(exc):
        message += f" ({TRACEBACK_HINT})"
    print(f"reactbench {command}: error: {message}", file=sys.stderr)


def _foreign_cause(exc: BaseException) -> bool:
    """Whether ``exc`` was raised from an exception that is not reactbench's own (a model's)."""
    cause = exc.__cause__
    return cause is not None and not isinstance(cause, ReactbenchError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in result files
    # the commands (and plug-in hooks, which may pass their flags on) never see it
    whole = bool(vars(args).pop(TRACEBACK_DEST, False))
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except ReactbenchError as exc:
        _report(args.command, exc, whole=whole)
        return 2
    except KeyboardInterrupt as exc:
        if whole:
            traceback.print_exception(exc, file=sys.stderr)
        hint = {"train": " (continue from the last checkpoint: the same command with --resume)",
                "ablate": " (run it again: finished variants are kept, an interrupted one "
                          "resumes from its checkpoint)"}.get(args.command, "")
        print(f"interrupted{hint}", file=sys.stderr)
        return 130
    finally:
        release_empty_out_dirs()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
