"""Helpers shared by the baselines."""

from __future__ import annotations

import numpy as np

from reactbench.errors import ModelError, param
from reactbench.models import BaseReactionModel, Reactions, SpeakerInput


def repeat_alpha(x: np.ndarray, alpha: int) -> np.ndarray:
    """(B, t, D) -> (B, alpha, t, D) float32 (a broadcast copy)."""
    x = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(np.broadcast_to(x[:, None], (x.shape[0], alpha, *x.shape[1:])))


def require_train(train, name: str):
    if train is None:
        raise ModelError(f"{name} needs the training split (fit received none)")
    return train


def frames_of(sequence: np.ndarray, t: int, name: str) -> np.ndarray:
    """The first t frames of a (T_train, ...) training statistic (error when too short)."""
    if t > sequence.shape[0]:
        raise ModelError(
            f"{name}: the evaluated clips have {t} frames but the training statistic only "
            f"{sequence.shape[0]}; load both splits with the same {param('frames')}"
        )
    return sequence[:t]


class WindowBaseline(BaseReactionModel):
    """A baseline that computes the reactions of frames [start, end) directly (end =
    speaker.frames): offline is the window starting at 0, online each harness window."""

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        """Reactions for frames [start, end) -> (B, alpha, end - start, ...)."""
        raise NotImplementedError

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        return self.window(speaker, start=0, alpha=alpha, seed=seed)

    def generate_online(
        self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int
    ) -> Reactions:
        return self.window(speaker, start=start, alpha=alpha, seed=seed)
