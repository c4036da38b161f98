"""A thin stateful layer over :func:`reactbench.metrics.compute_metrics` for evaluation loops.

A validation loop sees generated reactions batch by batch, while every REACT2024 metric needs the
whole split at once (appropriate sets span all rows). :class:`ReactionMetrics` holds the split's
fixed arrays, collects each batch under the speaker rows it belongs to, and scores them in row
order when every row has arrived::

    metric = ReactionMetrics.from_split(split, protocol="official")
    for rows, speaker in batches:                      # rows: indices into the split
        metric.update(model(speaker), rows)            # (B, alpha, T, 25)
    scores = metric.compute()                          # MetricScores, as compute_metrics
    metric.reset()

No number is computed here: ``compute`` passes the stacked arrays to ``compute_metrics`` with the
options given at construction, so both layers give identical scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reactbench.metrics import validate as _v
from reactbench.metrics.api import MetricScores, compute_metrics
from reactbench.metrics.constants import FACE_3DMM_DIM

OPTIONS = ("protocol", "metrics", "n_jobs", "device", "bootstrap", "seed", "progress")


class ReactionMetrics:
    """Collect (B, alpha, T, 25) batches of generated reactions for the rows of one split and
    score them with ``compute_metrics``.

    listener_gt, speaker: (N, T, 25); neighbours: (N, N) 0/1; listener_3dmm: optional
    (N, T, 58) for FRRea-feat. An argument no requested metric reads may be None (then ``n``
    gives N when all three are None). ``options``: the keyword options of ``compute_metrics``
    (protocol, metrics, n_jobs, device, bootstrap, seed, progress), checked here.
    """

    def __init__(self, listener_gt=None, speaker=None, neighbours=None, *, listener_3dmm=None,
                 n: int | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"ReactionMetrics: unknown option(s) {unknown}; expected some of "
                             f"{list(OPTIONS)}")
        _v.check_protocol(options.get("protocol", "official"))
        _v.check_bootstrap(options.get("bootstrap", 0))
        _v.check_n_jobs(options.get("n_jobs", -1))
        _v.check_device(options.get("device", "cpu"))
        self.listener_gt, self.speaker = listener_gt, speaker
        self.neighbours, self.listener_3dmm = neighbours, listener_3dmm
        self.options = dict(options)
        self.n = _rows(n, listener_gt, speaker, neighbours)
        self.reset()

    @classmethod
    def from_split(cls, split, *, with_3dmm: bool = False, **options: Any) -> ReactionMetrics:
        """From a :class:`reactbench.data.SplitData` (its mirrored rows, GT and neighbours);
        ``with_3dmm``: also the listeners' 3DMM for FRRea-feat."""
        return cls(split.listener_emotion, split.speaker_emotion, split.neighbours,
                   listener_3dmm=split.listener_3dmm if with_3dmm else None, n=split.n,
                   **options)

    def reset(self) -> None:
        """Forget every batch (the fixed arrays and options stay)."""
        self._pred: dict[int, np.ndarray] = {}
        self._face: dict[int, np.ndarray] = {}

    @property
    def missing(self) -> list[int]:
        """Rows no batch has given yet."""
        return [k for k in range(self.n) if k not in self._pred]

    def update(self, pred, rows, pred_3dmm=None) -> None:
        """Add ``pred`` (B, alpha, T, 25), the reactions of speaker rows ``rows`` (B indices in
        [0, N), each row once over all updates); ``pred_3dmm``: optional (B, alpha, T, 58)."""
        p = _v.check_pred(pred, "pred")
        idx = np.asarray(rows).reshape(-1)
        if idx.dtype.kind not in "iu" or len(idx) != p.shape[0]:
            raise ValueError(f"rows: expected {p.shape[0]} integer row indices (one per pred "
                             f"row), got {np.asarray(rows)!r}")
        if (idx < 0).any() or (idx >= self.n).any():
            raise ValueError(f"rows: indices must lie in [0, {self.n}) (N rows of the split); "
                             f"got {idx.min()}..{idx.max()}")
        again = sorted({int(k) for k in idx if k in self._pred} | _repeated(idx))
        if again:
            raise ValueError(f"rows {again[:5]} given twice; each speaker row is scored once "
                             "(call reset() to start over)")
        if self._pred:
            first = next(iter(self._pred.values()))
            if p.shape[1:] != first.shape:
                raise ValueError(f"pred: (alpha, T, 25) = {p.shape[1:]} differs from the earlier "
                                 f"batches' {first.shape}")
        face = None
        if pred_3dmm is not None:
            face = _v.check_pred(pred_3dmm, "pred_3dmm", FACE_3DMM_DIM)
            if face.shape[:3] != p.shape[:3]:
                raise ValueError(f"pred_3dmm: expected (B, alpha, T) = {p.shape[:3]} as pred, "
                                 f"got {face.shape[:3]}")
        if (face is None) != (not self._face) and self._pred:
            raise ValueError("pred_3dmm: give it with every batch or with none")
        for j, k in enumerate(idx):
            self._pred[int(k)] = p[j]
            if face is not None:
                self._face[int(k)] = face[j]

    def compute(self) -> MetricScores:
        """Score every row (in row order) with ``compute_metrics``; every row must have been
        given. Returns a :class:`MetricScores`."""
        missing = self.missing
        if missing:
            raise ValueError(f"{len(missing)} of {self.n} rows have no reactions yet (first: "
                             f"{missing[:5]}); update() every row of the split before compute()")
        pred = np.stack([self._pred[k] for k in range(self.n)])
        face = np.stack([self._face[k] for k in range(self.n)]) if self._face else None
        return compute_metrics(pred, self.listener_gt, self.speaker, self.neighbours,
                               pred_3dmm=face, listener_3dmm=self.listener_3dmm, **self.options)


def _rows(n: int | None, *arrays) -> int:
    """N from ``n`` or the first array given; they must agree."""
    sizes = {len(a) for a in arrays if a is not None}
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a row count >= 1, got {n!r}")
        sizes.add(int(n))
    if not sizes:
        raise ValueError("ReactionMetrics: give listener_gt, speaker or neighbours (N rows), or "
                         "n= when no requested metric reads them")
    if len(sizes) > 1:
        raise ValueError(f"ReactionMetrics: the arrays (and n) disagree on N: {sorted(sizes)} "
                         "rows")
    return sizes.pop()


def _repeated(idx: np.ndarray) -> set[int]:
    values, counts = np.unique(idx, return_counts=True)
    return {int(v) for v in values[counts > 1]}


__all__ = ["ReactionMetrics"]
