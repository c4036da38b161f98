"""B_MeanFr (REACT2026 naive baselines): the mean frame of every training *listener* frame,
repeated over each sample's frames and the alpha generations.

The mean is frame-weighted (every frame of every listener clip of the training split counts
once), summed in float64 and cast to float32, as the challenge's baselines script computes it.
"""

from __future__ import annotations

import numpy as np

from reactbench.constants import EMOTION_DIM
from reactbench.data import mars_layout as ml
from reactbench.errors import ModelError
from reactbench.models import ModelInfo

from ._common import SampleBaseline, require_train


def listener_mean_frame(train) -> np.ndarray:
    """(25,) float32: the frame-weighted mean of every listener clip of ``train`` (a
    ClipSplit; its ``attributes`` hold every clip of the split)."""
    ids = sorted(c for c in train.attributes if ml.parse_id(c)[0] == "listener")
    if not ids:
        raise ModelError(f"b26_meanfr: the training split {train.root} holds no listener clips")
    total = np.zeros(EMOTION_DIM, dtype=np.float64)
    frames = 0
    for c in ids:
        x = np.asarray(train.attributes[c], dtype=np.float64)
        total += x.sum(axis=0)
        frames += len(x)
    return (total / frames).astype(np.float32)


class BMeanFr2026(SampleBaseline):
    info = ModelInfo(name="b26_meanfr", version="1",
                     citation="REACT2026 naive baselines (B_MeanFr)", display="B_MeanFr",
                     table_order=4)
    needs_train = True

    def __init__(self) -> None:
        self.mean_frame: np.ndarray | None = None

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        self.mean_frame = listener_mean_frame(require_train(train, "b26_meanfr"))

    def generate_samples(self, data, targets: list[np.ndarray], *, alpha: int,
                         seed: int) -> list[np.ndarray]:
        if self.mean_frame is None:
            raise ModelError("b26_meanfr: fit was not called (it needs the training split)")
        return [np.ascontiguousarray(np.broadcast_to(self.mean_frame, (alpha, int(n),
                                                                       EMOTION_DIM)))
                for n in data.lengths]
