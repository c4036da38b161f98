"""B_MeanFr: the mean over time of B_MeanSeq's sequence -- one (25,) frame repeated over all
frames, rows and alpha generations (official definition)."""

from __future__ import annotations

import numpy as np

from reactbench.models import ModelInfo, Reactions, SpeakerInput

from ._common import WindowBaseline, repeat_alpha, require_train
from .b_meanseq import mean_sequence


class BMeanFr(WindowBaseline):
    info = ModelInfo(name="b_meanfr", version="1", citation="REACT2024 official baselines",
                     display="B_MeanFr", table_order=4)
    needs_audio = False

    def __init__(self) -> None:
        self.mean_frame: np.ndarray | None = None

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        seq = mean_sequence(require_train(train, "b_meanfr"))
        self.mean_frame = seq.mean(axis=0, dtype=np.float64).astype(np.float32)

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        shape = (speaker.batch_size, speaker.frames - start, self.mean_frame.shape[0])
        return Reactions(emotion=repeat_alpha(np.broadcast_to(self.mean_frame, shape), alpha))
