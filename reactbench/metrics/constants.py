"""Constants the metric kernels are compiled with.

The numbers that define a protocol (CCC epsilon, DTW groups and weights, TLCC lags, FRRea-feat
windows) are fields of :mod:`reactbench.protocols`; the kernels read them from the REACT2024
protocols here (both share them). Changing one changes the protocol: bump its version and the
version of the metrics it changes (:mod:`reactbench.metrics.spec`).
"""

from __future__ import annotations

from reactbench.protocols import CORRECTED, OFFICIAL

_SHARED = ("ccc_eps", "dtw_groups", "tlcc_max_lag", "rea_window", "rea_hop")
assert all(getattr(OFFICIAL, f) == getattr(CORRECTED, f) for f in _SHARED)

EMOTION_DIM = 25  # width of the per-frame emotion vector
FACE_3DMM_DIM = 58  # width of the FaceVerse v2 3DMM vector (52 exp + 3 rot + 3 trans)

# --- FRCorr: concordance correlation coefficient --------------------------------------
CCC_EPS = OFFICIAL.ccc_eps  # added to the CCC denominator by the official code (not `corrected`)

# --- FRDist: grouped multivariate DTW ----------------------------------------------------
# (first column, end column, weight); the official loop adds weight * dtw(group) in this order.
DTW_GROUPS = tuple((g.start, g.stop, g.weight) for g in OFFICIAL.dtw_groups)
AU_COLUMNS = (0, 15)
VA_COLUMNS = (15, 17)
FE_COLUMNS = (17, 25)

# --- FRSyn: time-lagged cross-correlation --------------------------------------------------
TLCC_MAX_LAG = OFFICIAL.tlcc_max_lag  # 49: lags run from -49 to +49 (2 s at 25 fps, minus one)
TLCC_N_LAGS = 2 * TLCC_MAX_LAG + 1  # 99

# --- FRRea-feat: Frechet distance over dynamic features ------------------------------------
REA_WINDOW = OFFICIAL.rea_window  # frames per feature window (2 s at 25 fps)
REA_HOP = OFFICIAL.rea_hop  # hop between windows (1 s)
FRECHET_EPS = 1e-6  # ridge added to both covariances when one is singular (pytorch-fid's offset)

# --- bootstrap ---------------------------------------------------------------------------
CI_LEVEL = 0.95  # percentile interval
# upper bound on resamples B: far beyond the 1e3-1e4 a 95% interval needs; the (B, N) resample
# weights must fit in memory
MAX_BOOTSTRAP = 100_000
