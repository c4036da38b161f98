"""``reactbench leaderboard``: tables from result files (never recomputes a metric)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="render result files as a Markdown / LaTeX / CSV table",
        description="Render result JSON files (or directories of them) as one table, grouped "
        "like the paper. Refuses to mix protocols, metric versions, datasets, splits, alpha.",
    )
    p.add_argument("results", nargs="+", metavar="RESULT", help="result .json files or dirs")
    p.add_argument("--format", choices=("md", "latex", "csv", "text"), default="md")
    p.add_argument("--table", choices=("offline", "online", "ablation", "all"), default="all",
                   help="which rows: one task, the ablation layout, or all (default)")
    p.add_argument("--output", default=None, help="write the table to this file (else stdout)")
    p.set_defaults(func=main)


def main(args) -> int:
    from pathlib import Path

    from reactbench.atomic import atomic_path
    from reactbench.results import read_results
    from reactbench.tables import render

    text = render(read_results(args.results), fmt=args.format, table=args.table)
    if not args.output:
        print(text, end="")
        return 0
    out = Path(args.output)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    print(f"wrote {out}")
    return 0
