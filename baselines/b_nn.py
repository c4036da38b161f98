"""B_NN: retrieval sanity baseline (not in the official code).

For each evaluated speaker, find the alpha most similar TRAINING speakers and return their real
listener reactions (generation i = the i-th nearest; distinct rows; when alpha exceeds the
training rows the list wraps around).

Similarity: Euclidean distance between standardised descriptors of the speaker's 25-d emotion
over frames [0, t): per-column mean and standard deviation, and per-column means of 1-second
blocks (25 frames; the last block may be partial). The two parts weigh equally. Online, the
descriptor uses the prefix [0, end) for both the evaluated and the training speakers, and the
returned frames are the neighbours' listener frames [start, end): causal by construction.
"""

from __future__ import annotations

import numpy as np

from reactbench.models import ModelInfo, Reactions, SpeakerInput

from ._common import WindowBaseline, frames_of, require_train

BLOCK = 25  # frames per descriptor block (1 s at 25 fps)


def descriptor(emotion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, t, 25) -> (stats (B, 50), blocks (B, ceil(t/25)*25)) float64."""
    x = np.asarray(emotion, dtype=np.float64)
    b, t, d = x.shape
    stats = np.concatenate([x.mean(axis=1), x.std(axis=1)], axis=1)
    n_blocks = -(-t // BLOCK)
    pad = n_blocks * BLOCK - t
    sums = np.pad(x, ((0, 0), (0, pad), (0, 0))).reshape(b, n_blocks, BLOCK, d).sum(axis=2)
    counts = np.minimum(BLOCK, t - np.arange(n_blocks) * BLOCK)[None, :, None]
    return stats, (sums / counts).reshape(b, -1)


class BNearestNeighbour(WindowBaseline):
    info = ModelInfo(name="b_nn", version="1", citation="reactbench retrieval baseline",
                     display="B_NN (retrieval)", table_order=5)
    needs_audio = False

    def __init__(self) -> None:
        self._train = None
        self._cache: dict[int, tuple] = {}

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        self._train = require_train(train, "b_nn")
        self._cache = {}

    def _train_features(self, t: int):
        if t not in self._cache:
            frames_of(self._train.speaker_emotion[0], t, "b_nn")  # error when too short
            stats, blocks = descriptor(self._train.speaker_emotion[:, :t])
            scales = [(f.mean(0), f.std(0) + 1e-6) for f in (stats, blocks)]
            z = [(f - m) / s for f, (m, s) in zip((stats, blocks), scales)]
            self._cache[t] = (z, scales)
        return self._cache[t]

    def neighbours(self, emotion: np.ndarray) -> np.ndarray:
        """(B, t, 25) speaker prefix -> (B, n_train) training rows sorted by similarity."""
        z_train, scales = self._train_features(emotion.shape[1])
        dist = np.zeros((emotion.shape[0], z_train[0].shape[0]))
        for f, zt, (m, s) in zip(descriptor(emotion), z_train, scales):
            z = (f - m) / s
            sq = (z**2).sum(1)[:, None] + (zt**2).sum(1)[None] - 2 * z @ zt.T
            dist += np.maximum(sq, 0) / z.shape[1]
        return np.argsort(dist, axis=1, kind="stable")

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        order = self.neighbours(speaker.emotion)
        pick = order[:, np.arange(alpha) % order.shape[1]]  # (B, alpha)
        end = speaker.frames
        emotion = self._train.listener_emotion[pick, start:end]
        face = self._train.listener_3dmm[pick, start:end]
        return Reactions(
            emotion=np.ascontiguousarray(emotion, dtype=np.float32),
            face_3dmm=np.ascontiguousarray(face, dtype=np.float32),
        )
