"""The metric table: one :class:`MetricSpec` per metric, read by everything that needs to know
about a metric (``compute_metrics``, result records, tables, merging runs).

A spec's ``compute`` takes the validated :class:`MetricInputs` and returns an :class:`Outcome`:
the value, and what the bootstrap needs to resample it (per-speaker contributions whose mean is
the value, or a function of resampling weights for metrics that are not such a mean). Under a
``"targets"`` protocol (REACT2025/2026) the inputs are variable-length samples
(:class:`~reactbench.metrics.ragged.Ragged`) and each contribution is one sample's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reactbench.metrics import concordance, diversity, frechet, tlcc
from reactbench.metrics import validate as v
from reactbench.metrics.dtw_cuda import min_grouped_dtw_ragged_cuda
from reactbench.metrics.dtw_engine import min_grouped_dtw, min_grouped_dtw_ragged
from reactbench.metrics.mae import per_sample_mae
from reactbench.metrics.ragged import Ragged
from reactbench.protocols import Protocol

DIRECTIONS_ALLOWED = ("higher", "lower")


@dataclass
class MetricInputs:
    """Validated float32 inputs of one scoring call (arrays no requested metric reads are None).

    pred (N, alpha, T, 25); listener_gt, speaker (N, T, 25); neighbours (N, N) bool and its CSR
    form ``csr`` = (row pointer (N + 1,), column indices); face = (pred_3dmm (N, alpha, T, 58),
    listener_3dmm (N, T, 58)) or None. Under a ``"targets"`` protocol ``ragged`` holds the
    variable-length samples and the arrays above are None."""

    pred: np.ndarray
    listener_gt: np.ndarray | None
    speaker: np.ndarray | None
    neighbours: np.ndarray | None
    csr: tuple[np.ndarray, np.ndarray] | None
    face: tuple[np.ndarray, np.ndarray] | None
    protocol: Protocol
    n_jobs: int
    device: str
    bootstrap: bool
    ragged: Ragged | None = None


@dataclass
class Outcome:
    """A metric's value; ``per_speaker`` (N,) when the value is their mean, else ``resample``
    maps (B, N) resampling weights to (B,) values (NaN where undefined)."""

    value: float
    per_speaker: np.ndarray | None = None
    resample: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name, how tables show it, and how it is computed.

    reads: the arguments besides ``pred`` it needs (validated only when requested);
    optional: arguments it reads when given (None allowed);
    version: bumped when its value for the same input changes; precision: decimals in tables;
    check: raises ValueError when the prediction shape (N, alpha, T, D) cannot be scored under
    a protocol; check_ragged: the same for variable-length samples; compute: the computation on
    validated inputs (either form)."""

    name: str
    label: str
    direction: str
    group: str
    version: str
    reads: tuple[str, ...]
    precision: int
    compute: Callable[[MetricInputs], Outcome]
    check: Callable[[tuple[int, int, int, int], Protocol], None] | None = None
    description: str = ""
    optional: tuple[str, ...] = ()
    check_ragged: Callable[[Ragged, Protocol], None] | None = None


# ---- computations -------------------------------------------------------------------------

def _fr_corr(x: MetricInputs) -> Outcome:
    r = x.ragged
    if r is not None:
        per = concordance.max_ccc_ragged(r.pred, r.targets, r.offsets, r.order,
                                         x.protocol.corrected).sum(axis=1)
        return Outcome(float(per.mean()), per_speaker=per)
    per = concordance.max_ccc(x.pred, x.listener_gt, *x.csr, x.protocol.corrected).sum(axis=1)
    return Outcome(float(per.mean()), per_speaker=per)


def _fr_dist(x: MetricInputs) -> Outcome:
    r = x.ragged
    if r is not None:
        if x.device != "cpu":
            per = min_grouped_dtw_ragged_cuda(r.pred, r.targets, r.offsets,
                                              device=x.device).sum(axis=1)
        else:
            per = min_grouped_dtw_ragged(r.pred, r.targets, r.offsets, r.order,
                                         n_jobs=x.n_jobs).sum(axis=1)
        return Outcome(float(per.mean()), per_speaker=per)
    per = min_grouped_dtw(x.pred, x.listener_gt, x.neighbours, n_jobs=x.n_jobs,
                          device=x.device).sum(axis=1)
    return Outcome(float(per.mean()), per_speaker=per)


