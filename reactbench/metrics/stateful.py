"""A thin stateful layer over :func:`reactbench.metrics.compute_metrics` for evaluation loops.

A validation loop sees generated reactions batch by batch, while every appropriateness metric
needs the whole split at once (REACT2024's appropriate sets span all rows). :class:`ReactionMetrics`
holds the split's fixed arrays, collects each batch under the rows it belongs to, and scores them
in row order when every row has arrived::

    metric = ReactionMetrics.from_split(split, protocol="official")
    for rows, speaker in batches:                      # rows: indices into the split
        metric.update(model(speaker), rows)            # (B, alpha, T, 25)
    scores = metric.compute()                          # MetricScores, as compute_metrics
    metric.reset()

Under the REACT2025/2026 protocols the fixed arrays are the per-sample ``speaker`` and
``targets`` lists, and a batch is a list of B arrays (alpha, T_k, 25)::

    metric = ReactionMetrics(speaker=speakers, targets=targets, protocol="react2025")
    metric.update([pred_3, pred_7], [3, 7])            # samples 3 and 7

No number is computed here: ``compute`` passes the collected arrays to ``compute_metrics`` with
the options given at construction, so both layers give identical scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reactbench.metrics import validate as _v
from reactbench.metrics.api import MetricScores, compute_metrics
from reactbench.metrics.constants import EMOTION_DIM, FACE_3DMM_DIM

OPTIONS = ("protocol", "metrics", "n_jobs", "device", "bootstrap", "seed", "progress")


class ReactionMetrics:
    """Collect batches of generated reactions for the rows of one split and score them with
    ``compute_metrics``.

    REACT2024 protocols: listener_gt, speaker (N, T, 25); neighbours (N, N) 0/1; listener_3dmm:
    optional (N, T, 58) for FRRea-feat; batches (B, alpha, T, 25).
    REACT2025/2026 protocols (``protocol="react2025"``, ``"react2025-corrected"``,
    ``"react2026"``): speaker N arrays (T_k, 25) (or one (N, T, 25) array); ``targets`` N arrays
    (K, T_k, 25) of appropriate real reactions, target 0 the paired listener (or one
    (N, K, T, 25) array); batches a list of B arrays (alpha, T_k, 25) (or one (B, alpha, T, 25)
    array); listener_gt, neighbours and listener_3dmm stay None.
    An argument no requested metric reads may be None (then ``n`` gives N when all are None).
    ``options``: the keyword options of ``compute_metrics`` (protocol, metrics, n_jobs, device,
    bootstrap, seed, progress), checked here.
    """

    def __init__(self, listener_gt=None, speaker=None, neighbours=None, *, targets=None,
                 listener_3dmm=None, n: int | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"ReactionMetrics: unknown option(s) {unknown}; expected some of "
                             f"{list(OPTIONS)}")
        proto = _v.check_protocol(options.get("protocol", "official"))
        _v.check_bootstrap(options.get("bootstrap", 0))
        _v.check_n_jobs(options.get("n_jobs", -1))
        _v.check_device(options.get("device", "cpu"))
        self.options = dict(options)
        self.per_sample = proto.appropriateness == "targets"
        self.lengths: list[int] | None = None
        if self.per_sample:
            _refuse_2024_arrays(proto.name, listener_gt=listener_gt, neighbours=neighbours,
                                listener_3dmm=listener_3dmm)
            speaker = _sample_list(speaker, "speaker", 2, "T_k, 25")
            targets = _sample_list(targets, "targets", 3, "K, T_k, 25")
            self.lengths = _sample_lengths(speaker, targets)
        elif targets is not None:
            raise ValueError(f"targets: protocol {proto.name!r} takes appropriate reactions as "
                             "listener_gt and neighbours; per-sample targets= belong to the "
                             "REACT2025/2026 protocols (e.g. protocol='react2025')")
        self.listener_gt, self.speaker = listener_gt, speaker
        self.neighbours, self.listener_3dmm = neighbours, listener_3dmm
        self.targets = targets
        self.n = _rows(n, listener_gt, speaker, neighbours, targets)
        self.reset()

    @classmethod
    def from_split(cls, split, *, with_3dmm: bool = False, **options: Any) -> ReactionMetrics:
        """From a :class:`reactbench.data.SplitData` (its mirrored rows, GT and neighbours);
        ``with_3dmm``: also the listeners' 3DMM for FRRea-feat."""
        return cls(split.listener_emotion, split.speaker_emotion, split.neighbours,
                   listener_3dmm=split.listener_3dmm if with_3dmm else None, n=split.n,
                   **options)

    @classmethod
    def from_clips(cls, clips, targets, **options: Any) -> ReactionMetrics:
        """From a MARS split (:class:`reactbench.data.mars.ClipSplit`: its N samples' speaker
        sequences) and its targets (a :class:`reactbench.data.targets.Targets` or N arrays
        (K, T_k, 25)); ``protocol`` defaults to ``"react2025"``."""
        options.setdefault("protocol", "react2025")
        tg = getattr(targets, "targets", targets)
        return cls(speaker=clips.speaker_emotion, targets=tg, n=clips.n, **options)

    def reset(self) -> None:
        """Forget every batch (the fixed arrays and options stay)."""
        self._pred: dict[int, np.ndarray] = {}
        self._face: dict[int, np.ndarray] = {}

    @property
    def missing(self) -> list[int]:
        """Rows no batch has given yet."""
        return [k for k in range(self.n) if k not in self._pred]

    def update(self, pred, rows, pred_3dmm=None) -> None:
        """Add ``pred``, the reactions of rows ``rows`` (B indices in [0, N), each row once over
        all updates): (B, alpha, T, 25), or under REACT2025/2026 a list of B arrays
        (alpha, T_k, 25) with T_k the row's length; ``pred_3dmm``: optional (B, alpha, T, 58)
        (REACT2024 protocols)."""
        items = self._batch(pred)
        idx = _check_rows(rows, len(items), self.n)
        again = sorted({int(k) for k in idx if k in self._pred} | _repeated(idx))
        if again:
            raise ValueError(f"rows {again[:5]} given twice; each speaker row is scored once "
                             "(call reset() to start over)")
        if self.per_sample:
            self._check_sample_shapes(items, idx)
        elif self._pred:
            first = next(iter(self._pred.values()))
            if items[0].shape != first.shape:
                raise ValueError(f"pred: (alpha, T, 25) = {items[0].shape} differs from the "
                                 f"earlier batches' {first.shape}")
        face = self._batch_3dmm(pred_3dmm, items)
        for j, k in enumerate(idx):
            self._pred[int(k)] = items[j]
            if face is not None:
                self._face[int(k)] = face[j]

    def compute(self) -> MetricScores:
        """Score every row (in row order) with ``compute_metrics``; every row must have been
        given. Returns a :class:`MetricScores`."""
        missing = self.missing
        if missing:
            raise ValueError(f"{len(missing)} of {self.n} rows have no reactions yet (first: "
                             f"{missing[:5]}); update() every row of the split before compute()")
        if self.per_sample:
            return compute_metrics([self._pred[k] for k in range(self.n)], None, self.speaker,
                                   None, targets=self.targets, **self.options)
        pred = np.stack([self._pred[k] for k in range(self.n)])
        face = np.stack([self._face[k] for k in range(self.n)]) if self._face else None
        return compute_metrics(pred, self.listener_gt, self.speaker, self.neighbours,
                               pred_3dmm=face, listener_3dmm=self.listener_3dmm, **self.options)

    # ------------------------------------------------------------------ batch checks
    def _batch(self, pred) -> list[np.ndarray]:
        """The batch as B float32 arrays (alpha, T_k, 25), shapes checked."""
        if not self.per_sample:
            return list(_v.check_pred(pred, "pred"))
        if isinstance(pred, (list, tuple)):
            if not pred:
                raise ValueError("pred: expected a list of B arrays (alpha, T_k, 25), got an "
                                 "empty list")
            return [_sample_item(x, f"pred[{j}]", 3, "alpha, T_k, 25")
                    for j, x in enumerate(pred)]
        arr = _v.as_float32(pred, "pred")
        if arr.ndim != 4 or arr.shape[-1] != EMOTION_DIM:
            raise ValueError(f"pred: expected a list of B arrays (alpha, T_k, {EMOTION_DIM}) or "
                             f"one array (B, alpha, T, {EMOTION_DIM}), got shape "
                             f"{tuple(arr.shape)}")
        return [_sample_item(x, f"pred[{j}]", 3, "alpha, T_k, 25") for j, x in enumerate(arr)]

    def _check_sample_shapes(self, items: list[np.ndarray], idx: np.ndarray) -> None:
        """Each item has the row's T_k frames and the alpha of every other row."""
        alpha = (next(iter(self._pred.values())).shape[0] if self._pred
                 else items[0].shape[0])
        for j, (x, k) in enumerate(zip(items, idx)):
            if x.shape[0] != alpha:
                raise ValueError(f"pred[{j}] (row {k}): expected alpha = {alpha} generations like "
                                 f"the other rows, got shape {x.shape}")
            if self.lengths is not None and x.shape[1] != self.lengths[k]:
                raise ValueError(f"pred[{j}] (row {k}): expected T_k = {self.lengths[k]} frames "
                                 f"(the row's speaker and targets), got shape {x.shape}")

    def _batch_3dmm(self, pred_3dmm, items: list[np.ndarray]) -> np.ndarray | None:
        """The checked (B, alpha, T, 58) 3DMM batch, or None."""
        if pred_3dmm is not None and self.per_sample:
            raise ValueError(f"pred_3dmm: protocol {self.options.get('protocol')!r} has no "
                             "FRRea-feat; pass None")
        face = None
        if pred_3dmm is not None:
            face = _v.check_pred(pred_3dmm, "pred_3dmm", FACE_3DMM_DIM)
            shape = (len(items), *items[0].shape[:2])
            if face.shape[:3] != shape:
                raise ValueError(f"pred_3dmm: expected (B, alpha, T) = {shape} as pred, "
                                 f"got {face.shape[:3]}")
        if (face is None) != (not self._face) and self._pred:
            raise ValueError("pred_3dmm: give it with every batch or with none")
        return face


