"""Diagnostic plug-in: the mean listener reaction given the speaker's recent voicing.

Why it exists: on the synthetic dataset the ReactDiff ablation without video (its reaction
latent is encoded from the listener's audio alone) scores better than the full model, unlike
the paper's Table 4. This model learns no face at all. It only knows how much the speaker has
been voicing over the last second (from the log-mel energy of the speaker's audio) and returns
the training split's mean listener emotion for that state. It tests whether turn-taking alone
explains the w/o-video result. It does not: on the test split it scores like B_MeanSeq (0.601 /
91.98 against w/o video's 1.144 / 67.31; ``../README.md`` has the whole analysis).

    reactbench run --model leaderboards/synthetic/analysis/audio_state_mean.py:AudioStateMean \
        --split test --metrics FRCorr,FRDist,FRDiv

State of frame t: the share of voiced speaker frames in [t - window + 1, t] (trailing, so the
model is causal and its online output equals its offline output), cut into ``bins`` equal
intervals. A frame is voiced when its mean log-mel energy lies above the threshold that splits
the training speakers' frame energies into two clusters (1-D 2-means). Deterministic: the
alpha reactions are identical (FRDiv = 0).
"""

from __future__ import annotations

import numpy as np
from reactbench.baselines._common import repeat_alpha

from reactbench.errors import ModelError
from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput


def frame_energy(logmel: np.ndarray) -> np.ndarray:
    """(N, T, bands) log-mel dB -> (N, T) mean energy per frame."""
    return logmel.mean(axis=-1, dtype=np.float64)


def two_means_threshold(x: np.ndarray, iters: int = 50) -> float:
    """The midpoint of the two cluster centres of 1-D 2-means on the values x."""
    lo, hi = np.percentile(x, [10, 90])
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        a, b = x[x <= mid], x[x > mid]
        if len(a) == 0 or len(b) == 0:
            break
        lo, hi = a.mean(), b.mean()
    return float(0.5 * (lo + hi))


def voicing_state(energy: np.ndarray, threshold: float, window: int, bins: int) -> np.ndarray:
    """(N, T) energies -> (N, T) int state in [0, bins): binned trailing share of voiced frames
    over the last ``window`` frames (fewer at the start of a clip)."""
    voiced = (energy > threshold).astype(np.float64)
    csum = np.cumsum(voiced, axis=1)
    t = np.arange(energy.shape[1])
    lagged = np.where(t >= window, np.roll(csum, window, axis=1), 0.0)
    share = (csum - lagged) / np.minimum(t + 1, window)
    return np.minimum((share * bins).astype(int), bins - 1)


class AudioStateMean(BaseReactionModel):
    needs_train = True
    needs_audio = True

    def __init__(self, window: int | str = 25, bins: int | str = 4):
        self.window, self.bins = int(window), int(bins)
        if self.window < 1 or self.bins < 1:
            raise ModelError("audio_state_mean: window and bins must be positive integers")
        self.info = ModelInfo(name="audio_state_mean", version="1",
                              params={"window": self.window, "bins": self.bins},
                              citation="reactbench ablation diagnostic")
        self.threshold: float | None = None
        self.means: np.ndarray | None = None  # (bins, 25)

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        if train is None or "logmel" not in train.speaker_audio:
            raise ModelError("audio_state_mean needs the training split with log-mel audio")
        energy = frame_energy(train.speaker_audio["logmel"])
        self.threshold = two_means_threshold(energy.ravel())
        state = voicing_state(energy, self.threshold, self.window, self.bins)
        listener = train.listener_emotion.reshape(-1, train.listener_emotion.shape[-1])
        overall = listener.mean(axis=0)
        self.means = np.stack([listener[state.ravel() == s].mean(axis=0)
                               if np.any(state == s) else overall for s in range(self.bins)])

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        if self.means is None:
            raise ModelError("audio_state_mean: call fit() first")
        if "logmel" not in speaker.audio:
            raise ModelError("audio_state_mean needs the speaker's log-mel audio")
        state = voicing_state(frame_energy(speaker.audio["logmel"]), self.threshold,
                              self.window, self.bins)
        return Reactions(emotion=repeat_alpha(self.means[state], alpha))  # (B, alpha, T, 25)
