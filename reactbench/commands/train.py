"""``reactbench train``: train a ReactDiff model (two stages) on a dataset's train/val splits.

``--gpus G`` (G > 1) relaunches the same command under ``torchrun`` (one process per GPU, DDP);
``torchrun --nproc_per_node=G -m reactbench.train ...`` is the equivalent direct call.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from reactbench.commands._common import DefaultsHelpFormatter
from reactbench.constants import DEFAULT_FRAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The training flags (shared with ``python -m reactbench.train``)."""
    p.add_argument("--model", default="reactdiff",
                   help="reactdiff or a variant: reactdiff-no-mmt, -no-diffusion, -no-video, "
                   "-no-audio, -lrs")
    p.add_argument("--stage", choices=("1", "2", "all"), default="all",
                   help="1: MMT autoencoder; 2: latent diffusion (frozen MMT); all: both")
    p.add_argument("--preset", choices=("paper", "small"), default="small",
                   help="paper: the paper's widths (GPU); small: CPU in minutes")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--data", default=None,
                   help="dataset root (default: the embedded synthetic dataset)")
    p.add_argument("--out", default=None, help="output folder (default: runs/<model>-<preset>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default=None,
                   help='JSON file overriding the preset: {"model": {...}, "train": {...}}')
    p.add_argument("--epochs", type=int, default=None, help="epochs per stage (overrides preset)")
    p.add_argument("--max-steps", type=int, default=None, help="stop each stage after N steps")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="auto: bf16 autocast on CUDA, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument("--half-export", action="store_true",
                   help="store model.pt weights in float16 (smaller file)")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help=f"frames per clip to load (default: {DEFAULT_FRAMES})")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--stage1-from", default=None, metavar="MODEL_PT",
                   help="with --stage 2: take the trained MMT (stage 1) from this model file")


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train ReactDiff (stage 1 MMT, stage 2 latent DDIM)",
        description="Train ReactDiff or one of its variants on the train split (validation on "
        "the val split only). Writes OUT/checkpoint.pt (resumable), OUT/model.pt, loss.csv "
        "and loss.png.", formatter_class=DefaultsHelpFormatter)
    add_arguments(p)
    p.add_argument("--gpus", type=int, default=1,
                   help="GPUs on this host; > 1 relaunches under torchrun (DDP, --device cuda)")
    p.set_defaults(func=main)


def torchrun_command(args) -> list[str]:
    """The ``torchrun`` command line equivalent to ``args`` (without --gpus)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={args.gpus}", "-m", "reactbench.train"]
    for key, value in sorted(vars(args).items()):
        if key in ("gpus", "func", "command") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    return cmd


def main(args) -> int:
    from reactbench.errors import ModelError

    if args.gpus < 1:
        raise ModelError(f"--gpus {args.gpus}: expected the number of GPUs to train on, >= 1")
    if args.gpus > 1 and "LOCAL_RANK" not in os.environ:
        if args.device != "cuda":
            raise ModelError("--gpus > 1 trains with one process per GPU: add --device cuda")
        return subprocess.call(torchrun_command(args))
    return run(args)


def run(args) -> int:
    """Call the training job with the parsed flags and print a short summary."""
    from reactbench.reactdiff.job import train_job

    path = train_job(args.model, stage=args.stage, preset=args.preset, device=args.device,
                     data=args.data, out=args.out, resume=args.resume, seed=args.seed,
                     config=args.config, epochs=args.epochs, precision=args.precision,
                     compile=args.compile, progress=not args.no_progress,
                     half_export=args.half_export, max_steps=args.max_steps, frames=args.frames,
                     stage1_from=args.stage1_from)
    if int(os.environ.get("RANK", "0")) == 0:
        if path is not None:
            print(f"model: {path}\nevaluate it: reactbench run --model {args.model} "
                  f"--model-arg checkpoint={path}")
        else:
            print("stage 1 done; continue with --stage 2 (same --out)")
    return 0