def _refuse_2024_arrays(protocol: str, **arrays) -> None:
    for name, value in arrays.items():
        if value is not None:
            raise ValueError(f"{name}: protocol {protocol!r} does not read it (appropriate "
                             "reactions are the per-sample targets=); pass None")


def _sample_item(x, name: str, ndim: int, layout: str) -> np.ndarray:
    arr = _v.as_float32(x, name)
    if arr.ndim != ndim or arr.shape[-1] != EMOTION_DIM or 0 in arr.shape:
        raise ValueError(f"{name}: expected shape ({layout}) with every axis >= 1, got "
                         f"{tuple(arr.shape)}")
    return arr


def _sample_list(x, name: str, ndim: int, layout: str) -> list[np.ndarray] | None:
    """N per-sample float32 arrays of ``ndim`` axes from a list or one array (N, ...)."""
    if x is None:
        return None
    if not isinstance(x, (list, tuple)):
        arr = _v.as_float32(x, name)
        if arr.ndim != ndim + 1:
            raise ValueError(f"{name}: expected a list of N arrays ({layout}) or one array "
                             f"(N, {layout}), got shape {tuple(arr.shape)}")
        x = list(arr)
    if not x:
        raise ValueError(f"{name}: expected a list of N arrays ({layout}), got an empty list")
    return [_sample_item(it, f"{name}[{k}]", ndim, layout) for k, it in enumerate(x)]


