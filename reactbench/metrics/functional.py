"""One public function per metric (each validates its inputs, then runs the shared kernels).

Shapes: pred (N, alpha, T, 25); listener_gt and speaker (N, T, 25); neighbours (N, N) 0/1.
Semantics per protocol: see :mod:`reactbench.metrics.api`. Every function takes ``protocol``
(validated) so one loop can call them all alike; FRDist, FRVar, FRDvs and FRRea have the same
value under both protocols.
"""

from __future__ import annotations

import numpy as np

from reactbench.metrics import validate as _v
from reactbench.metrics.api import compute_metrics


def _single(name: str, pred, listener_gt=None, speaker=None, neighbours=None, **kw) -> float:
    p = _v.check_pred(pred)
    n, _, t, _ = p.shape
    lg = listener_gt if listener_gt is not None else np.zeros((n, t, p.shape[3]), np.float32)
    sp = speaker if speaker is not None else np.zeros((n, t, p.shape[3]), np.float32)
    nb = neighbours if neighbours is not None else np.eye(n)
    return compute_metrics(p, lg, sp, nb, metrics=[name], **kw)[name]


def fr_corr(pred, listener_gt, neighbours, *, protocol: str = "official",
            n_jobs: int = -1) -> float:
    """FRCorr: mean over speakers of the sum over generations of the max CCC over neighbours."""
    return _single("FRCorr", pred, listener_gt, None, neighbours, protocol=protocol,
                   n_jobs=n_jobs)


def fr_dist(pred, listener_gt, neighbours, *, protocol: str = "official", n_jobs: int = -1,
            device: str = "cpu") -> float:
    """FRDist: mean over speakers of the sum over generations of the min grouped DTW."""
    return _single("FRDist", pred, listener_gt, None, neighbours, protocol=protocol,
                   n_jobs=n_jobs, device=device)


def fr_div(pred, *, protocol: str = "official") -> float:
    """FRDiv (S-MSE): per-element MSE between generations of one speaker, mean over speakers.

    alpha = 1: 0.0 under "official" (as the challenge code), an error under "corrected".
    """
    return _single("FRDiv", pred, protocol=protocol)


def fr_var(pred, *, protocol: str = "official") -> float:
    """FRVar: unbiased variance over time, mean over (N, alpha, 25)."""
    return _single("FRVar", pred, protocol=protocol)


def fr_dvs(pred, *, protocol: str = "official") -> float:
    """FRDvs: per-element MSE between speakers within each generation index."""
    return _single("FRDvs", pred, protocol=protocol)


def fr_rea(pred, listener_gt, neighbours, *, protocol: str = "official", pred_3dmm=None,
           listener_3dmm=None) -> float:
    """FRRea-feat: Frechet distance of generated vs appropriate real window features."""
    return _single("FRRea", pred, listener_gt, None, neighbours, protocol=protocol,
                   pred_3dmm=pred_3dmm, listener_3dmm=listener_3dmm)


def fr_syn(pred, speaker, *, protocol: str = "official", n_jobs: int = -1) -> float:
    """FRSyn: mean |TLCC offset| (official: generation 0 only; corrected: all generations,
    T >= 50 frames)."""
    return _single("FRSyn", pred, None, speaker, None, protocol=protocol, n_jobs=n_jobs)
