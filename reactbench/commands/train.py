"""``reactbench train``: train a model through the train hook of an installed plug-in.

The flags are the plug-in's (:mod:`reactbench.plugins`; ReactDiff's: two stages on a dataset's
train/val splits). ``--gpus G`` (G > 1) relaunches the same command under ``torchrun`` (one
process per GPU, DDP); ``torchrun --nproc_per_node=G -m reactbench.train ...`` is the equivalent
direct call.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from reactbench.commands._common import DefaultsHelpFormatter
from reactbench.errors import ModelError, ReactbenchError
from reactbench.plugins import add_command, add_hook_arguments, command_hooks, no_hook_message

NOT_ARGUMENTS = ("gpus", "func", "command", "hook", "plugin", "rest")  # not passed to torchrun


def add_arguments(p: argparse.ArgumentParser, hooks: dict | None = None) -> None:
    """The training flags of the installed plug-ins, without ``--gpus`` (the flags of ``python
    -m reactbench.train``; ``hooks``: :func:`reactbench.plugins.command_hooks` when already
    looked up)."""
    hooks = command_hooks("train") if hooks is None else hooks
    if hooks:
        add_hook_arguments(p, hooks, DefaultsHelpFormatter)


def add_gpus(p: argparse.ArgumentParser) -> None:
    """``--gpus``: the command's own flag, after the plug-in's."""
    p.add_argument("--gpus", type=int, default=1,
                   help="GPUs on this host; > 1 relaunches under torchrun (DDP, --device cuda)")


def register(sub) -> None:
    p = add_command(sub, "train", DefaultsHelpFormatter, common=add_gpus)
    p.set_defaults(func=main)


def torchrun_command(args) -> list[str]:
    """The ``torchrun`` command line equivalent to ``args`` (without --gpus)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={args.gpus}", "-m", "reactbench.train"]
    if getattr(args, "plugin", None):  # several plug-ins train: the chosen one comes first
        cmd.append(args.plugin)
    for key, value in sorted(vars(args).items()):
        if key in NOT_ARGUMENTS or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    return cmd


def main(args) -> int:
    if getattr(args, "hook", None) is None:
        raise ReactbenchError(no_hook_message("train"))
    if args.gpus < 1:
        raise ModelError(f"--gpus {args.gpus}: expected the number of GPUs to train on, >= 1")
    if args.gpus > 1 and "LOCAL_RANK" not in os.environ:
        if getattr(args, "device", "cuda") != "cuda":
            raise ModelError("--gpus > 1 trains with one process per GPU: add --device cuda")
        return subprocess.call(torchrun_command(args))
    return run(args)


def run(args) -> int:
    """Run the chosen plug-in's train hook with the parsed flags (every DDP process)."""
    if getattr(args, "hook", None) is None:
        raise ReactbenchError(no_hook_message("train"))
    return int(args.hook.run(args) or 0)
