"""One public function per metric (each validates its inputs, then runs the shared kernels).

REACT2024 protocols (``official``, ``corrected``): pred (N, alpha, T, 25); listener_gt and
speaker (N, T, 25); neighbours (N, N) 0/1.

REACT2025/2026 protocols (``react2025``, ``react2025-corrected``, ``react2026``): pred a list
of N arrays (alpha, T_k, 25) or one (N, alpha, T, 25) array; speaker N arrays (T_k, 25);
``targets=`` N arrays (K, T_k, 25) of appropriate real reactions (target 0 the paired
listener); listener_gt and neighbours stay None.

Every function takes ``protocol`` (validated) so one loop can call them all alike, and returns
what ``compute_metrics`` returns for the same inputs. Semantics per protocol: see
:mod:`reactbench.metrics.api`.
"""

from __future__ import annotations

import numpy as np

from reactbench.metrics import validate as _v
from reactbench.metrics.api import compute_metrics


def _single(name: str, pred, listener_gt=None, speaker=None, neighbours=None, *, targets=None,
            protocol: str = "official", **kw) -> float:
    """``compute_metrics(..., metrics=[name])[name]``; REACT2024 arrays a metric does not read
    are filled with placeholders so only the ones it reads are required."""
    proto = _v.check_protocol(protocol)
    if proto.appropriateness == "targets" or targets is not None:
        # compute_metrics names the argument that does not belong to the protocol
        return compute_metrics(pred, listener_gt, speaker, neighbours, protocol=proto.name,
                               metrics=[name], targets=targets, **kw)[name]
    p = _v.check_pred(pred)
    n, _, t, _ = p.shape
    lg = listener_gt if listener_gt is not None else np.zeros((n, t, p.shape[3]), np.float32)
    sp = speaker if speaker is not None else np.zeros((n, t, p.shape[3]), np.float32)
    nb = neighbours if neighbours is not None else np.eye(n)
    return compute_metrics(p, lg, sp, nb, protocol=proto.name, metrics=[name], **kw)[name]


def fr_corr(pred, listener_gt=None, neighbours=None, *, targets=None,
            protocol: str = "official", n_jobs: int = -1) -> float:
    """FRCorr: mean over speakers of the sum over generations of the max CCC over the
    appropriate real reactions.

    REACT2024: pred (N, alpha, T, 25), listener_gt (N, T, 25), neighbours (N, N) 0/1.
    REACT2025/2026: pred N arrays (alpha, T_k, 25), targets N arrays (K, T_k, 25)."""
    return _single("FRCorr", pred, listener_gt, None, neighbours, targets=targets,
                   protocol=protocol, n_jobs=n_jobs)


def fr_dist(pred, listener_gt=None, neighbours=None, *, targets=None,
            protocol: str = "official", n_jobs: int = -1, device: str = "cpu") -> float:
    """FRDist: mean over speakers of the sum over generations of the min grouped DTW over the
    appropriate real reactions (shapes as :func:`fr_corr`; ``device``: "cpu" or "cuda[:k]", the
    DTW engine)."""
    return _single("FRDist", pred, listener_gt, None, neighbours, targets=targets,
                   protocol=protocol, n_jobs=n_jobs, device=device)


def fr_div(pred, *, protocol: str = "official") -> float:
    """FRDiv (S-MSE): per-element MSE between generations of one speaker, mean over speakers.

    pred (N, alpha, T, 25), or N arrays (alpha, T_k, 25) under REACT2025/2026 (each sample
    weighs the same). alpha = 1: 0.0 under "official" (as the challenge code), an error under
    the other protocols.
    """
    return _single("FRDiv", pred, protocol=protocol)


def fr_var(pred, *, protocol: str = "official") -> float:
    """FRVar: unbiased variance over time, mean over (N, alpha, 25); pred (N, alpha, T, 25), or
    N arrays (alpha, T_k, 25) under REACT2025/2026 (mean of the per-sample means)."""
    return _single("FRVar", pred, protocol=protocol)


def fr_dvs(pred, *, protocol: str = "official") -> float:
    """FRDvs: per-element MSE between speakers within each generation index; pred (N, alpha,
    T, 25). REACT2024 protocols only."""
    return _single("FRDvs", pred, protocol=protocol)


def fr_rea(pred, listener_gt, neighbours, *, protocol: str = "official", pred_3dmm=None,
           listener_3dmm=None) -> float:
    """FRRea-feat: Frechet distance of generated vs appropriate real window features; pred
    (N, alpha, T, 25), listener_gt (N, T, 25), neighbours (N, N); optional pred_3dmm (N, alpha,
    T, 58) and listener_3dmm (N, T, 58). REACT2024 protocols only."""
    return _single("FRRea", pred, listener_gt, None, neighbours, protocol=protocol,
                   pred_3dmm=pred_3dmm, listener_3dmm=listener_3dmm)


def fr_syn(pred, speaker, *, protocol: str = "official", n_jobs: int = -1) -> float:
    """FRSyn: mean |TLCC offset| (official and react2025/react2026: generation 0 only;
    corrected: all generations, T >= 50 frames). pred (N, alpha, T, 25) and speaker (N, T, 25),
    or N arrays (alpha, T_k, 25) and N arrays (T_k, 25) under REACT2025/2026."""
    return _single("FRSyn", pred, None, speaker, None, protocol=protocol, n_jobs=n_jobs)


def fr_mae(pred, targets, *, protocol: str = "react2026") -> float:
    """MAE (REACT2025/2026): per sample, the mean over generations of the mean absolute error
    of columns 15-24 against each of the first alpha targets (a mean, not a min); mean over
    samples. pred N arrays (alpha, T_k, 25); targets N arrays (K, T_k, 25) with K >= alpha."""
    return _single("MAE", pred, targets=targets, protocol=protocol)
