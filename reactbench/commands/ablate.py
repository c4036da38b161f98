"""``reactbench ablate --model reactdiff``: train (if needed) and evaluate the ReactDiff variants
(w/o MMT, w/o diffusion, w/o video, w/o audio, LRS) and write the ablation table."""

from __future__ import annotations

from reactbench.commands._common import DefaultsHelpFormatter


def register(sub) -> None:
    p = sub.add_parser(
        "ablate", help="ReactDiff ablations: train missing variants, evaluate, table",
        description="Train every ReactDiff variant that has no checkpoint under RUNS "
        "(runs/<variant>-<preset>/model.pt), evaluate all of them with the same harness as "
        "`reactbench run` and write OUT/ablation.md.",
        formatter_class=DefaultsHelpFormatter)
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
    p.set_defaults(func=main)


def main(args) -> int:
    from reactbench.commands._common import out_dir, parse_seeds
    from reactbench.errors import ModelError
    from reactbench.reactdiff.ablation import ABLATION_VARIANTS, ablate

    variants = ABLATION_VARIANTS
    if args.variants is not None:
        variants = tuple(v.strip() for v in args.variants.split(","))
        if not all(variants):
            raise ModelError(f"--variants {args.variants!r}: expected a comma list of variant "
                             "names (e.g. no-mmt,no-video); omit it for all variants")
    # "full" (as the help lists it) is the unablated model, registered as "reactdiff"
    variants = tuple("reactdiff" if v == "full" else v if v.startswith("reactdiff")
                     else f"reactdiff-{v}" for v in variants)
    train_seeds = None
    if args.train_seeds is not None:
        train_seeds = parse_seeds(args.train_seeds, flag="--train-seeds")
    out = out_dir(args.out)
    records, table = ablate(variants=variants, preset=args.preset, data=args.data,
                            device=args.device, runs=args.runs, out=out, split=args.split,
                            alpha=args.samples, seeds=parse_seeds(args.seed), task=args.task,
                            retrain=args.retrain, epochs=args.epochs,
                            train_seeds=train_seeds, progress=not args.no_progress)
    print()
    print(table.read_text())
    print(f"{len(records)} result file(s) and {table.name} in {out}")
    return 0
