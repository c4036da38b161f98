"""Scoring saved predictions (no model code): validate them against the split before any
metric runs, score them, and write a result file of kind "score"."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from reactbench.data import dataset_identity, load_split, resolve_data
from reactbench.errors import ParamNames, ReactbenchError, ResultsError, param
from reactbench.harness.cache import content_digest
from reactbench.harness.entries import saved_entries
from reactbench.harness.options import (
    check_common,
    check_protocol,
    check_score_options,
    check_window_fits,
)
from reactbench.harness.scoring import aggregate, preflight, score
from reactbench.predictions import check_predictions, check_predictions_size, load_predictions
from reactbench.protocols import OFFICIAL, Protocol
from reactbench.results import (
    check_results_dir,
    make_record,
    read_result,
    write_result,
)


def score_predictions(source, *, split: str = "test", data=None, frames: int = 750,
                      protocol: str | Protocol = OFFICIAL.name, bootstrap: int = 0,
                      metrics=None, device: str = "cpu", n_jobs: int = -1,
                      task: str = "offline", name: str | None = None, seed: int = 0,
                      out: str | Path = "runs", realism_3dmm: bool = False,
                      check_range: bool = True, progress: bool = False,
                      window: int | None = None, names: ParamNames | None = None,
                      command: list[str] | None = None) -> tuple[dict, Path]:
    """Validate saved predictions against the split (before any metric), score them and
    write a result file (kind "score") into ``out``; returns (record, path).

    ``source``: a predictions file or folder (:mod:`reactbench.predictions`), emotion
    (N, alpha, T, 25) in the split's row order. ``window``: online only, and required there:
    the window length (frames) the predictions were generated with, as declared (recorded;
    tables refuse to mix windows). ``seed``: the bootstrap's seed (recorded as
    ``bootstrap_seed``). ``names``: how notes name parameters; ``command``: the command line
    recorded (None from the library)."""
    check_common(frames=frames, bootstrap=bootstrap, device=device, metrics=metrics,
                 n_jobs=n_jobs)
    proto = check_protocol(protocol)
    check_score_options(task=task, window=window, seed=seed, name=name)
    out = check_results_dir(out)
    source = Path(source)
    check_predictions_size(source)  # from the file headers, before the split is loaded
    root = Path(resolve_data(data))
    t0 = time.perf_counter()
    split_data = load_split(root, split, frames=frames, audio=False, neighbours=True,
                            progress=progress)
    load_s = time.perf_counter() - t0
    if task == "online":
        check_window_fits(window, split_data.frames, split, "give the window the predictions "
                          f"were made with, or {param('task', 'offline')}")
    preds = load_predictions(source, speaker_ids=split_data.speaker_ids)
    check_predictions(preds, n=split_data.n, frames=split_data.frames,
                      speaker_ids=split_data.speaker_ids, check_range=check_range,
                      source=str(source))
    preds.emotion = np.asarray(preds.emotion, dtype=np.float32)
    preflight(split_data, metrics=metrics, alpha=preds.alpha, protocol=proto,
              alpha_source="predictions with alpha (the second axis)")
    name, target, model = saved_entries(source, name, task=task, split=split, protocol=proto,
                                        alpha=preds.alpha, out=out)
    if target.exists():
        raise ResultsError(f"{target} already holds a result{_holder(target, name)}; nothing "
                           f"was scored or overwritten (remove it or choose another "
                           f"{param('out')})")
    t0 = time.perf_counter()
    scores = score(preds, split_data, protocol=proto, bootstrap=bootstrap, seed=seed,
                   n_jobs=n_jobs, device=device, realism_3dmm=realism_3dmm, metrics=metrics,
                   progress=progress, names=names)
    score_s = time.perf_counter() - t0
    entries, extra, seeds, metric_timings = aggregate([(seed, scores)])
    record = make_record(
        kind="score", task=task, window=window, split=split, alpha=preds.alpha, seeds=[],
        protocol=proto, bootstrap=bootstrap, bootstrap_seed=seed,
        realism_features=getattr(scores, "realism_features", None), metrics=entries,
        extra=extra, per_seed=seeds, model=model,
        dataset={**dataset_identity(root, split), "n": split_data.n, "frames": split_data.frames},
        predictions=[{"seed": None, "path": str(source.resolve()), "key": None, "reused": True,
                      "content_sha256": content_digest(preds)}],
        causality=None, device=device,
        timings={"load": load_s, "score": score_s, "metrics": metric_timings}, command=command,
    )
    return record, write_result(record, target)


def _holder(path: Path, name: str) -> str:
    """`` (of model 'x')`` when ``path`` holds another model name than ``name``."""
    try:
        other = read_result(path)["model"]["name"]
    except ReactbenchError:
        return ""
    if other == name:
        return ""
    return (f" of model {other!r}, whose name maps to the same file name as {name!r} "
            "(file names keep only letters, digits and ._-)")
