"""Leaderboard tables from result records (never recomputing a metric): Markdown, LaTeX
(booktabs, best value bold), CSV, and the plain-text summary ``reactbench run`` prints.

Grouped like the ReactDiff paper: Appropriateness (FRCorr, FRDist), Diversity (FRDiv, FRVar,
FRDvs), Realism (FRRea-feat), Synchrony (FRSyn); arrows give each metric's direction (from the
result files); ``value ± h`` where h is the half-width of the 95% bootstrap interval (or, for
results over several seeds without bootstrap, the standard deviation over seeds).

Results that cannot share a table are refused: different protocols or metric versions,
datasets (identity without the root path), splits, alpha, online window lengths, or realism
feature spaces. Text from result files (model names, paths) is escaped for Markdown and LaTeX.
A row whose result file no longer matches the digest of its scored content is marked ``‡``
(in every format) and named in a note.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from reactbench.atomic import atomic_path, check_target
from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import ResultsError, param
from reactbench.metrics.spec import GROUP_ORDER, METRICS, metric_spec
from reactbench.protocols import record_protocol
from reactbench.results import validate_record
from reactbench.table_notes import (
    EDITED,
    UNCHECKED,
    edited_note,
    edited_sources,
    md_escape,
    online_note,
    spread_note,
    targets_notes,
    tex_escape,
    unchecked,
)

TABLE_KINDS = ("offline", "online", "ablation", "all")
FORMATS = ("md", "latex", "csv", "text")

# columns, labels and decimals come from the metric table (reactbench.metrics.spec); a metric
# the table does not know (a plug-in scorer's) goes to "Other" with 4 decimals
GROUPS = tuple((g, tuple(m for m, s in METRICS.items() if s.group == g)) for g in GROUP_ORDER)
ARROWS = {"higher": "↑", "lower": "↓"}
LATEX_ARROWS = {"higher": r"$\uparrow$", "lower": r"$\downarrow$"}

IDENTITY_IGNORED = ("root", "path", "rows")


def _name(rec: dict) -> str:
    return rec["model"]["name"]


def record_source(rec: dict) -> str:
    """How messages name a record: its file (or a merged row's runs), else its model."""
    return rec.get("_path", _name(rec))


def dataset_key(rec: dict) -> dict:
    """The record's dataset identity without fields that do not change the data (root...)."""
    return {k: v for k, v in rec["dataset"].items() if k not in IDENTITY_IGNORED}


def _differs(a, b) -> tuple[str, str]:
    """How ``a`` and ``b`` differ, as text: for two dicts only the keys whose values differ
    (``frames 250`` vs ``frames 750``), otherwise the whole values."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return repr(a), repr(b)
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return (", ".join(f"{k} {a.get(k)!r}" for k in keys),
            ", ".join(f"{k} {b.get(k)!r}" for k in keys))


def targets_key(rec: dict) -> dict:
    """The record's per-sample target lists (rule, seed, K, alignment, ids hash; empty for
    protocols scored against a neighbour matrix), without the file that lists them."""
    # the deviation label follows from gt_align; records written without it still combine
    return {k: v for k, v in (rec.get("targets") or {}).items()
            if k not in ("file", "deviation")}


def _versions(rec: dict) -> dict:
    return {m: e.get("version") for m, e in rec["metrics"].items()}


def _window(rec: dict) -> int | None:
    """The online window length (None offline, or not recorded)."""
    return rec.get("window") if rec["task"] == "online" else None


def _check_windows(chosen: Sequence[dict]) -> None:
    """Refuse online rows generated with different window lengths."""
    online = [r for r in chosen if r["task"] == "online"]
    for r in online[1:]:
        if _window(r) != _window(online[0]):
            raise ResultsError(
                "refusing to mix online window lengths in one table: "
                f"{record_source(online[0])} has window {_window(online[0])!r} but "
                f"{record_source(r)} has window {_window(r)!r} (frames per generation call; "
                "expected the same for every online result)"
            )


def _version_clash(a: dict, b: dict) -> str | None:
    """The first metric both records report with different versions (None: compatible)."""
    va, vb = _versions(a), _versions(b)
    for m in va:
        if m in vb and va[m] != vb[m]:
            return m
    return None


def _memory_source(rec: object, i: int, n: int) -> str:
    """How an error names a record built in memory: its place and, when readable, its model."""
    model = rec.get("model") if isinstance(rec, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    return f"result record {i + 1} of {n}" + (f" (model {name!r})" if name else "")


def select(records: Sequence[dict], table: str = "all") -> list[dict]:
    """The records a table shows, checked for compatibility, in display order.

    Each record is checked once, where it enters: records from ``read_result`` (they carry
    ``_path``) were checked when read; others (built in memory) are checked here by
    ``validate_record``, the error naming the record's place and model.
    """
    if table not in TABLE_KINDS:
        raise ResultsError(f"{param('table')} must be one of {TABLE_KINDS}, not {table!r}")
    if not records:
        raise ResultsError("no result files given")
    for i, r in enumerate(records):
        if not (isinstance(r, dict) and "_path" in r):  # read_result checked those already
            validate_record(r, _memory_source(r, i, len(records)))
    if table in ("offline", "online"):
        chosen = [r for r in records if r["task"] == table]
    elif table == "ablation":
        chosen = [r for r in records if r["task"] == "offline" and not r["model"]["reference"]]
    else:
        chosen = list(records)
    if not chosen:
        tasks = sorted({r["task"] for r in records})
        raise ResultsError(f"no {table} results among the files given (tasks present: {tasks})")
    first = chosen[0]
    checks = (
        ("protocol", lambda r: r["protocol"], "protocols"),
        ("protocol version", lambda r: record_protocol(r)[1], "protocol versions"),
        ("dataset", dataset_key, "datasets"),
        ("split", lambda r: r["split"], "splits"),
        ("alpha", lambda r: r["alpha"], "alpha values (FRCorr/FRDist sum over generations)"),
        ("targets", targets_key, "target lists or alignments"),
    )
    for what, get, plural in checks:
        for r in chosen[1:]:
            if get(r) != get(first):
                mine, theirs = _differs(get(first), get(r))
                raise ResultsError(
                    f"refusing to mix {plural} in one table: {record_source(first)} has {what} "
                    f"{mine} but {record_source(r)} has {theirs}"
                )
    _check_windows(chosen)
    with_feats = [r for r in chosen if r["realism_features"] is not None]  # None: no FRRea
    for r in with_feats[1:]:
        if r["realism_features"] != with_feats[0]["realism_features"]:
            raise ResultsError(
                "refusing to mix FRRea-feat feature spaces in one table: "
                f"{record_source(with_feats[0])} has realism features "
                f"{with_feats[0]['realism_features']!r} but {record_source(r)} has "
                f"{r['realism_features']!r}"
            )
    for r in chosen[1:]:
        m = _version_clash(first, r)
        if m is not None:
            raise ResultsError(
                f"refusing to mix metric versions in one table: {record_source(first)} has {m} "
                f"version {_versions(first)[m]!r} but {record_source(r)} has {_versions(r)[m]!r}"
            )
    seen: dict[tuple, str] = {}
    for r in chosen:
        key = (_name(r), r["task"])
        if key in seen:
            raise ResultsError(
                f"two results for model {_name(r)!r} ({r['task']}): {seen[key]} and "
                f"{record_source(r)}; pass one of them, or {param('merge_runs')} to show runs of "
                "one model (e.g. training seeds) as one row, mean ± std"
            )
        seen[key] = record_source(r)

    def order(item):
        i, r = item
        rank = row_style(r)[2]
        place = (0, rank) if rank is not None else (1, 0)  # unordered rows last, as given
        reference = 0 if r["model"]["reference"] else 1
        return (r["task"] != "offline", reference, place, i)

    return [r for _, r in sorted(enumerate(chosen), key=order)]


def metric_columns(records: Sequence[dict]) -> list[tuple[str, str, str]]:
    """[(group, metric, direction)] for metrics present in any record, in group order."""
    present = {m: e["direction"] for r in records for m, e in r["metrics"].items()}
    cols = [(g, m, present[m]) for g, ms in GROUPS for m in ms if m in present]
    known = {m for _, ms in GROUPS for m in ms}
    cols += [("Other", m, d) for m, d in present.items() if m not in known]
    return cols


def row_style(rec: dict) -> tuple[str, str | None, int | None]:
    """(display name, ablation label or None, table order or None) of a record's row, from its
    model entry (ModelInfo.display, ablation_label, table_order); a record without them shows
    its model name and sorts after the ordered rows."""
    model = rec["model"]
    return (model.get("display") or model["name"], model.get("ablation_label"),
            model.get("table_order"))


def _display(rec: dict, table: str) -> str:
    display, ablation_label, _ = row_style(rec)
    if table == "ablation" and ablation_label:
        return ablation_label
    return display


def _label(metric: str) -> str:
    """Column label of a metric (``FRRea`` -> ``FRRea-feat``); unknown metrics keep their name."""
    spec = metric_spec(metric)
    return spec.label if spec else metric


def _half_width(entry: dict) -> float | None:
    if entry.get("ci"):
        lo, hi = entry["ci"]
        return (hi - lo) / 2
    return entry.get("std")


def _cell(rec: dict, metric: str) -> tuple[str, float | None]:
    entry = rec["metrics"].get(metric)
    if entry is None or entry.get("value") is None:
        return "-", None
    spec = metric_spec(metric)
    p = spec.precision if spec else 4
    value = round(float(entry["value"]), p)
    text = f"{value:.{p}f}"
    h = _half_width(entry)
    if h is not None:
        text += f" ± {h:.{p}f}"
    return text, value


def _best(records, cols) -> dict[tuple[str, str], float]:
    """Best displayed value per (task, metric) among non-reference rows (when they differ)."""
    best = {}
    for task in {r["task"] for r in records}:
        for _, m, d in cols:
            vals = [_cell(r, m)[1] for r in records
                    if r["task"] == task and not r["model"]["reference"]]
            vals = [v for v in vals if v is not None]
            if len(set(vals)) > 1:  # a column where every model ties marks nothing
                best[(task, m)] = max(vals) if d == "higher" else min(vals)
    return best


def _labels(records: Sequence[dict], table: str, esc=str) -> list[str]:
    """Row labels: display names escaped with ``esc``, with the task when the table mixes
    tasks."""
    mixed_tasks = len({r["task"] for r in records}) > 1
    return [esc(_display(r, table)) + (f" [{r['task']}]" if mixed_tasks else "")
            for r in records]


def _rows(records, cols, table, bold, esc=str, mark: bool = False) -> list[list[str]]:
    """Cells (escaped with ``esc``); ``mark``: online rows without a causality check get
    UNCHECKED after the name. Rows of edited result files get EDITED after the name."""
    best = _best(records, cols)
    rows = []
    for r, name in zip(records, _labels(records, table, esc)):
        if mark and unchecked(r):
            name += f" {esc(UNCHECKED)}"
        if edited_sources(r):
            name += f" {esc(EDITED)}"
        row = [name]
        for _, m, _d in cols:
            text, value = _cell(r, m)
            text = esc(text)
            if (value is not None and best.get((r["task"], m)) == value
                    and not r["model"]["reference"]):
                text = bold(text)
            row.append(text)
        rows.append(row)
    return rows


def caption(records: Sequence[dict], table: str) -> str:
    r = records[0]
    ds = r["dataset"]
    gen = ds.get("generator")
    if gen:
        data = f"synthetic data (generator {gen.get('version')}, seed {gen.get('seed')})"
    else:
        data = f"dataset {Path(str(ds.get('root', '?'))).name}"
    tasks = sorted({x["task"] for x in records})
    what = {"ablation": "Ablation (offline)"}.get(table, " + ".join(t.capitalize() for t in tasks))
    seeds = sorted({s for x in records for s in x["seeds"]})
    frames = ds.get("frames")  # shown when clips were cut shorter than the default
    cut = f", first {frames} frames per clip" if frames and frames != DEFAULT_FRAMES else ""
    return (
        f"{what} results, split {r['split']}, {data}{cut}, protocol {r['protocol']}, "
        f"alpha = {r['alpha']}, seed(s) {', '.join(map(str, seeds)) or '-'}"
    )


def notes(records: Sequence[dict], table: str = "all") -> list[str]:
    """The Markdown notes under a table of ``records`` (as ``select`` returns them)."""
    out = []
    changed = edited_note(records, md_escape)
    if changed:
        out.append(changed)
    spread = spread_note(records, _labels(records, table, md_escape))
    if spread:
        out.append(spread)
    refs = list(dict.fromkeys(md_escape(_display(r, "all")) for r in records
                              if r["model"]["reference"]))
    if len(refs) == 1:
        out.append(f"{refs[0]} is a reference row (the real listener reactions), not a model.")
    elif refs:
        out.append(f"{', '.join(refs)} are reference rows (they see the real listener "
                   "reactions), not models.")
    if any("FRRea" in r["metrics"] for r in records):
        feats = next(r["realism_features"] for r in records if "FRRea" in r["metrics"])
        out.append(f"FRRea-feat: Frechet distance on reactbench features ({md_escape(feats)}), "
                   "not image FID.")
    online = [r for r in records if r["task"] == "online"]
    if online:
        out.append(online_note(online))
    if records[0]["protocol"] == "official":
        out.append("Official protocol: FRCorr/FRDist sum over the alpha generations; "
                   "FRSyn scores generation 0.")
    out += targets_notes(records)
    return out


def _header(cols, arrows, esc=str) -> list[str]:
    return ["Method"] + [f"{esc(_label(m))} {arrows[d]}" for _, m, d in cols]


def render(records: Sequence[dict], fmt: str = "md", table: str = "all") -> str:
    """Render a table of result records in ``fmt`` (md, latex, csv, text)."""
    if fmt not in FORMATS:
        raise ResultsError(f"{param('fmt')} must be one of {FORMATS}, not {fmt!r}")
    recs = select(records, table)
    cols = metric_columns(recs)
    if fmt == "csv":
        return _csv(recs, cols, table)
    if fmt == "latex":
        return _latex(recs, cols, table)

    if fmt == "text":
        rows = _rows(recs, cols, table, lambda s: s + " *")
        text = tabulate(rows, headers=_header(cols, ARROWS), tablefmt="simple",
                        disable_numparse=True)
        if any(cell.endswith(" *") for row in rows for cell in row[1:]):
            text += "\n(* best among models)"
        changed = edited_note(recs)
        if changed:
            text += f"\n({changed})"
        return text + "\n"
    rows = _rows(recs, cols, table, lambda s: f"**{s}**", esc=md_escape, mark=True)
    body = tabulate(rows, headers=_header(cols, ARROWS, md_escape), tablefmt="pipe",
                    disable_numparse=True, colalign=("left",) + ("right",) * len(cols))
    groups = "; ".join(
        f"{g}: {', '.join(_label(m) for m in ms if any(c[1] == m for c in cols))}"
        for g, ms in GROUPS if any(c[1] in ms for c in cols)
    )
    lines = [f"**{md_escape(caption(recs, table))}**", "", f"Groups: {groups}.", "", body, ""]
    lines += [f"- {n}" for n in notes(recs, table)]
    return "\n".join(lines).rstrip() + "\n"


def check_table_output(path: str | Path, *, force: bool = False,
                       inputs: Sequence[str | Path] = ()) -> Path:
    """Raise ResultsError unless a table may be written to ``path``: not a directory nor under
    a file, not an existing file unless ``force``, and never one of the result files
    ``inputs`` (not even with ``force``). Returns the path."""
    path = Path(path)
    if path.exists():
        for f in map(Path, inputs):
            if f.exists() and path.samefile(f):
                raise ResultsError(f"{param('output', path)} is one of the result files read; "
                                   "refusing to replace it with a table")
    return check_target(path, overwrite=force, what=param("output"), error=ResultsError,
                        hint=f"pass {param('force')} to replace it")


def write_table(text: str, path: str | Path, *, force: bool = False,
                inputs: Sequence[str | Path] = ()) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see ``check_table_output``."""
    path = check_table_output(path, force=force, inputs=inputs)
    with atomic_path(path, overwrite=force, what=param("output"), error=ResultsError,
                     hint=f"pass {param('force')} to replace it") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _latex(recs, cols, table) -> str:
    rows = _rows(recs, cols, table, lambda s: "\\textbf{" + s + "}", esc=tex_escape,
                 mark=True)
    spans = []
    for g, _ms in GROUPS + (("Other", ()),):
        n = sum(1 for c in cols if c[0] == g)
        if n:
            spans.append((g, n))
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{" + tex_escape(caption(recs, table)) + "}",
        r"\label{tab:reactbench-" + table + "}",
        r"\begin{tabular}{l" + "c" * len(cols) + "}",
        r"\toprule",
    ]
    head, rules, col = [""], [], 2
    for g, n in spans:
        head.append(rf"\multicolumn{{{n}}}{{c}}{{{g}}}")
        rules.append(rf"\cmidrule(lr){{{col}-{col + n - 1}}}")
        col += n
    lines.append(" & ".join(head) + r" \\")
    lines.append(" ".join(rules))
    lines.append(" & ".join(_header(cols, LATEX_ARROWS, tex_escape)) + r" \\")
    lines.append(r"\midrule")
    for i, (rec, row) in enumerate(zip(recs, rows)):
        lines.append(" & ".join(row) + r" \\")
        nxt = recs[i + 1] if i + 1 < len(recs) else None
        if nxt is not None and (rec["model"]["reference"] != nxt["model"]["reference"]
                                or rec["task"] != nxt["task"]):
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if any(unchecked(r) for r in recs):
        lines.append(r"\par\smallskip{\footnotesize " + tex_escape(UNCHECKED) + " online "
                     r"causality not verified (scored from saved predictions, or no passed "
                     r"check recorded).}")
    changed = edited_note(recs)
    if changed:
        lines.append(r"\par\smallskip{\footnotesize " + tex_escape(changed) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _csv(recs, cols, table) -> str:
    """One row per record: names, task, protocol, reference flag, the online window and whether a
    causality check passed (1/0; both empty offline), the number of runs merged into the row
    (1 unless merged), then value, ci_low, ci_high and std (over generation seeds, or over
    merged runs) per metric."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["method", "model", "task", "protocol", "reference", "window",
              "causality_checked", "runs"]
    for _, m, _d in cols:
        label = _label(m)
        header += [label, f"{label}_ci_low", f"{label}_ci_high", f"{label}_std"]
    w.writerow(header)
    for r in recs:
        online = r["task"] == "online"
        window = _window(r)
        method = _display(r, table) + (f" {EDITED}" if edited_sources(r) else "")
        row = [method, _name(r), r["task"], r["protocol"], int(r["model"]["reference"]),
               "" if window is None else int(window),
               int(not unchecked(r)) if online else "", len(r.get("runs") or [r])]
        for _, m, _d in cols:
            e = r["metrics"].get(m) or {}
            ci = e.get("ci") or [None, None]
            row += [_num(e.get("value")), _num(ci[0]), _num(ci[1]), _num(e.get("std"))]
        w.writerow(row)
    return buf.getvalue()


def _num(x) -> str:
    return "" if x is None else repr(float(x))
