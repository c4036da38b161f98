"""``reactbench leaderboard``: tables from result files (never recomputes a metric)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="render result files as a Markdown / LaTeX / CSV table",
        description="Render result JSON files (or directories of them) as one table, grouped "
        "like the paper. Refuses to mix protocols, metric versions, datasets (clip lengths "
        "included), splits, alpha, online windows or FRRea feature spaces. A result file "
        "changed after reactbench wrote it (its digest does not match) is marked ‡ and named "
        "on stderr.",
    )
    p.add_argument("results", nargs="+", metavar="RESULT", help="result .json files or dirs")
    p.add_argument("--format", choices=("md", "latex", "csv", "text"), default="md")
    p.add_argument("--table", choices=("offline", "online", "ablation", "all"), default="all",
                   help="which rows: one task, the ablation layout, or all (default)")
    p.add_argument("--merge-runs", action="store_true",
                   help="show several result files of one model (e.g. training seeds) as one "
                   "row: mean ± standard deviation over them (without it, two results of one "
                   "model are refused)")
    p.add_argument("--output", default=None,
                   help="write the table to this file (else stdout); an existing file is "
                   "refused unless --force")
    p.add_argument("--force", action="store_true",
                   help="with --output: replace an existing file (never one of the result "
                   "files read)")
    p.set_defaults(func=main)


def main(args) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.errors import ResultsError
    from reactbench.merge import merge_runs
    from reactbench.results import edit_finding, read_results, result_files
    from reactbench.table_notes import EDITED
    from reactbench.tables import check_table_output, render, write_table

    if args.output is not None and not args.output.strip():
        raise ResultsError("--output is empty; give a file path, or omit --output to print "
                           "the table")
    files = result_files(args.results)
    if args.output:  # a bad --output fails before any file is read
        check_table_output(args.output, force=args.force, inputs=files)
    records = read_results(files)
    for rec in records:
        finding = edit_finding(rec)
        if finding:
            print(f"reactbench leaderboard: warning: {rec['_path']}: {finding} (the file was "
                  f"edited after reactbench wrote it); its row is marked {EDITED}",
                  file=sys.stderr)
    if args.merge_runs:
        records = merge_runs(records)
    text = render(records, fmt=args.format, table=args.table)
    if not args.output:
        print(text, end="")
        return 0
    out = write_table(text, args.output, force=args.force, inputs=files)
    print(f"wrote {out}")
    return 0