def _fr_div(x: MetricInputs) -> Outcome:
    r = x.ragged
    per = (diversity.ragged_div_var(r.pred, r.offsets, r.order)[0] if r is not None
           else diversity.per_speaker_div(x.pred))
    return Outcome(float(per.mean()), per_speaker=per)


def _fr_var(x: MetricInputs) -> Outcome:
    r = x.ragged
    per = (diversity.ragged_div_var(r.pred, r.offsets, r.order)[1] if r is not None
           else diversity.per_speaker_var(x.pred))
    return Outcome(float(per.mean()), per_speaker=per)


def _fr_syn(x: MetricInputs) -> Outcome:
    r = x.ragged
    proto = x.protocol
    if r is not None:
        n_gen = r.alpha if proto.tlcc_generations == "all" else 1
        off = tlcc.offsets_ragged(r.pred, r.speaker, r.offsets, r.order, n_gen, proto.corrected,
                                  proto.tlcc_max_lag)
        per = np.abs(off).mean(axis=1).astype(np.float64)
        if n_gen == 1:  # the official value: a float32 mean of the integer offsets
            return Outcome(float(np.float32(per.sum()) / np.float32(r.n)), per_speaker=per)
        return Outcome(float(per.mean()), per_speaker=per)
    n_gen = x.pred.shape[1] if proto.tlcc_generations == "all" else 1
    off = tlcc.offsets(x.pred, x.speaker, n_gen, proto.corrected, proto.tlcc_max_lag)
    per = np.abs(off).mean(axis=1).astype(np.float64)
    return Outcome(float(per.mean()), per_speaker=per)


def _mae(x: MetricInputs) -> Outcome:
    r = x.ragged
    per = per_sample_mae(r.pred, r.targets, r.offsets, r.order, x.protocol.mae_columns)
    return Outcome(float(np.mean(per)), per_speaker=per.astype(np.float64))


def _fr_dvs(x: MetricInputs) -> Outcome:
    q, total, shape = diversity.dvs_stats(x.pred)
    pred = x.pred
    return Outcome(diversity.fr_dvs_value(total, shape),
                   resample=lambda w: diversity.fr_dvs_bootstrap(pred, q, w))


def _fr_rea(x: MetricInputs) -> Outcome:
    gen, real = frechet.rea_inputs(x.pred, x.listener_gt, *(x.face or (None, None)))
    value = frechet.fr_rea_value(gen, real, x.neighbours)
    if not x.bootstrap:
        return Outcome(value)
    stats = frechet.ReaStats(gen, real, x.neighbours)
    return Outcome(value, resample=lambda w: stats.values(w.astype(np.float64)))


# ---- shape checks (per protocol) ------------------------------------------------------------

def _check_two_frames(shape: tuple[int, int, int, int], protocol: Protocol) -> None:
    if shape[2] < 2:
        raise ValueError(f"pred: FRVar/FRCorr need T >= 2 frames, got shape {tuple(shape)}")


def _check_div(shape: tuple[int, int, int, int], protocol: Protocol) -> None:
    if protocol.corrected or protocol.div_single == "error":
        v.check_alpha_pairs(shape, "FRDiv", "; the official protocol reports FRDiv = 0.0 for "
                                            "alpha = 1, as the challenge code does")


def _check_dvs(shape: tuple[int, int, int, int], protocol: Protocol) -> None:
    v.check_n_pairs(shape, "FRDvs")


def _check_syn(shape: tuple[int, int, int, int], protocol: Protocol) -> None:
    v.check_tlcc_frames(shape[2], protocol.corrected, protocol.tlcc_max_lag)


def _ragged_two_frames(r: Ragged, protocol: Protocol) -> None:
    short = np.flatnonzero(r.lengths < 2)
    if short.size:
        k = int(short[0])
        raise ValueError(f"pred[{k}]: FRVar/FRCorr need T_k >= 2 frames, got T_k = "
                         f"{int(r.lengths[k])}")


