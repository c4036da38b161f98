"""Every number that defines a REACT2024 metric protocol, in one place.

The official values are those of the challenge code (``metric/*.py`` of
``reactmultimodalchallenge/baseline_react2024``); ``../shared/spec/official_react2024.md``
section 3 describes them. Changing any of them changes the protocol: bump the matching
entry of :data:`METRIC_VERSIONS` in ``api.py``.
"""

from __future__ import annotations

EMOTION_DIM = 25  # width of the per-frame emotion vector
FACE_3DMM_DIM = 58  # width of the FaceVerse v2 3DMM vector (52 exp + 3 rot + 3 trans)

# --- FRCorr: concordance correlation coefficient --------------------------------------
CCC_EPS = 1e-8  # added to the CCC denominator by the official code (not by `corrected`)

# --- FRDist: grouped multivariate DTW ----------------------------------------------------
# (first column, end column, weight); the official loop adds weight * dtw(group) in this order.
DTW_GROUPS = ((0, 15, 1.0 / 15.0), (15, 17, 1.0), (17, 25, 1.0 / 8.0))
AU_COLUMNS = (0, 15)
VA_COLUMNS = (15, 17)
FE_COLUMNS = (17, 25)

# --- FRSyn: time-lagged cross-correlation --------------------------------------------------
TLCC_SECONDS = 2
TLCC_FPS = 25
TLCC_MAX_LAG = TLCC_SECONDS * TLCC_FPS - 1  # 49: lags run from -49 to +49
TLCC_N_LAGS = 2 * TLCC_MAX_LAG + 1  # 99
# corrected FRSyn refuses shorter sequences: below this some lag pairs no frame at all. (The
# windows of lags +-49 still hold 1 or 2 frames at T = 50, 51; the golden T = 50 case pins the
# corrected value there, so the bound stays at T = 50.)
TLCC_MIN_FRAMES_CORRECTED = TLCC_MAX_LAG + 1  # 50

# --- FRRea-feat: Frechet distance over dynamic features ------------------------------------
REA_WINDOW = 50  # frames per feature window (2 s at 25 fps)
REA_HOP = 25  # hop between windows (1 s)
FRECHET_EPS = 1e-6  # ridge added to both covariances when one is singular (pytorch-fid's offset)

# --- bootstrap ---------------------------------------------------------------------------
CI_LEVEL = 0.95  # percentile interval
# upper bound on resamples B: far beyond the 1e3-1e4 a 95% interval needs; the (B, N) resample
# weights must fit in memory
MAX_BOOTSTRAP = 100_000
