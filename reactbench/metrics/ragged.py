"""Variable-length inputs of the ``"targets"`` protocols (REACT2025/2026), checked and packed.

The official code scores a list of samples: sample k holds ``pred[k]`` (A, T_k, 25) generated
reactions, ``targets[k]`` (K, T_k, 25) appropriate real reactions (target 0 the paired listener)
and ``speaker[k]`` (T_k, 25); lengths differ between samples, never within one. The kernels get
the samples packed along time: ``pred`` (A, L, 25), ``targets`` (K, L, 25), ``speaker`` (L, 25)
with L = sum_k T_k, sample k being frames ``offsets[k]:offsets[k + 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reactbench.metrics.constants import EMOTION_DIM
from reactbench.metrics.validate import as_float32, check_finite


@dataclass
class Ragged:
    """Packed variable-length samples (float32, C-contiguous).

    pred (A, L, 25); targets (K, L, 25) or None; speaker (L, 25) or None; offsets (N + 1,)
    int64; lengths (N,) int64; order (N,) int64: the samples longest first (kernels visit them
    in this order so the threads stay balanced)."""

    pred: np.ndarray
    targets: np.ndarray | None
    speaker: np.ndarray | None
    offsets: np.ndarray
    lengths: np.ndarray
    order: np.ndarray

    @property
    def n(self) -> int:
        """Number of samples N."""
        return int(self.lengths.shape[0])

    @property
    def alpha(self) -> int:
        """Generations per sample A."""
        return int(self.pred.shape[0])


def is_sequence_list(x) -> bool:
    """Whether ``x`` is a list or tuple of array-likes (the variable-length form)."""
    return isinstance(x, (list, tuple))


def _items(x, name: str, n: int | None, per_item: str) -> list:
    """``x`` as a list of items: a list/tuple as is, an array split along its first axis."""
    if is_sequence_list(x):
        items = list(x)
    else:
        arr = as_float32(x, name)
        if arr.ndim != len(per_item.split(",")) + 1:
            raise ValueError(
                f"{name}: expected a list of N arrays ({per_item}) or one array (N, {per_item}), "
                f"got shape {tuple(arr.shape)}"
            )
        items = list(arr)
    if not items:
        raise ValueError(f"{name}: expected a non-empty list of N arrays ({per_item}), got an "
                         f"empty list")
    if n is not None and len(items) != n:
        raise ValueError(f"{name}: expected N = {n} items (one per pred item), got {len(items)}")
    return items


def _item(x, name: str, ndim: int, shape_text: str) -> np.ndarray:
    arr = as_float32(x, name)
    if arr.ndim != ndim or arr.shape[-1] != EMOTION_DIM:
        raise ValueError(f"{name}: expected shape {shape_text}, got {tuple(arr.shape)}")
    check_finite(arr, name)
    return arr


def check_ragged(pred, speaker, targets, *, need_speaker: bool, need_targets: bool,
                 protocol_name: str) -> Ragged:
    """Validate and pack the variable-length inputs.

    pred: a list of N arrays (A, T_k, 25) or one (N, A, T, 25) array; speaker: N arrays (T_k, 25)
    or (N, T, 25); targets: N arrays (K, T_k, 25) or (N, K, T, 25). A and K are the same for
    every sample; each speaker and target has its prediction's length T_k. Arrays no requested
    metric reads may be None. Raises ValueError naming the argument and the index."""
    items = _items(pred, "pred", None, "alpha, T_k, 25")
    n = len(items)
    preds = []
    for k, it in enumerate(items):
        arr = _item(it, f"pred[{k}]", 3, f"(alpha, T_k, {EMOTION_DIM})")
        if 0 in arr.shape:
            raise ValueError(f"pred[{k}]: expected alpha >= 1 and T_k >= 1, got shape "
                             f"{tuple(arr.shape)}")
        if preds and arr.shape[0] != preds[0].shape[0]:
            raise ValueError(
                f"pred[{k}]: expected alpha = {preds[0].shape[0]} generations like pred[0], got "
                f"shape {tuple(arr.shape)} (every sample needs the same number of generations)"
            )
        preds.append(arr)
    lengths = np.array([p.shape[1] for p in preds], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    sp = tg = None
    if need_speaker:
        if speaker is None:
            raise ValueError(f"speaker: got None, but FRSyn reads it; pass N arrays (T_k, "
                             f"{EMOTION_DIM})")
        sitems = _items(speaker, "speaker", n, "T_k, 25")
        sp = np.empty((int(offsets[-1]), EMOTION_DIM), dtype=np.float32)
        for k, it in enumerate(sitems):
            arr = _item(it, f"speaker[{k}]", 2, f"(T_k, {EMOTION_DIM})")
            if arr.shape[0] != lengths[k]:
                raise ValueError(f"speaker[{k}]: expected T_k = {lengths[k]} frames like "
                                 f"pred[{k}], got shape {tuple(arr.shape)}")
            sp[offsets[k]:offsets[k + 1]] = arr
    if need_targets:
        if targets is None:
            raise ValueError(f"targets: got None, but the appropriateness metrics of protocol "
                             f"{protocol_name!r} read it; pass N arrays (K, T_k, {EMOTION_DIM})")
        titems = _items(targets, "targets", n, "K, T_k, 25")
        for k, it in enumerate(titems):
            arr = _item(it, f"targets[{k}]", 3, f"(K, T_k, {EMOTION_DIM})")
            if arr.shape[0] < 1:
                raise ValueError(f"targets[{k}]: expected K >= 1 appropriate reactions, got "
                                 f"shape {tuple(arr.shape)}")
            if arr.shape[1] != lengths[k]:
                raise ValueError(f"targets[{k}]: expected T_k = {lengths[k]} frames like "
                                 f"pred[{k}], got shape {tuple(arr.shape)}")
            if tg is None:
                tg = np.empty((arr.shape[0], int(offsets[-1]), EMOTION_DIM), dtype=np.float32)
            elif arr.shape[0] != tg.shape[0]:
                raise ValueError(f"targets[{k}]: expected K = {tg.shape[0]} targets like "
                                 f"targets[0], got shape {tuple(arr.shape)}")
            tg[:, offsets[k]:offsets[k + 1]] = arr
    alpha = preds[0].shape[0]
    packed = np.empty((alpha, int(offsets[-1]), EMOTION_DIM), dtype=np.float32)
    for k, arr in enumerate(preds):
        packed[:, offsets[k]:offsets[k + 1]] = arr
    order = np.argsort(-lengths, kind="stable").astype(np.int64)
    return Ragged(packed, tg, sp, offsets, lengths, order)


def from_packed(pred: np.ndarray, targets: np.ndarray | None, speaker: np.ndarray | None,
                lengths: np.ndarray) -> Ragged:
    """A :class:`Ragged` from already packed, trusted arrays and the per-sample lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Ragged(pred, targets, speaker, offsets, lengths,
                  np.argsort(-lengths, kind="stable").astype(np.int64))
