"""B_MeanSeq: the per-frame mean sequence (T, 25) of every TRAINING speaker and listener
emotion sequence, repeated over rows and alpha generations (official definition)."""

from __future__ import annotations

import numpy as np

from reactbench.models import ModelInfo, Reactions, SpeakerInput

from ._common import WindowBaseline, frames_of, repeat_alpha, require_train


def mean_sequence(train) -> np.ndarray:
    """(T, 25) float32: mean over all training speaker and listener sequences, per frame."""
    both = np.concatenate([train.speaker_emotion, train.listener_emotion], axis=0)
    return both.mean(axis=0, dtype=np.float64).astype(np.float32)


class BMeanSeq(WindowBaseline):
    info = ModelInfo(name="b_meanseq", version="1", citation="REACT2024 official baselines",
                     display="B_MeanSeq", table_order=3)
    needs_audio = False

    def __init__(self) -> None:
        self.mean_seq: np.ndarray | None = None

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        self.mean_seq = mean_sequence(require_train(train, "b_meanseq"))

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        seq = frames_of(self.mean_seq, speaker.frames, "b_meanseq")[start:]
        rows = np.broadcast_to(seq, (speaker.batch_size, *seq.shape))
        return Reactions(emotion=repeat_alpha(rows, alpha))
