"""``reactbench score``: score saved predictions (no model code needed)."""

from __future__ import annotations

from pathlib import Path

from reactbench.commands._common import (
    add_gt_align_args,
    add_scoring_args,
    command_line,
    flag_name,
    out_dir,
    parse_metrics,
)
from reactbench.errors import ReactbenchError


def register(sub) -> None:
    p = sub.add_parser(
        "score",
        help="score saved predictions (.npy/.npz) and write a result file",
        description="Validate saved predictions against a split (shape, row order, NaN, value "
        "ranges) BEFORE any metric runs, then score them. Accepts an .npy (N, alpha, T, 25), an "
        ".npz with 'emotion' [+ 'face_3dmm', 'speaker_ids'], or a directory of per-speaker "
        "files <speaker_id>.npy (alpha, T, 25). Under --protocol react2025/react2026 "
        "(variable-length clips): an .npz with one (alpha, T_k, 25) array per clip keyed by its "
        "clip id (as `reactbench run` saves them), or a directory of <clip id>.npy files; the "
        "protocol's AU rounding is applied before scoring; --targets re-scores against the "
        "target ids of an earlier run.",
    )
    p.add_argument("--predictions", required=True, metavar="FILE_OR_DIR")
    add_scoring_args(p)
    add_gt_align_args(p)
    p.add_argument("--targets", default=None, metavar="FILE",
                   help="REACT2025/2026: score against the target ids of an earlier run: the "
                   "<result>.targets.json written beside its result, or that result file (its "
                   "hash, split, clip list, attributes and alignment are checked against "
                   "--data; default: draw them by the protocol's rule)")
    p.add_argument("--task", choices=("offline", "online"), default="offline",
                   help="the task the predictions were generated for (recorded)")
    p.add_argument("--name", default=None, help="model name in the result (default: file stem)")
    p.add_argument("--window", type=int, default=None, metavar="W",
                   help="with --task online (required there): the window length in frames the "
                   "predictions were generated with (recorded; tables refuse to mix windows)")
    p.add_argument("--seed", type=int, default=0,
                   help="bootstrap seed (recorded in the result as bootstrap_seed)")
    p.set_defaults(func=main)


def main(args) -> int:
    # imported here, not at module top: `reactbench --help` builds every command's parser, and
    # the harness and the tables load numpy and numba
    from reactbench.harness import score_clip_predictions, score_predictions
    from reactbench.protocols import get_protocol, protocol_names
    from reactbench.tables import render

    check_not_results_dir(args.predictions)
    clips = get_protocol(args.protocol).appropriateness == "targets"
    if args.targets is not None and not clips:
        per_sample = [n for n in protocol_names()
                      if get_protocol(n).appropriateness == "targets"]
        raise ReactbenchError(f"--targets {args.targets}: protocol {args.protocol!r} scores "
                              "against the neighbour matrix of the split, not per-sample "
                              f"target lists; use it with --protocol {' or '.join(per_sample)}")
    out = out_dir(args.out)
    if clips:
        record, path = score_clip_predictions(
            args.predictions, split=args.split, data=args.data, protocol=args.protocol,
            bootstrap=args.bootstrap, metrics=parse_metrics(args.metrics), device=args.device,
            n_jobs=args.jobs, task=args.task, name=args.name, seed=args.seed,
            window=args.window, out=out, check_range=not args.allow_out_of_range,
            progress=not args.no_progress, gt_align=args.gt_align,
            gt_align_checkpoint=args.gt_align_checkpoint, targets=args.targets,
            command=command_line(args))
        print()
        print(render([record], fmt="text", table="all"))
        print(f"\nwrote {path} (target ids: {record['targets']['file']})")
        return 0
    record, path = score_predictions(
        args.predictions, split=args.split, data=args.data, frames=args.frames,
        protocol=args.protocol, bootstrap=args.bootstrap, metrics=parse_metrics(args.metrics),
        device=args.device, n_jobs=args.jobs, task=args.task, name=args.name, seed=args.seed,
        window=args.window,
        out=out, realism_3dmm=args.realism_3dmm, check_range=not args.allow_out_of_range,
        progress=not args.no_progress, names=flag_name, command=command_line(args),
    )
    print()
    print(render([record], fmt="text", table="all"))
    print(f"\nwrote {path}")
    return 0


def check_not_results_dir(path: str) -> None:
    """A results directory (``runs/<timestamp>``) holds no predictions: name the .npz files its
    runs saved instead of only saying that none are there."""
    # imported here for `reactbench --help` start-up (both load numpy)
    from reactbench.predictions import PredictionsError
    from reactbench.results import read_result

    folder = Path(path)
    if not folder.is_dir() or any(folder.glob("*.np[yz]")) or not any(folder.glob("*.json")):
        return
    saved = []
    for file in sorted(folder.glob("*.json")):
        try:
            record = read_result(file)
        except ReactbenchError:
            continue
        saved += [f"  {record['model']['name']} seed {p['seed']}: {p['path']}"
                  for p in record.get("predictions") or [] if p.get("path")]
    if saved:
        raise PredictionsError(f"{folder} holds result files, not predictions; pass one of the "
                               "predictions files its runs saved:\n" + "\n".join(saved))