def _ragged_div(r: Ragged, protocol: Protocol) -> None:
    if r.alpha < 2:
        raise ValueError(f"pred: FRDiv needs alpha >= 2 generated reactions per sample to form "
                         f"pairs, got alpha = {r.alpha} (the {protocol.challenge} code refuses "
                         f"alpha = 1)")


def _ragged_syn(r: Ragged, protocol: Protocol) -> None:
    k = int(np.argmin(r.lengths))
    try:
        v.check_tlcc_frames(int(r.lengths[k]), protocol.corrected, protocol.tlcc_max_lag)
    except ValueError as exc:
        raise ValueError(f"pred[{k}]: {str(exc).removeprefix('pred: ')}") from None


def _ragged_mae(r: Ragged, protocol: Protocol) -> None:
    if r.targets.shape[0] < r.alpha:
        raise ValueError(
            f"targets: MAE averages each generation over the first alpha targets, so it needs "
            f"K >= alpha = {r.alpha} targets per sample, got K = {r.targets.shape[0]}")


# ---- the table ----------------------------------------------------------------------------

APPROPRIATE = ("listener_gt", "neighbours")
# the arguments a metric reads under a "targets" protocol (besides pred)
READS_TARGETS = {"FRCorr": ("targets",), "FRDist": ("targets",), "FRSyn": ("speaker",),
                 "MAE": ("targets",)}

METRICS: dict[str, MetricSpec] = {s.name: s for s in (
    MetricSpec("FRCorr", "FRCorr", "higher", "Appropriateness", "1", APPROPRIATE, 3, _fr_corr,
               _check_two_frames, "sum over generations of the max CCC over appropriate real "
               "reactions, mean over speakers", check_ragged=_ragged_two_frames),
    MetricSpec("FRDist", "FRDist", "lower", "Appropriateness", "1", APPROPRIATE, 2, _fr_dist,
               None, "sum over generations of the min grouped DTW over appropriate real "
               "reactions, mean over speakers"),
    MetricSpec("FRDiv", "FRDiv", "higher", "Diversity", "1", (), 4, _fr_div, _check_div,
               "per-element MSE between generations of one speaker (S-MSE)",
               check_ragged=_ragged_div),
    MetricSpec("FRVar", "FRVar", "higher", "Diversity", "1", (), 4, _fr_var, _check_two_frames,
               "unbiased variance over time, mean over speakers, generations and columns",
               check_ragged=_ragged_two_frames),
    MetricSpec("FRDvs", "FRDvs", "higher", "Diversity", "1", (), 4, _fr_dvs, _check_dvs,
               "per-element MSE between speakers within each generation index"),
    MetricSpec("FRRea", "FRRea-feat", "lower", "Realism", frechet.REA_FEATURES_VERSION,
               APPROPRIATE, 2, _fr_rea, None,
               "Frechet distance of window features, generated vs appropriate real reactions",
               optional=("pred_3dmm", "listener_3dmm")),
    MetricSpec("FRSyn", "FRSyn", "lower", "Synchrony", "1", ("speaker",), 2, _fr_syn, _check_syn,
               "|time-lagged cross-correlation offset| to the speaker", check_ragged=_ragged_syn),
    MetricSpec("MAE", "MAE", "lower", "Accuracy", "1", ("targets",), 4, _mae, None,
               "mean absolute error of valence, arousal and expressions, each generation "
               "averaged over the first alpha targets (REACT2025/2026)",
               check_ragged=_ragged_mae),
)}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
ALIASES = {s.label: s.name for s in METRICS.values() if s.label != s.name}
GROUP_ORDER: tuple[str, ...] = tuple(dict.fromkeys(s.group for s in METRICS.values()))


def metric_spec(name: str) -> MetricSpec | None:
    """The spec of a metric name or label (``FRRea-feat`` -> FRRea); None when unknown."""
    return METRICS.get(ALIASES.get(name, name))


def direction(name: str) -> str:
    """``"higher"`` or ``"lower"`` is better; unknown metrics (from plug-in scorers) count as
    higher."""
    spec = metric_spec(name)
    return spec.direction if spec else "higher"


def readers(argument: str, names: tuple[str, ...]) -> list[str]:
    """The requested metrics that read ``argument``."""
    return [m for m in names if argument in METRICS[m].reads]
