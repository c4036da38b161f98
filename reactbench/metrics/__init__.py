"""The REACT metrics: REACT2024's seven (FRCorr, FRDist, FRDiv, FRVar, FRDvs, FRRea-feat,
FRSyn) and REACT2025/2026's set (FRCorr, FRDist, FRSyn, FRDiv, FRVar, MAE) on variable-length
samples.

``compute_metrics`` scores generated reactions under a protocol (:mod:`reactbench.protocols`:
``official``, ``corrected``, ``react2025``, ``react2025-corrected``, ``react2026``);
:data:`METRICS` is the metric table (one :class:`~reactbench.metrics.spec.MetricSpec` per
metric); one function per metric (``fr_corr``, ``fr_dist``, ``fr_syn``, ``fr_div``, ``fr_var``,
``fr_dvs``, ``fr_rea``, ``fr_mae``; the REACT2025/2026 ones take variable-length lists and
``targets=``) and the per-item functions ``ccc``, ``dtw``, ``tlcc_offsets`` and
``frechet_distance`` are public too. ``ReactionMetrics`` is the thin stateful layer for
evaluation loops under every protocol (batches in, the same scores out).
"""

from reactbench import jit  # noqa: F401 (kernel cache location, set before any kernel exists)
from reactbench.metrics.api import (
    DIRECTIONS,
    METRIC_GROUPS,
    METRIC_LABELS,
    METRIC_NAMES,
    METRIC_VERSIONS,
    PROTOCOLS,
    MetricScores,
    compute_metrics,
)
from reactbench.metrics.concordance import ccc
from reactbench.metrics.dtw_engine import dtw, grouped_dtw
from reactbench.metrics.frechet import frechet_distance
from reactbench.metrics.functional import (
    fr_corr,
    fr_dist,
    fr_div,
    fr_dvs,
    fr_mae,
    fr_rea,
    fr_syn,
    fr_var,
)
from reactbench.metrics.spec import METRICS, MetricSpec, metric_spec
from reactbench.metrics.stateful import ReactionMetrics
from reactbench.metrics.tlcc import tlcc_offsets

__all__ = [
    "DIRECTIONS", "METRICS", "METRIC_GROUPS", "METRIC_LABELS", "METRIC_NAMES", "METRIC_VERSIONS",
    "PROTOCOLS", "MetricScores", "MetricSpec", "metric_spec", "ReactionMetrics", "ccc",
    "compute_metrics", "dtw", "fr_corr", "fr_dist",
    "fr_div", "fr_dvs", "fr_mae", "fr_rea", "fr_syn", "fr_var", "frechet_distance", "grouped_dtw",
    "tlcc_offsets",
]
