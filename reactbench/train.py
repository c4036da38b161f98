"""Entry point for ``torchrun --nproc_per_node=G -m reactbench.train [flags]`` (DDP training).

The flags are those of ``reactbench train`` (without ``--gpus``); every process runs the same
job, rank 0 alone writes checkpoints and logs.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from reactbench.commands.train import add_arguments, run
    from reactbench.errors import ReactbenchError

    parser = argparse.ArgumentParser(prog="python -m reactbench.train",
                                     description="ReactDiff training (torchrun entry point)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ReactbenchError as exc:
        print(f"reactbench train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
