"""Appropriateness (neighbour) matrices from speaker-behaviour similarity.

Speakers whose behaviours are similar enough share their listeners' real reactions as
appropriate: ``nb[k, j] = 1`` means the GT listener reaction of row j is appropriate for the
speaker of row k (official semantics, mirrored row order, diagonal always 1).

The similarity (documented here, used by ``reactbench appropriate``):

1. Each speaker row is summarised at ``WINDOW_FRAMES`` = 10 frames (0.4 s) resolution: its
   emotion sequence (N, T, 25) and, when audio was loaded, its MFCC sequence (N, T, 26) are
   averaged over non-overlapping windows -> (N, W, D).
2. Per stream, the similarity of rows k and j is the Pearson correlation of the two windowed
   sequences (each column centred over time within its row, then the whole (W, D) block
   flattened): how alike the two speakers' behaviour unfolds, regardless of each person's
   baseline. Small timing differences are tolerated: the correlation is maximised over global
   shifts of up to ``MAX_SHIFT_S`` = 1 s (computed on the overlapping windows).
3. The streams are averaged (``EMOTION_WEIGHT`` = 0.5 for emotion, the rest for audio; emotion
   alone without audio) into s[k, j] in [-1, 1]; s is symmetric with s[k, k] = 1.
4. ``nb = s >= threshold``, or with ``target_k = K`` the threshold is the
   value that gives a mean of K neighbours per row (self included); the default is the
   absolute ``DEFAULT_THRESHOLD`` = 0.5. The matrix is symmetric because s is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.atomic import check_target
from reactbench.constants import FPS
from reactbench.data import layout
from reactbench.data.loader import load_split
from reactbench.data.synthetic import TRUTH_FILE, read_truth
from reactbench.errors import DataError, param

WINDOW_FRAMES = 10  # 0.4 s windows at 25 fps
MAX_SHIFT_S = 1.0  # timing tolerance: best correlation over global shifts up to this
EMOTION_WEIGHT = 0.5  # weight of the emotion stream (audio gets 1 - EMOTION_WEIGHT)
DEFAULT_THRESHOLD = 0.5  # default absolute similarity threshold


def _windowed(x: np.ndarray, window: int) -> np.ndarray:
    """(N, T, D) -> (N, W, D) window means (a last partial window is dropped)."""
    N, T, D = x.shape
    w = max(1, min(window, T))
    W = T // w
    return x[:, : W * w].reshape(N, W, w, D).mean(axis=2)


def _unit_rows(w: np.ndarray) -> np.ndarray:
    """(N, W, D) -> (N, W*D): columns centred over time per row, rows scaled to unit norm."""
    c = w - w.mean(axis=1, keepdims=True)
    f = c.reshape(len(c), -1)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return f / np.where(norm > 1e-12, norm, 1.0)


def stream_similarity(x: np.ndarray, window: int = WINDOW_FRAMES,
                      max_shift_s: float = MAX_SHIFT_S) -> np.ndarray:
    """(N, T, D) sequences of one stream -> (N, N) shift-tolerant correlation in [-1, 1].

    A row with no variation at all correlates 0 with every other row (1 with itself).
    """
    w = _windowed(np.asarray(x, dtype=np.float64), window)
    W = w.shape[1]
    u = _unit_rows(w)
    sim = u @ u.T
    max_shift = min(int(round(max_shift_s * FPS / window)), W - 2)
    for s in range(1, max(0, max_shift) + 1):
        m = _unit_rows(w[:, s:]) @ _unit_rows(w[:, : W - s]).T  # row k later than row j
        sim = np.maximum(sim, np.maximum(m, m.T))
    sim = np.clip(0.5 * (sim + sim.T), -1.0, 1.0)
    np.fill_diagonal(sim, 1.0)
    return sim


def speaker_similarity(speaker_emotion: np.ndarray,
                       speaker_mfcc: np.ndarray | None = None) -> np.ndarray:
    """Speaker-behaviour similarity (see the module docstring).

    speaker_emotion: (N, T, 25); speaker_mfcc: (N, T, 26) or None (emotion only).
    Returns (N, N) float64 in [-1, 1], symmetric, diagonal 1.
    """
    e = np.asarray(speaker_emotion)
    if e.ndim != 3 or e.shape[0] < 1 or e.shape[1] < 1:
        raise DataError(f"speaker_emotion: expected (N, T, 25), got shape {e.shape}")
    sim = stream_similarity(e)
    if speaker_mfcc is not None:
        a = np.asarray(speaker_mfcc)
        if a.ndim != 3 or a.shape[:2] != e.shape[:2]:
            raise DataError(
                f"speaker_mfcc: expected shape ({e.shape[0]}, {e.shape[1]}, F), got {a.shape}")
        sim = EMOTION_WEIGHT * sim + (1.0 - EMOTION_WEIGHT) * stream_similarity(a)
    return sim


def threshold_for_k(sim: np.ndarray, target_k: float) -> float:
    """The similarity threshold giving a mean of about ``target_k`` neighbours per row (self
    included) for a symmetric (N, N) similarity."""
    N = sim.shape[0]
    if not 1 <= target_k <= N:
        raise DataError(f"{param('target_k', target_k)}: expected a number between 1 and "
                        f"N = {N}")
    off = np.sort(sim[np.triu_indices(N, k=1)])[::-1]
    n_pairs = int(round((target_k - 1) * N / 2))  # each off-diagonal pair adds 2 to the total
    if n_pairs <= 0:
        return float(np.nextafter(1.0, 2.0))  # above every off-diagonal value: self only
    return float(off[min(n_pairs, len(off)) - 1])


def check_threshold_args(threshold: float | None, target_k: float | None) -> None:
    """Refuse ``threshold`` / ``target_k`` values that no split can satisfy (before loading)."""
    if threshold is not None and target_k is not None:
        raise DataError(f"give either {param('threshold')} or {param('target_k')}, not both")
    if threshold is not None and not -1.0 <= float(threshold) <= 1.0:
        raise DataError(f"{param('threshold', threshold)}: expected a similarity in [-1, 1]")
    if target_k is not None and not float(target_k) >= 1:
        raise DataError(f"{param('target_k', target_k)}: expected a number of neighbours >= 1 "
                        "(self included)")


def resolve_threshold(sim: np.ndarray, threshold: float | None = None,
                      target_k: float | None = None) -> float:
    """The threshold to apply: ``threshold`` (a similarity in [-1, 1]), the one reaching
    ``target_k`` neighbours per row on average, or ``DEFAULT_THRESHOLD`` when neither is given."""
    check_threshold_args(threshold, target_k)
    if target_k is not None:
        return threshold_for_k(sim, target_k)
    return DEFAULT_THRESHOLD if threshold is None else float(threshold)


def neighbours_from_similarity(sim: np.ndarray, *, threshold: float | None = None,
                               target_k: float | None = None) -> np.ndarray:
    """(N, N) similarity -> (N, N) float64 0/1 neighbour matrix, diagonal 1.

    At most one of ``threshold`` (absolute, a similarity in [-1, 1]) or ``target_k`` (mean
    neighbours per row, self included); neither means ``threshold = DEFAULT_THRESHOLD``.
    """
    sim = np.asarray(sim, dtype=np.float64)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise DataError(f"similarity: expected a square (N, N) matrix, got shape {sim.shape}")
    return _apply(sim, resolve_threshold(sim, threshold, target_k))


def _apply(sim: np.ndarray, threshold: float) -> np.ndarray:
    nb = (sim >= threshold).astype(np.float64)
    np.fill_diagonal(nb, 1.0)
    return nb


def build_neighbours(data, *, threshold: float | None = None, target_k: float | None = None,
                     use_audio: bool = True) -> np.ndarray:
    """Neighbour matrix of a loaded split (:class:`SplitData`), in its mirrored row order.

    Returns (N, N) float64 0/1 with diagonal 1; see the module docstring for the similarity.
    """
    mfcc = data.speaker_audio.get("mfcc") if use_audio else None
    sim = speaker_similarity(data.speaker_emotion, mfcc)
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


def appropriate_split(root, split: str, *, threshold: float | None = None,
                      target_k: float | None = None, frames: int | None = 750,
                      use_audio: bool = True, out=None, force: bool = False, write: bool = True,
                      progress: bool = False) -> dict:
    """Build, check and (optionally) write the neighbour matrix of one split of a dataset.

    Writes ``out`` (default ``<root>/neighbour_emotion_<split>.npy``, official name and mirrored
    order); an existing file is never replaced unless ``force``. Returns a report dict:
    {path (or None), written, stats (see neighbour_stats), threshold, similarity (the method),
    truth (precision/recall against the synthetic generator's truth, or None)}.
    """

    root = Path(root)
    layout.check_split_name(split)
    check_threshold_args(threshold, target_k)
    if out is not None and not write:
        no_write = param("write", False)
        raise DataError(f"{param('out', out)} and {no_write} contradict each other: {no_write} "
                        "writes nothing; drop one of them")
    path = Path(out) if out is not None else layout.neighbour_path(root, split)
    if write and path.exists() and not path.is_dir() and not force:
        raise DataError(
            f"{path}: already exists; pass {param('force')} to replace it (or "
            f"{param('out', 'FILE')} to write elsewhere, {param('write', False)} to only print "
            "the statistics)")
    if write:
        check_target(path, what=param("out"), error=DataError)
    data = load_split(root, split, frames=frames, audio=use_audio, neighbours=False,
                      progress=progress)
    mfcc = data.speaker_audio.get("mfcc") if use_audio else None
    sim = speaker_similarity(data.speaker_emotion, mfcc)
    used = resolve_threshold(sim, threshold, target_k)
    nb = _apply(sim, used)
    truth = read_truth(root, split)
    if truth is not None and truth.shape != nb.shape:
        raise DataError(
            f"{root / TRUTH_FILE.format(split=split)}: shape {truth.shape}, "
            f"expected {nb.shape} (N = 2 x pairs in {split}.csv)")
    report = {
        "path": str(path) if write else None,
        "written": False,
        "n": int(nb.shape[0]),
        "stats": neighbour_stats(nb),
        "threshold": float(used),
        "similarity": "emotion+mfcc" if mfcc is not None else "emotion",
        "truth": precision_recall(nb, truth) if truth is not None else None,
        "neighbours": nb,
    }
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npy")
        np.save(tmp, nb)
        tmp.replace(path)
        report["written"] = True
    return report


__all__ = ["build_neighbours", "speaker_similarity", "neighbours_from_similarity",
           "threshold_for_k", "stream_similarity", "neighbour_stats", "precision_recall",
           "appropriate_split", "resolve_threshold",
           "DEFAULT_THRESHOLD"]
