"""``compute_metrics``: the REACT metrics under one protocol, with bootstrap CIs.

REACT2024 protocols (``official``, ``corrected``) score (N, alpha, T, 25) predictions against a
neighbour matrix; REACT2025/2026 protocols (``react2025``, ``react2025-corrected``,
``react2026``) score variable-length samples against per-sample target lists
(:mod:`reactbench.metrics.ragged`), with the 2025/2026 metric set (FRCorr, FRDist, FRSyn, FRDiv,
FRVar, MAE).

Protocols (``docs/metrics.md``):

* ``official``: the challenge code's numbers, every quirk included (``official_react2024.md``
  section 5): FRCorr/FRDist are sums over the alpha generations averaged over speakers, CCC with
  NaN -> 0 and +1e-8, grouped DTW (1/15, 1, 1/8), unbiased FRVar, FRSyn on generation 0 only with
  the NaN -> first-NaN-index rule.
* ``corrected``: the paper's formulas without the code's accidents: FRSyn over all generations;
  constant columns left out of the CCC and TLCC column means; FRCorr/FRDist also per generation
  (``extra["FRCorr/gen"]``, ``extra["FRDist/gen"]``).

FRRea is always ``FRRea-feat`` (:mod:`reactbench.metrics.frechet`), never image FID.
Bootstrap (``bootstrap=B``, B = 0 or B >= 2): speaker rows are resampled with replacement
(seeded by ``seed``); metrics that are means over speakers (FRCorr, FRDist, FRDiv, FRVar, FRSyn)
resample their per-speaker contributions; FRDvs (mean over pairs of draws of *different*
speakers) and FRRea (generated windows of the drawn rows vs the union of their appropriate real
reactions) are recomputed from per-row sufficient statistics; intervals are the 2.5 / 97.5
percentiles of the defined resamples, and a metric undefined on every resample gets no interval
(``ci_missing`` says why).
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from reactbench.metrics import validate as _v
from reactbench.metrics.constants import CI_LEVEL
from reactbench.metrics.dtw_engine import neighbour_csr
from reactbench.metrics.ragged import Ragged, check_ragged, is_sequence_list
from reactbench.metrics.spec import (
    ALIASES,
    GROUP_ORDER,
    METRIC_NAMES,
    METRICS,
    READS_TARGETS,
    MetricInputs,
)
from reactbench.metrics.threads import numba_threads
from reactbench.protocols import Protocol, protocol_names

# views of the metric table (reactbench.metrics.spec) under their public names
DIRECTIONS = {m: s.direction for m, s in METRICS.items()}
METRIC_GROUPS = {g: tuple(m for m, s in METRICS.items() if s.group == g) for g in GROUP_ORDER}
METRIC_LABELS = {m: s.label for m, s in METRICS.items()}
METRIC_VERSIONS = {m: s.version for m, s in METRICS.items()}
PROTOCOLS = protocol_names()
# which metrics read which argument (``pred`` is read by all); the others are not validated
READS = {arg: tuple(m for m, s in METRICS.items() if arg in s.reads)
         for arg in ("listener_gt", "neighbours", "speaker")}


class MetricScores(dict):
    """metric name -> float, with ``protocol``, ``versions``, ``ci``, ``extra``, ``timings``;
    ``ci_missing`` maps a metric left without an interval (bootstrap on) to the reason."""

    def __init__(self, values: dict, *, protocol: str, versions: dict, ci: dict | None = None,
                 extra: dict | None = None, timings: dict | None = None,
                 realism_features: str | None = None, bootstrap: int = 0,
                 ci_missing: dict | None = None):
        super().__init__(values)
        self.protocol = protocol
        self.versions = dict(versions)
        self.ci = dict(ci or {})
        self.ci_missing = dict(ci_missing or {})
        self.extra = dict(extra or {})
        self.timings = dict(timings or {})
        self.realism_features = realism_features
        self.bootstrap = bootstrap

    def to_dict(self) -> dict:
        """Plain JSON-able data."""
        return {
            "protocol": self.protocol,
            "metrics": {k: float(v) for k, v in self.items()},
            "versions": dict(self.versions),
            "ci": {k: [float(a), float(b)] for k, (a, b) in self.ci.items()},
            "ci_missing": dict(self.ci_missing),
            "extra": {k: float(v) for k, v in self.extra.items()},
            "timings": {k: float(v) for k, v in self.timings.items()},
            "realism_features": self.realism_features,
            "bootstrap": int(self.bootstrap),
        }

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.items())
        return f"MetricScores({self.protocol}: {vals})"


def _metric_list(metrics) -> list:
    """``metrics`` as a list of items; a non-iterable raises naming the argument."""
    if isinstance(metrics, str):
        return [metrics]
    try:
        return list(metrics)
    except TypeError:
        raise ValueError(f"metrics: expected None, a metric name or a list of names from "
                         f"{list(METRIC_NAMES)}, got {metrics!r}") from None


def _did_you_mean(m) -> str:
    """The suffix " (did you mean 'FRCorr'?)" for a near miss (case, a typo), else ""."""
    if not isinstance(m, str):
        return ""
    names = list(METRIC_NAMES) + list(ALIASES)
    by_case = {n.lower(): n for n in names}
    close = ([by_case[m.lower()]] if m.lower() in by_case
             else [by_case[c] for c in difflib.get_close_matches(m.lower(), by_case, n=1)])
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve_metrics(metrics: Iterable[str] | str | None,
                     protocol: Protocol | None = None) -> tuple[str, ...]:
    """None (the protocol's metric set), a name or names (``FRRea-feat`` = ``FRRea``) -> names in
    the protocol's report order; a metric the protocol does not define raises."""
    available = protocol.available_metrics if protocol is not None else METRIC_NAMES
    if metrics is None:
        return protocol.metrics if protocol is not None else METRIC_NAMES
    out = []
    for m in _metric_list(metrics):
        if not isinstance(m, str) or m not in METRIC_NAMES:
            alias = ALIASES.get(m) if isinstance(m, str) else None
            if alias is None:
                raise ValueError(f"metrics: unknown metric {m!r}{_did_you_mean(m)}; expected "
                                 f"names from {list(available)}")
            m = alias
        if m not in available:
            raise ValueError(f"metrics: {m} is not defined under protocol {protocol.name!r}; "
                             f"its metrics are {list(available)}")
        if m not in out:
            out.append(m)
    if not out:
        raise ValueError(f"metrics: expected at least one of {list(available)}, got none")
    return tuple(m for m in available if m in out)


def _percentile_ci(samples: np.ndarray) -> tuple[float, float] | None:
    """95% percentile interval of the bootstrap samples (undefined resamples, NaN, left out);
    None when every resample is undefined."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None
    lo = (1.0 - CI_LEVEL) / 2.0 * 100.0
    return float(np.percentile(samples, lo)), float(np.percentile(samples, 100.0 - lo))


def _needs(names: tuple[str, ...], argument: str) -> bool:
    """Whether any requested metric reads ``argument`` (see :data:`READS`)."""
    return any(m in names for m in READS[argument])


def _check_arrays(pred, listener_gt, speaker, neighbours, pred_3dmm, listener_3dmm,
                  names: tuple[str, ...], protocol) -> tuple:
    """Validate every array a requested metric reads -> (p, lg, sp, nb, face); unread -> None."""
    p = _v.check_pred(pred)
    n, alpha, t, _ = p.shape
    given = {"listener_gt": listener_gt, "speaker": speaker, "neighbours": neighbours}
    for argument, value in given.items():
        if value is None and _needs(names, argument):
            readers = [m for m in names if m in READS[argument]]
            others = [m for m in names if m not in READS[argument]]
            instead = (f", or request only metrics that do not read it (metrics={others!r})"
                       if others else "")
            raise ValueError(f"{argument}: got None, but {', '.join(readers)} read(s) it; pass "
                             f"the array{instead}")
    lg = sp = None
    if _needs(names, "listener_gt"):
        lg = _v.check_sequences(listener_gt, "listener_gt", n, t, alpha=alpha)
    if _needs(names, "speaker"):
        sp = _v.check_sequences(speaker, "speaker", n, t, alpha=alpha)
    nb = _v.check_neighbours(neighbours, n) if _needs(names, "neighbours") else None
    wants_face = any("pred_3dmm" in METRICS[m].optional for m in names)
    face = _v.check_3dmm(pred_3dmm, listener_3dmm, p.shape) if wants_face else None
    for m in names:
        if METRICS[m].check is not None:
            METRICS[m].check(p.shape, protocol)
    return p, lg, sp, nb, face


def _is_ragged_list(x) -> bool:
    """A list/tuple whose items have shapes that differ (cannot form one array)."""
    if not is_sequence_list(x) or not x:
        return False
    shapes = {tuple(getattr(i, "shape", ())) for i in x}
    return len(shapes) > 1 and all(hasattr(i, "shape") for i in x)


def _check_targets_protocol(proto: Protocol, names: tuple[str, ...], pred, listener_gt,
                            speaker, neighbours, targets, pred_3dmm, listener_3dmm,
                            device: str) -> Ragged:
    """Validate the inputs of a ``"targets"`` protocol -> the packed samples."""
    for argument, value in (("listener_gt", listener_gt), ("neighbours", neighbours),
                            ("pred_3dmm", pred_3dmm), ("listener_3dmm", listener_3dmm)):
        if value is not None:
            raise ValueError(
                f"{argument}: protocol {proto.name!r} does not read it (appropriate reactions "
                f"are the per-sample targets=); pass None")
    reads = {a for m in names for a in READS_TARGETS.get(m, ())}
    rg = check_ragged(pred, speaker, targets, need_speaker="speaker" in reads,
                      need_targets="targets" in reads, protocol_name=proto.name)
    for m in names:
        if METRICS[m].check_ragged is not None:
            METRICS[m].check_ragged(rg, proto)
    return rg


def _bootstrap_cis(names, outcomes, weights) -> tuple[dict, dict]:
    """95% intervals per metric, and the reason for each metric left without one."""
    n = weights.shape[1]
    w = weights.astype(np.float64)
    ci: dict[str, tuple[float, float]] = {}
    missing: dict[str, str] = {}
    for m in names:
        out = outcomes[m]
        samples = w @ out.per_speaker / n if out.per_speaker is not None else out.resample(weights)
        interval = _percentile_ci(samples)
        if interval is None:
            missing[m] = (f"{m} is undefined on all {len(samples)} bootstrap resamples (too "
                          f"few distinct speakers or appropriate real reactions per resample)")
        else:
            ci[m] = interval
    return ci, missing


def _timed(fn, *args):
    """(fn(*args), seconds it took)."""
    t0 = time.perf_counter()
    return fn(*args), time.perf_counter() - t0


def compute_metrics(pred, listener_gt, speaker, neighbours, protocol: str = "official",
                    metrics=None, n_jobs: int = -1, device: str = "cpu", bootstrap: int = 0,
                    seed: int = 0, pred_3dmm=None, listener_3dmm=None,
                    progress: bool = False, targets=None) -> MetricScores:
    """Score generated reactions with the metrics of a REACT protocol.

    pred: (N, alpha, T, 25) generated listener emotions; listener_gt: (N, T, 25) real listener
    reaction of each speaker row; speaker: (N, T, 25); neighbours: (N, N) 0/1 with
    ``neighbours[k, j] == 1`` when ``listener_gt[j]`` is appropriate for speaker k. Optional
    pred_3dmm (N, alpha, T, 58) and listener_3dmm (N, T, 58) extend the FRRea-feat features.
    Each array is validated only when a requested metric reads it (:data:`READS`): pred by all;
    listener_gt and neighbours by FRCorr, FRDist, FRRea; speaker by FRSyn; the 3DMM by FRRea.
    An argument no requested metric reads may be None. Arrays: numpy (any memory order,
    memory-mapped, read-only), torch tensors (any device or float dtype, bfloat16 included) or
    nested lists, cast to float32 like the official code; neighbours also bool/int 0/1 or a
    scipy.sparse / torch sparse matrix.
    protocol: "official" or "corrected"; metrics: None (all) or names from ``METRIC_NAMES``;
    n_jobs: CPU threads (-1 = all, -k = all but k - 1, k >= 1); device: "cpu" or "cuda[:k]"
    (GPU DTW engine for FRDist).
    bootstrap: 0 (no interval) or B >= 2 resamples of the speakers for 95% percentile intervals
    (``.ci``), seeded by ``seed`` (a non-negative integer, None or a numpy Generator; read only
    when B >= 2). Undefined resamples (e.g. FRDvs of a resample drawing one speaker N times) are
    left out; a metric undefined on every resample gets no interval and its reason in
    ``.ci_missing`` (never a NaN interval).
    Edge cases: FRDiv with alpha = 1 is 0.0 under "official" (as the challenge code) and an
    error under "corrected"; corrected FRSyn needs T >= 50. A metric that cannot be computed
    raises. Returns a :class:`MetricScores`. Bad input raises ``ValueError`` naming the argument.

    REACT2025/2026 (``protocol="react2025"``, ``"react2025-corrected"``, ``"react2026"``):
    pass ``listener_gt=None, neighbours=None`` and ``targets=``; pred: a list of N arrays
    (alpha, T_k, 25) or one (N, alpha, T, 25) array; speaker: N arrays (T_k, 25); targets: N
    arrays (K, T_k, 25) of appropriate real reactions, target 0 the paired listener (the same K
    for every sample). Metrics: FRCorr (sum over generations of the max CCC over the K targets,
    mean over samples), FRDist (likewise with the min grouped DTW, whole clips), FRSyn, FRDiv
    (alpha >= 2), FRVar (mean of per-sample means) and MAE (needs K >= alpha); each sample
    weighs the same whatever its length, and the bootstrap resamples samples.
    """
    proto = _v.check_protocol(protocol)
    names = _resolve_metrics(metrics, proto)
    bootstrap = _v.check_bootstrap(bootstrap)
    if bootstrap:
        _v.check_seed(seed)
    _v.check_n_jobs(n_jobs)
    dev = _v.check_device(device)
    if proto.appropriateness == "targets":
        rg = _check_targets_protocol(proto, names, pred, listener_gt, speaker, neighbours,
                                     targets, pred_3dmm, listener_3dmm, dev)
        n_rows, alpha = rg.n, rg.alpha
        inputs = MetricInputs(None, None, None, None, None, None, proto, n_jobs, dev,
                              bool(bootstrap), ragged=rg)
        face = None
    else:
        if targets is not None:
            raise ValueError(
                f"targets: protocol {proto.name!r} takes appropriate reactions as listener_gt and "
                f"neighbours; per-sample targets= belong to the protocols "
                f"{[p for p in PROTOCOLS if _v.check_protocol(p).appropriateness == 'targets']}")
        if _is_ragged_list(pred):
            raise ValueError(
                f"pred: protocol {proto.name!r} takes one (N, alpha, T, 25) array of equal-length "
                f"clips; a list of variable-length arrays needs a protocol with per-sample "
                f"targets (e.g. protocol='react2025', targets=...)")
        p, lg, sp, nb, face = _check_arrays(pred, listener_gt, speaker, neighbours, pred_3dmm,
                                            listener_3dmm, names, proto)
        n_rows, alpha = p.shape[0], p.shape[1]
        inputs = MetricInputs(p, lg, sp, nb, neighbour_csr(nb) if nb is not None else None,
                              face, proto, n_jobs, dev, bool(bootstrap))
    weights = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=bootstrap)
    outcomes = {}
    extra: dict[str, float] = {}
    timings: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    ci_missing: dict[str, str] = {}
    with numba_threads(n_jobs), ThreadPoolExecutor(max_workers=1) as gpu:
        # on a GPU, FRDist's kernels run while this thread computes the other metrics
        on_gpu = {m: gpu.submit(_timed, METRICS[m].compute, inputs)
                  for m in names if dev != "cpu" and m == "FRDist" and len(names) > 1}
        for m in names:
            if progress and sys.stderr.isatty():  # like the progress bars: terminals only
                print(f"  {m} ...", file=sys.stderr, flush=True)
            if m not in on_gpu:
                outcomes[m], timings[m] = _timed(METRICS[m].compute, inputs)
        for m, job in on_gpu.items():
            outcomes[m], timings[m] = job.result()
        if bootstrap:
            t0 = time.perf_counter()
            ci, ci_missing = _bootstrap_cis(names, outcomes, weights)
            timings["bootstrap"] = time.perf_counter() - t0
    if proto.corrected:
        for m in ("FRCorr", "FRDist"):
            if m in outcomes:
                extra[f"{m}/gen"] = outcomes[m].value / alpha
    versions = {m: METRICS[m].version for m in names}
    feats = None
    if "FRRea" in names:
        feats = "emotion+3dmm" if face is not None else "emotion"
        versions["FRRea"] = f"{METRICS['FRRea'].version}-{feats}"
    return MetricScores({m: float(outcomes[m].value) for m in names}, protocol=proto.name,
                        versions=versions, ci=ci, extra=extra, timings=timings,
                        realism_features=feats, bootstrap=int(bootstrap), ci_missing=ci_missing)
