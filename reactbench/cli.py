"""Command-line entry point: argument parsing only; every command calls a library function.

Each sub-command lives in ``reactbench/commands/<name>.py`` and exposes
``register(subparsers) -> None``; its parser sets ``func`` (called with the parsed args).
Command modules import heavy libraries inside their functions so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from reactbench import __version__
from reactbench.commands._common import error_message, release_empty_out_dirs
from reactbench.errors import ReactbenchError

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
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reactbench",
        description="Benchmark for multiple appropriate facial reaction generation (REACT2024).",
    )
    parser.add_argument("--version", action="version", version=f"reactbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"reactbench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"reactbench.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in result files
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except ReactbenchError as exc:
        print(f"reactbench {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
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
