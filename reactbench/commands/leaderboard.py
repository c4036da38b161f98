"""``reactbench leaderboard``: tables from result files (never recomputes a metric)."""

from __future__ import annotations

import sys
from pathlib import Path


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
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="the table format (default: from each --output file's extension, "
                   ".md .tex .csv .txt, else md)")
    p.add_argument("--table", choices=("offline", "online", "ablation", "all"), default="all",
                   help="which rows: one task, the ablation layout, or all (default)")
    p.add_argument("--merge-runs", action="store_true",
                   help="show several result files of one model (e.g. training seeds) as one "
                   "row: mean ± standard deviation over them (without it, two results of one "
                   "model are refused)")
    p.add_argument("--output", action="append", default=None, metavar="FILE",
                   help="write the table to this file (else stdout); repeat it to write "
                   "several formats from one reading of the results; an existing file is "
                   "refused unless --force")
    p.add_argument("--force", action="store_true",
                   help="with --output: replace an existing file (never one of the result "
                   "files read)")
    p.set_defaults(func=main)


FORMATS = ("md", "latex", "csv", "text")
# the format of an --output file without --format, by its extension
EXTENSIONS = {".md": "md", ".tex": "latex", ".csv": "csv", ".txt": "text"}


def output_formats(outputs: list[str], fmt: str | None) -> list[tuple[str, str]]:
    """(path, format) of each ``--output``: ``fmt`` for all when given, else each file's
    extension (:data:`EXTENSIONS`), else md."""
    from reactbench.errors import ResultsError  # imported on use, as in main

    out = []
    for path in outputs:
        if not path.strip():
            raise ResultsError("--output is empty; give a file path, or omit --output to print "
                               "the table")
        out.append((path, fmt or EXTENSIONS.get(Path(path).suffix.lower(), "md")))
    return out


def main(args) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.errors import ResultsError
    from reactbench.merge import merge_runs
    from reactbench.results import edit_finding, read_results, result_files
    from reactbench.table_notes import EDITED
    from reactbench.tables import check_table_output, render, write_table

    outputs = output_formats(args.output or [], args.format)
    if len({Path(path).resolve() for path, _ in outputs}) < len(outputs):
        raise ResultsError("--output names the same file twice")
    files = result_files(args.results)
    for path, _ in outputs:  # a bad --output fails before any file is read
        check_table_output(path, force=args.force, inputs=files)
    records = read_results(files)
    for rec in records:
        finding = edit_finding(rec)
        if finding:
            print(f"reactbench leaderboard: warning: {rec['_path']}: {finding} (the file was "
                  f"edited after reactbench wrote it); its row is marked {EDITED}",
                  file=sys.stderr)
    if args.merge_runs:
        records = merge_runs(records)
    if not outputs:
        print(render(records, fmt=args.format or "md", table=args.table), end="")
        return 0
    texts = [(path, render(records, fmt=fmt, table=args.table)) for path, fmt in outputs]
    for path, text in texts:  # every table rendered before the first is written
        print(f"wrote {write_table(text, path, force=args.force, inputs=files)}")
    return 0
