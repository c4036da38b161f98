"""Rows over several training runs: result records of one model (e.g. trained with seeds 0, 1
and 2) merged into one table row.

A merged record is the first run's record with, per metric, ``value`` = the mean over the runs
and ``std`` = their standard deviation (ddof 1; each run's value is already its mean over its
generation seeds), no bootstrap interval, no ``extra`` or ``per_seed``, and ``runs``: one
{``source``, ``params``, ``edited``} per run (``edited``: the run's file does not match
its digest, :func:`reactbench.results.edited`). A metric missing (value None) in any run
has value and std None; an online row keeps its causality check only if every run passed one.
It lives in memory only (tables, ``reactbench leaderboard --merge-runs``, ``reactbench ablate
--train-seeds``); the result files stay as written.

Runs merge only when they are runs of one evaluation: same model (spec, class, version), task,
split, alpha, generation seeds, protocol (name and version), online window, dataset, FRRea-feat
features and metrics (names and versions). Model parameters may differ (the checkpoint of each
run).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from reactbench.errors import ResultsError, param
from reactbench.protocols import record_protocol
from reactbench.registry import canonical_class
from reactbench.results import edited
from reactbench.tables import dataset_key, record_source

# what two runs must share, as (field, how to read it from a record)
SHARED = (
    ("model spec", lambda r: r["model"]["spec"]),
    ("model class", lambda r: canonical_class(r["model"]["class"])),  # old spelling too
    ("model version", lambda r: r["model"]["version"]),
    ("split", lambda r: r["split"]),
    ("alpha", lambda r: r["alpha"]),
    ("generation seeds", lambda r: r["seeds"]),
    ("protocol", lambda r: r["protocol"]),
    ("protocol version", lambda r: record_protocol(r)[1]),
    ("window", lambda r: r.get("window")),
    ("dataset", dataset_key),
    ("realism features", lambda r: r["realism_features"]),
    ("metrics", lambda r: {m: e.get("version") for m, e in r["metrics"].items()}),
)


def merge_runs(records: Sequence[dict]) -> list[dict]:
    """``records`` with those of the same (model name, task) merged into one (see the module
    doc), in the order of each group's first record; a ResultsError names the two files and
    the field when runs of one group disagree."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["model"]["name"], r["task"]), []).append(r)
    return [rs[0] if len(rs) == 1 else merged(rs) for rs in groups.values()]


def merged(runs: Sequence[dict]) -> dict:
    """One record for several runs of one model: mean and std (ddof 1) per metric."""
    first = runs[0]
    for what, get in SHARED:
        for r in runs[1:]:
            if get(r) != get(first):
                raise ResultsError(
                    f"cannot merge {record_source(first)} and {record_source(r)} into one "
                    f"row of {first['model']['name']!r}: their {what} differ ({get(first)!r} "
                    f"vs {get(r)!r}); {param('merge_runs')} averages runs of one evaluation "
                    "(e.g. training seeds)"
                )
    out = copy.deepcopy({k: v for k, v in first.items() if k != "_path"})
    for m, entry in out["metrics"].items():
        vals = [r["metrics"][m].get("value") for r in runs]
        entry["ci"] = None
        if any(v is None for v in vals):  # not computed in some run: not shown
            entry["value"], entry["std"] = None, None
            continue
        entry["value"] = float(np.mean(vals))
        entry["std"] = float(np.std(vals, ddof=1))
    out["bootstrap"] = 0
    out["extra"] = {}
    out.pop("per_seed", None)
    if out["task"] == "online" and not all((r.get("causality") or {}).get("passed")
                                           for r in runs):
        out["causality"] = None  # the row is marked unchecked unless every run passed
    out.pop("digest", None)  # the row is no file's record; its runs' digests are judged here
    out["runs"] = [{"source": record_source(r), "params": r["model"]["params"],
                    "edited": edited(r)} for r in runs]
    out["_path"] = f"{len(runs)} runs of {first['model']['name']} (" + ", ".join(
        record_source(r) for r in runs) + ")"
    return out
