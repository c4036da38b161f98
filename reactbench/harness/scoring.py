"""Scoring: predictions -> metric values under a protocol, the checks made before any model
work (preflight), and the aggregation of per-seed scores into result-record entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reactbench.errors import ParamNames, ReactbenchError, param, render_params
from reactbench.harness.options import RunOptions, check_metric_names, check_protocol
from reactbench.metrics import warm
from reactbench.metrics.api import MetricScores, compute_metrics
from reactbench.metrics.spec import METRIC_NAMES, direction, readers
from reactbench.predictions import Predictions
from reactbench.protocols import Protocol
from reactbench.results import metric_entry


def start_warmup(opt: RunOptions) -> None:
    """Compile the kernels of the run's metrics in the background while the data load (once
    per machine: :mod:`reactbench.metrics.warm`); :func:`wait_warmup` joins them."""
    proto = opt.scoring_protocol
    metrics = list(opt.metrics) if opt.metrics else list(proto.metrics)
    warm.start(metrics, [proto.name])


def wait_warmup() -> None:
    """Wait for the kernels :func:`start_warmup` is compiling. The runners call it once the
    data are loaded, before the first model: compiling beside a model's generation would share
    the cores with its threads (torch's OpenMP threads slow down far more than their share when
    another process takes a core)."""
    warm.wait_pending()


def score(preds: Predictions, data, *, protocol: str | Protocol, bootstrap: int, seed: int,
          n_jobs: int, device: str, realism_3dmm: bool, metrics: list[str] | None,
          progress: bool, log: Callable[[str], Any] = print,
          names: ParamNames | None = None) -> MetricScores:
    """compute_metrics on the split's ground truth; returns its MetricScores.

    ``preds``: emotion (N, alpha, T, 25) aligned with the rows of ``data``; ``metrics``: None
    for the protocol's metric set. With ``realism_3dmm`` FRRea-feat sees emotion + 3DMM
    features; predictions without 3DMM then get no FRRea (a value in another feature space
    would not be comparable). ``log`` receives notes, in which parameters are named by
    ``names(name, value)`` (default: as library parameters; the command line names its flags).
    """
    proto = check_protocol(protocol)
    preflight(data, metrics=metrics, alpha=preds.alpha, protocol=proto)
    warm.wait_pending()  # kernels compiling in the background: load them, do not compile twice
    use_face = realism_3dmm and preds.face_3dmm is not None
    if realism_3dmm and not use_face:
        wanted = list(metrics) if metrics else list(proto.metrics)
        if "FRRea" in wanted:
            note = f"  (no 3DMM reactions: FRRea-feat with {param('realism_3dmm')} is skipped)"
            log(render_params(note, names))
            metrics = [m for m in wanted if m != "FRRea"]
    try:
        return compute_metrics(
            preds.emotion, data.listener_emotion, data.speaker_emotion, data.neighbours,
            protocol=proto.name, metrics=metrics, n_jobs=n_jobs, device=device,
            bootstrap=bootstrap, seed=seed, pred_3dmm=preds.face_3dmm if use_face else None,
            listener_3dmm=data.listener_3dmm if use_face else None, progress=progress,
        )
    except ReactbenchError:
        raise
    except ValueError as exc:  # the metrics' input checks: report them as clean CLI errors
        raise ReactbenchError(f"scoring failed: {exc}") from exc


def preflight(data, *, metrics: list[str] | None, alpha: int, alpha_source: str | None = None,
              protocol: str | Protocol = "official") -> None:
    """Fail BEFORE generating when the requested metrics (None: the protocol's set) cannot be
    computed on this split (``alpha_source``: what sets alpha, named in the error; default
    the ``alpha`` parameter)."""
    names = list(metrics) if metrics else list(check_protocol(protocol).metrics)
    check_metric_names(names)
    need_nb = readers("neighbours", tuple(names))
    if need_nb and data.neighbours is None:
        raise ReactbenchError(
            f"split {data.split!r} of {data.root} has no neighbour matrix "
            f"(neighbour_emotion_{data.split}.npy), which {', '.join(need_nb)} need: build it "
            f"with `reactbench appropriate --data {data.root} --split {data.split}`, or pass "
            f"{param('metrics')} without them"
        )
    source = alpha_source or param("alpha")
    if "FRDiv" in names and alpha < 2:
        raise ReactbenchError(f"FRDiv compares reactions of one speaker: it needs {source} "
                              f">= 2 (got {alpha}); or pass {param('metrics')} without FRDiv")
    if "FRDvs" in names and data.n < 2:
        raise ReactbenchError(f"FRDvs compares speakers: the split has N = {data.n} row")


def aggregate(per_seed: list[tuple[int, Any]]) -> tuple[dict, dict, list | None, dict]:
    """Per-seed MetricScores -> (metrics entries, extra, per_seed list, metric timings).

    Values are means over seeds, ``std`` the spread over seeds (several seeds only), ``ci`` the
    bootstrap interval (with several seeds: the mean of the per-seed interval bounds).
    """
    first = per_seed[0][1]
    names = [m for m in METRIC_NAMES if m in first] + [m for m in first if m not in METRIC_NAMES]
    entries = {}
    for m in names:
        vals = np.array([float(s[m]) for _, s in per_seed])
        cis = [s.ci.get(m) for _, s in per_seed if getattr(s, "ci", None)]
        ci = None
        if cis and all(c is not None for c in cis) and len(cis) == len(per_seed):
            ci = (float(np.mean([c[0] for c in cis])), float(np.mean([c[1] for c in cis])))
        entries[m] = metric_entry(
            vals.mean(), direction=direction(m),
            version=getattr(first, "versions", {}).get(m), ci=ci,
            std=vals.std(ddof=1) if len(vals) > 1 else None,
        )
    extra_keys = sorted({k for _, s in per_seed for k in getattr(s, "extra", {})})
    extra = {k: float(np.mean([float(s.extra[k]) for _, s in per_seed if k in s.extra]))
             for k in extra_keys}
    seeds = None
    if len(per_seed) > 1:
        seeds = [{"seed": sd, "metrics": {m: float(s[m]) for m in names}} for sd, s in per_seed]
    timings: dict[str, float] = {}
    for _, s in per_seed:
        for k, v in getattr(s, "timings", {}).items():
            timings[k] = timings.get(k, 0.0) + float(v)
    return entries, extra, seeds, timings