def _sample_lengths(speaker: list | None, targets: list | None) -> list[int] | None:
    """T_k per sample from speaker and/or targets (which must agree, with one K)."""
    if targets is not None:
        k0 = targets[0].shape[0]
        for k, t in enumerate(targets):
            if t.shape[0] != k0:
                raise ValueError(f"targets[{k}]: expected K = {k0} targets like targets[0], got "
                                 f"shape {t.shape}")
    if speaker is not None and targets is not None:
        if len(speaker) != len(targets):
            raise ValueError(f"speaker and targets: expected one item per sample each, got "
                             f"{len(speaker)} and {len(targets)}")
        for k, (s, t) in enumerate(zip(speaker, targets)):
            if s.shape[0] != t.shape[1]:
                raise ValueError(f"targets[{k}]: expected T_k = {s.shape[0]} frames like "
                                 f"speaker[{k}], got shape {t.shape}")
    if speaker is not None:
        return [s.shape[0] for s in speaker]
    if targets is not None:
        return [t.shape[1] for t in targets]
    return None


def _check_rows(rows, b: int, n: int) -> np.ndarray:
    idx = np.asarray(rows).reshape(-1)
    if idx.dtype.kind not in "iu" or len(idx) != b:
        raise ValueError(f"rows: expected {b} integer row indices (one per pred row), got "
                         f"{np.asarray(rows)!r}")
    if (idx < 0).any() or (idx >= n).any():
        raise ValueError(f"rows: indices must lie in [0, {n}) (N rows of the split); "
                         f"got {idx.min()}..{idx.max()}")
    return idx


def _rows(n: int | None, *arrays) -> int:
    """N from ``n`` or the first array given; they must agree."""
    sizes = {len(a) for a in arrays if a is not None}
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a row count >= 1, got {n!r}")
        sizes.add(int(n))
    if not sizes:
        raise ValueError("ReactionMetrics: give listener_gt, speaker, neighbours or targets (N "
                         "rows), or n= when no requested metric reads them")
    if len(sizes) > 1:
        raise ValueError(f"ReactionMetrics: the arrays (and n) disagree on N: {sorted(sizes)} "
                         "rows")
    return sizes.pop()


def _repeated(idx: np.ndarray) -> set[int]:
    values, counts = np.unique(idx, return_counts=True)
    return {int(v) for v in values[counts > 1]}


__all__ = ["ReactionMetrics"]
