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


class SampleBaseline(BaseReactionModel):
    """A REACT2026 naive baseline, computed on whole samples as the challenge's baselines
    script computes it (no chunks or windows, no AU rounding; offline only): the harness calls
    ``generate_samples`` once under a ``"targets"`` protocol (REACT2025/2026)."""

    needs_train = False
    needs_audio = False

    def generate_samples(self, data, targets: list[np.ndarray], *, alpha: int,
                         seed: int) -> list[np.ndarray]:
        """N arrays (alpha, T_k, 25) float32 for the samples of ``data`` (a ClipSplit), given
        the samples' aligned targets (N arrays (K, T_k, 25), target 0 the paired listener)."""
        raise NotImplementedError

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        name = self.info.name if self.info is not None else type(self).__name__
        raise ModelError(f"{name} is a REACT2026 naive baseline computed on whole samples; run "
                         f"it under {param('protocol', 'react2025')} or "
                         f"{param('protocol', 'react2026')} (offline)")
