"""Appropriateness (neighbour) matrices from speaker-behaviour similarity.

Speakers whose behaviours are similar enough share their listeners' real reactions as
appropriate: ``nb[k, j] = 1`` means the GT listener reaction of row j is appropriate for the
speaker of row k (official semantics, mirrored row order, diagonal always 1).

The similarity (documented here, used by ``reactbench appropriate``):

1. Each speaker row is summarised at 1 s resolution: its emotion sequence (N, T, 25) and, when
   audio was loaded, its MFCC sequence (N, T, 26) are averaged over non-overlapping windows of
   ``WINDOW_FRAMES`` frames -> (N, W, D). Every column is z-scored over the whole split
   (columns constant over the split are dropped), so AUs, VA, FE and MFCCs weigh alike.
2. Per stream, the distance between rows k and j is the DTW distance (tslearn: square root of
   the accumulated squared Euclidean cost) with a Sakoe-Chiba band of ``DTW_RADIUS_S`` seconds
   (behaviours may drift in time, not be reordered), divided by sqrt(W * D): a root-mean-square
   difference per window and column.
3. The streams are averaged (``EMOTION_WEIGHT`` for emotion, the rest for audio; emotion alone
   without audio) into d[k, j], and the similarity is ``s = exp(-d)`` in (0, 1], 1 for identical
   behaviour. s is symmetric, so the matrix is symmetric.
4. ``nb = s >= threshold`` (``--threshold X``), or with ``--target-k K`` the threshold is the
   value that gives a mean of K neighbours per row (self included).
"""

from __future__ import annotations

import numpy as np

from reactbench.errors import DataError

WINDOW_FRAMES = 25  # 1 s windows at 25 fps
DTW_RADIUS_S = 3  # Sakoe-Chiba band radius, in 1 s windows
EMOTION_WEIGHT = 0.5  # weight of the emotion stream (audio gets 1 - EMOTION_WEIGHT)
DEFAULT_TARGET_K = 8  # default mean neighbours per row (self included)


