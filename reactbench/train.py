"""Entry point for ``torchrun --nproc_per_node=G -m reactbench.train [flags]`` (DDP training).

The flags are those of ``reactbench train`` (without ``--gpus``), from the train hook of the
installed plug-in (:mod:`reactbench.plugins`); every process runs the same job, rank 0 alone
writes checkpoints and logs.
"""

from __future__ import annotations

import argparse
import sys

from reactbench.commands._common import error_message
from reactbench.commands.train import add_arguments, run
from reactbench.errors import ReactbenchError
from reactbench.plugins import command_hooks


def main(argv: list[str] | None = None) -> int:
    hooks = command_hooks("train")
    what = next(iter(hooks.values())).help if len(hooks) == 1 else "training"
    parser = argparse.ArgumentParser(prog="python -m reactbench.train",
                                     description=f"{what} (torchrun entry point)")
    add_arguments(parser, hooks)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ReactbenchError as exc:
        print(f"reactbench train: error: {error_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
