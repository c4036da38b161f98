"""``reactbench plot``: one speaker row's behaviour and the reactions, as a PNG."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="plot one speaker row: valence/arousal curves and AU activity (PNG)",
        description="Draw the speaker's, the real listener's and the generated listeners' "
        "valence and arousal over time and their AU activity, for one speaker row. Give a "
        "result file (its cached predictions are used) or a predictions file (+ --data/--split). "
        "The predictions must fit the split (rows, speaker ids, frames, finite values).",
    )
    p.add_argument("source", metavar="RESULT_OR_PREDICTIONS")
    p.add_argument("--speaker", type=int, required=True, metavar="K", help="speaker row index")
    p.add_argument("--out", default=None,
                   help="PNG path (default: <name>_speaker<K>.png); an existing file is refused "
                   "unless --force")
    p.add_argument("--force", action="store_true", help="replace an existing PNG")
    p.add_argument("--data", default=None, help="dataset root (predictions files only)")
    p.add_argument("--split", default=None, help="split (predictions files; default test)")
    p.add_argument("--frames", type=int, default=None, metavar="T",
                   help="frames per clip the predictions hold (predictions files; default 750, "
                   "as in `reactbench score`; a result file records its own)")
    p.add_argument("--generations", type=int, default=None, metavar="G",
                   help="generated reactions drawn, 1..alpha (default: 3, or alpha if fewer)")
    p.set_defaults(func=main)


def main(args) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.plotting import plot_source

    path = plot_source(args.source, speaker=args.speaker, out=args.out, data=args.data,
                       split=args.split, frames=args.frames, generations=args.generations,
                       force=args.force)
    print(f"wrote {path}")
    return 0
