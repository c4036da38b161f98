"""``reactbench appropriate``: build a split's neighbour (appropriateness) matrix."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "appropriate",
        help="build neighbour_emotion_<split>.npy from speaker-behaviour similarity",
        description="Build the (N, N) appropriateness matrix of a split in the official mirrored "
        "order: rows whose speakers behave alike (shift-tolerant correlation of 0.4 s-windowed "
        "emotion and MFCC sequences, see reactbench.data.appropriate) share their listeners' "
        "reactions. Prints statistics and, on synthetic data, precision/recall against the "
        "generator's true appropriateness.",
    )
    p.add_argument("--data", default=None,
                   help="dataset root (default: the embedded synthetic dataset)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, default=None, metavar="X",
                   help="absolute similarity threshold in [-1, 1] (default 0.5)")
    g.add_argument("--target-k", type=float, default=None, metavar="K",
                   help="choose the threshold for a mean of K neighbours per row, self "
                        "included")
    p.add_argument("--frames", type=int, default=750, help="frames per clip to load (750)")
    p.add_argument("--no-audio", action="store_true", help="emotion similarity only")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to write (default: <data>/neighbour_emotion_<split>.npy)")
    p.add_argument("--force", action="store_true", help="replace an existing matrix file")
    p.add_argument("--no-write", action="store_true", help="only print the statistics")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data import resolve_data
    from reactbench.data.appropriate import appropriate_split

    root = resolve_data(args.data)
    rep = appropriate_split(
        root, args.split, threshold=args.threshold, target_k=args.target_k, frames=args.frames,
        use_audio=not args.no_audio, out=args.out, force=args.force, write=not args.no_write,
        progress=True,
    )
    st = rep["stats"]
    lines = [
        f"dataset    {root} ({args.split}, N = {rep['n']} mirrored rows)",
        f"similarity {rep['similarity']}, threshold {rep['threshold']:.4f}",
        f"neighbours per row (self included): mean {st['mean']:.2f}, min {st['min']}, "
        f"max {st['max']}; symmetric: {'yes' if st['symmetric'] else 'no'}",
    ]
    t = rep["truth"]
    if t is not None:
        lines.append(
            f"vs truth   precision {t['precision']:.3f}, recall {t['recall']:.3f}, "
            f"F1 {t['f1']:.3f} (off-diagonal; {t['true_positives']} of {t['predicted']} "
            f"predicted pairs, {t['true']} true)")
    lines.append(f"wrote      {rep['path']}" if rep["written"] else "not written (--no-write)")
    print("\n".join(lines))
    return 0
