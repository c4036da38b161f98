"""ReactDiff's hooks for reactbench (entry-point group ``reactbench.plugins``, see
:mod:`reactbench.plugins`): the ``reactdiff-ablation`` model group and the ``reactbench train``
and ``reactbench ablate`` commands.

reactbench imports this module to build its command line and to list models, so it imports
nothing heavy: the training and ablation code (torch) is imported when a command runs.
"""

from __future__ import annotations

import argparse
import os

from reactbench.commands._common import command_line, out_dir, parse_seeds
from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import ModelError
from reactbench.plugins import CommandHook

TRAIN_PROTOCOLS = ("react2024", "react2025", "react2026")  # job.TRAIN_PROTOCOLS (no torch here)
ABLATION_GROUP = ("reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion",
                  "reactdiff-no-video", "reactdiff-no-audio")
MODEL_GROUPS = {"reactdiff-ablation": ABLATION_GROUP}


# ----------------------------------------------------------------------------- train
def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The ``reactbench train`` flags (also those of ``python -m reactbench.train``)."""
    p.add_argument("--model", default="reactdiff",
                   help="reactdiff or a variant: reactdiff-no-mmt, -no-diffusion, -no-video, "
                   "-no-audio, -lrs")
    p.add_argument("--stage", choices=("1", "2", "all"), default="all",
                   help="1: MMT autoencoder; 2: latent diffusion (frozen MMT); all: both")
    p.add_argument("--preset", choices=("paper", "small"), default="small",
                   help="paper: the paper's widths (GPU); small: CPU in minutes")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--data", default=None,
                   help="dataset root (default: the embedded synthetic dataset of --protocol)")
    p.add_argument("--protocol", choices=TRAIN_PROTOCOLS, default="react2024",
                   help="whose data to train on: react2024 (REACT2024 layout, 25 fps clips cut "
                   "to --frames) or react2025/react2026 (MARS layout: variable-length clips at "
                   "30 fps, default data: the synthetic MARS dataset; one model serves both)")
    p.add_argument("--out", default=None, help="output folder (default: runs/<model>-<preset>, "
                   "with -mars appended for MARS data)")
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
                   help=f"frames per clip to load (default: {DEFAULT_FRAMES}; REACT2024 layout "
                   "only: MARS clips keep their lengths)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--stage1-from", default=None, metavar="MODEL_PT",
                   help="with --stage 2: take the trained MMT (stage 1) from this model file")


def train(args: argparse.Namespace) -> int:
    """Train with the parsed flags (every DDP process runs this) and print a short summary."""
    from .job import train_job  # the training stack (torch): only when training runs

    path = train_job(args.model, stage=args.stage, preset=args.preset, device=args.device,
                     data=args.data, out=args.out, resume=args.resume, seed=args.seed,
                     config=args.config, epochs=args.epochs, precision=args.precision,
                     compile=args.compile, progress=not args.no_progress,
                     half_export=args.half_export, max_steps=args.max_steps, frames=args.frames,
                     stage1_from=args.stage1_from,
                     protocol=getattr(args, "protocol", "react2024"))
    if int(os.environ.get("RANK", "0")) == 0:
        if path is not None:
            print(f"model: {path}\nevaluate it: reactbench run --model {args.model} "
                  f"--model-arg checkpoint={path}")
        else:
            print("stage 1 done; continue with --stage 2 (same --out)")
    return 0


TRAIN = CommandHook(
    help="train ReactDiff (stage 1 MMT, stage 2 latent DDIM)",
    description="Train ReactDiff or one of its variants on the train split (validation on "
    "the val split only). Writes OUT/checkpoint.pt (resumable), OUT/model.pt, loss.csv "
    "and loss.png.",
    add_arguments=add_train_arguments, run=train)


# ----------------------------------------------------------------------------- ablate
def add_ablate_arguments(p: argparse.ArgumentParser) -> None:
    """The ``reactbench ablate`` flags."""
    p.add_argument("--model", default="reactdiff", choices=("reactdiff",),
                   help="the model whose ablations to run")
    p.add_argument("--variants", default=None, metavar="V[,V...]",
                   help="subset of variants (default: full, no-mmt, no-diffusion, no-video, "
                   "no-audio, lrs)")
    p.add_argument("--preset", choices=("paper", "small"), default="small")
    p.add_argument("--data", default=None, help="dataset root (default: synthetic)")
    p.add_argument("--split", default="test")
    p.add_argument("--task", choices=("offline", "online"), default="offline")
    p.add_argument("--samples", type=int, default=10, metavar="ALPHA")
    p.add_argument("--seed", default="0", help="generation seed(s)")
    p.add_argument("--train-seeds", default=None, metavar="K[,K...]",
                   help="train every variant once per seed (runs/<variant>-<preset>-seed<K>), "
                   "evaluate each into OUT/train-seed<K>/ and show each variant as one row, "
                   "mean ± std over the seeds (default: one run per variant, "
                   "runs/<variant>-<preset>, the shipped checkpoint for the full small model)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--runs", default="runs", help="folder of the variants' training outputs")
    p.add_argument("--retrain", action="store_true",
                   help="train the full small model into RUNS instead of using the shipped "
                   "checkpoint; a run folder that already holds a trained model.pt is "
                   "refused (remove it to train again)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per stage when training")
    p.add_argument("--out", default=None, help="results folder (default: runs/<timestamp>)")
    p.add_argument("--no-progress", action="store_true")


def variant_names(text: str | None) -> tuple[str, ...] | None:
    """``--variants`` -> registered model names (``full`` and ``no-mmt`` become ``reactdiff``
    and ``reactdiff-no-mmt``); None (flag absent): None, every variant."""
    if text is None:
        return None
    variants = tuple(v.strip() for v in text.split(","))
    if not all(variants):
        raise ModelError(f"--variants {text!r}: expected a comma list of variant "
                         "names (e.g. no-mmt,no-video); omit it for all variants")
    # "full" (as the help lists it) is the unablated model, registered as "reactdiff"
    return tuple("reactdiff" if v == "full" else v if v.startswith("reactdiff")
                 else f"reactdiff-{v}" for v in variants)


def ablate(args: argparse.Namespace) -> int:
    """Train missing variants, evaluate them and print the ablation table."""
    from .ablation import ABLATION_VARIANTS  # torch: only when ablations run
    from .ablation import ablate as run_ablation

    train_seeds = None
    if args.train_seeds is not None:
        train_seeds = parse_seeds(args.train_seeds, flag="--train-seeds")
    out = out_dir(args.out)
    records, table = run_ablation(
        variants=variant_names(args.variants) or ABLATION_VARIANTS, preset=args.preset,
        data=args.data, device=args.device, runs=args.runs, out=out, split=args.split,
        alpha=args.samples, seeds=parse_seeds(args.seed), task=args.task,
        retrain=args.retrain, epochs=args.epochs, train_seeds=train_seeds,
        progress=not args.no_progress, command=command_line(args))
    print()
    print(table.read_text())
    print(f"{len(records)} result file(s) and {table.name} in {out}")
    return 0


ABLATE = CommandHook(
    help="ReactDiff ablations: train missing variants, evaluate, table",
    description="Train every ReactDiff variant that has no checkpoint under RUNS "
    "(runs/<variant>-<preset>/model.pt), evaluate all of them with the same harness as "
    "`reactbench run` and write OUT/ablation.md.",
    add_arguments=add_ablate_arguments, run=ablate)