def _windowed(x: np.ndarray, window: int = WINDOW_FRAMES) -> np.ndarray:
    """(N, T, D) -> (N, W, D) window means (the last partial window is dropped if W >= 1)."""
    N, T, D = x.shape
    W = max(1, T // window)
    w = min(window, T)
    return x[:, : W * w].reshape(N, W, w, D).mean(axis=2)


def _zscore(x: np.ndarray) -> np.ndarray:
    """z-score every column over all rows and windows; drop columns constant over the split."""
    mu = x.mean(axis=(0, 1), keepdims=True)
    sd = x.std(axis=(0, 1), keepdims=True)
    keep = sd[0, 0] > 1e-8
    if not keep.any():
        return np.zeros(x.shape[:2] + (1,))
    return ((x - mu) / np.where(sd > 1e-8, sd, 1.0))[..., keep]


def stream_distance(x: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    """(N, T, D) sequences of one stream -> (N, N) banded-DTW distance, RMS per window/column."""
    from tslearn.metrics import cdist_dtw

    z = _zscore(_windowed(np.asarray(x, dtype=np.float64)))
    W, D = z.shape[1], z.shape[2]
    d = cdist_dtw(z, global_constraint="sakoe_chiba", sakoe_chiba_radius=DTW_RADIUS_S,
                  n_jobs=n_jobs)
    d = np.asarray(d, dtype=np.float64) / np.sqrt(W * D)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return d


def speaker_similarity(speaker_emotion: np.ndarray, speaker_mfcc: np.ndarray | None = None,
                       n_jobs: int | None = None) -> np.ndarray:
    """Speaker-behaviour similarity s = exp(-d) (see the module docstring).

    speaker_emotion: (N, T, 25); speaker_mfcc: (N, T, 26) or None (emotion only).
    Returns (N, N) float64 in (0, 1], symmetric, diagonal 1.
    """
    e = np.asarray(speaker_emotion)
    if e.ndim != 3 or e.shape[0] < 1:
        raise DataError(f"speaker_emotion: expected (N, T, 25), got shape {e.shape}")
    d = stream_distance(e, n_jobs)
    if speaker_mfcc is not None:
        a = np.asarray(speaker_mfcc)
        if a.shape[:2] != e.shape[:2]:
            raise DataError(
                f"speaker_mfcc: expected shape ({e.shape[0]}, {e.shape[1]}, F), got {a.shape}")
        d = EMOTION_WEIGHT * d + (1.0 - EMOTION_WEIGHT) * stream_distance(a, n_jobs)
    return np.exp(-d)


def threshold_for_k(sim: np.ndarray, target_k: float) -> float:
    """The similarity threshold giving a mean of about ``target_k`` neighbours per row (self
    included) for a symmetric (N, N) similarity."""
    N = sim.shape[0]
    if not 1 <= target_k <= N:
        raise DataError(f"--target-k {target_k}: expected a number between 1 and N = {N}")
    off = np.sort(sim[np.triu_indices(N, k=1)])[::-1]
    n_pairs = int(round((target_k - 1) * N / 2))  # each off-diagonal pair adds 2 to the total
    if n_pairs <= 0:
        return float(np.nextafter(1.0, 2.0))  # above every off-diagonal value: self only
    return float(off[min(n_pairs, len(off)) - 1])


def neighbours_from_similarity(sim: np.ndarray, *, threshold: float | None = None,
                               target_k: float | None = None) -> np.ndarray:
    """(N, N) similarity -> (N, N) float64 0/1 neighbour matrix, diagonal 1.

    Exactly one of ``threshold`` (absolute, in (0, 1]) or ``target_k`` (mean neighbours per
    row, self included) may be given; neither means ``target_k = DEFAULT_TARGET_K`` (capped at N).
    """
    sim = np.asarray(sim, dtype=np.float64)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise DataError(f"similarity: expected a square (N, N) matrix, got shape {sim.shape}")
    if threshold is not None and target_k is not None:
        raise DataError("give either --threshold or --target-k, not both")
    if threshold is None:
        k = DEFAULT_TARGET_K if target_k is None else target_k
        threshold = threshold_for_k(sim, min(k, sim.shape[0]))
    elif not 0.0 < threshold <= 1.0:
        raise DataError(f"--threshold {threshold}: expected a similarity in (0, 1]")
    nb = (sim >= threshold).astype(np.float64)
    np.fill_diagonal(nb, 1.0)
    return nb


def build_neighbours(data, *, threshold: float | None = None, target_k: float | None = None,
                     use_audio: bool = True, n_jobs: int | None = None) -> np.ndarray:
    """Neighbour matrix of a loaded split (:class:`SplitData`), in its mirrored row order.

    Returns (N, N) float64 0/1 with diagonal 1; see the module docstring for the similarity.
    """
    mfcc = data.speaker_audio.get("mfcc") if use_audio else None
    sim = speaker_similarity(data.speaker_emotion, mfcc, n_jobs=n_jobs)
    return neighbours_from_similarity(sim, threshold=threshold, target_k=target_k)


def neighbour_stats(nb: np.ndarray) -> dict:
    """{n, mean, min, max (neighbours per row, self included), symmetric, diagonal_ones}."""
    nb = np.asarray(nb)
    k = nb.sum(axis=1)
    return {
        "n": int(nb.shape[0]),
        "mean": float(k.mean()),
        "min": int(k.min()),
        "max": int(k.max()),
        "symmetric": bool(np.array_equal(nb, nb.T)),
        "diagonal_ones": bool(np.all(np.diag(nb) == 1)),
    }


def precision_recall(nb: np.ndarray, truth: np.ndarray) -> dict:
    """Off-diagonal precision, recall and F1 of ``nb`` against the true appropriateness.

    nb, truth: (N, N) 0/1 in the same row order. The diagonal is excluded (always 1).
    """
    nb, truth = np.asarray(nb), np.asarray(truth)
    if nb.shape != truth.shape:
        raise DataError(f"truth matrix has shape {truth.shape}, expected {nb.shape}")
    off = ~np.eye(nb.shape[0], dtype=bool)
    p, t = (nb == 1) & off, (truth == 1) & off
    tp = int((p & t).sum())
    prec = tp / int(p.sum()) if p.any() else float("nan")
    rec = tp / int(t.sum()) if t.any() else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else float("nan")
    return {"precision": float(prec), "recall": float(rec), "f1": float(f1),
            "predicted": int(p.sum()), "true": int(t.sum()), "true_positives": tp}


__all__ = ["build_neighbours", "speaker_similarity", "neighbours_from_similarity",
           "threshold_for_k", "neighbour_stats", "precision_recall", "DEFAULT_TARGET_K"]
