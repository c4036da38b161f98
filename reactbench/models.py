"""The reaction-model plug-in protocol (the registry lives in reactbench.registry).

A model receives speaker behaviour and returns alpha listener reactions per speaker row.
Plain numpy arrays at the boundary; models may use torch internally.

Offline task: ``generate`` receives whole clips.
Online task: the harness (reactbench.evaluate) calls ``generate_online`` once per window
with the speaker frames [0, end) only, and the model returns the reactions for frames
[start, end). Models never see future speaker frames; the harness checks this by
perturbing future frames and verifying earlier outputs do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from reactbench.data.split import SplitData


@dataclass(frozen=True)
class ModelInfo:
    """Metadata recorded in every result file."""

    name: str
    version: str = "0"
    params: dict[str, Any] = field(default_factory=dict)
    citation: str = ""


@dataclass
class SpeakerInput:
    """Speaker behaviour of a batch of B rows, frames [0, t) (t = T offline, t = end online).

    emotion: (B, t, 25) float32; face_3dmm: (B, t, 58) float32;
    audio: name -> (B, t, F) float32 (e.g. "mfcc" (B, t, 26)); may be empty;
    rows: (B,) row indices into the split (mirrored order); clip_ids: (B,) speaker clip paths.
    """

    emotion: np.ndarray
    face_3dmm: np.ndarray
    audio: dict[str, np.ndarray]
    rows: np.ndarray
    clip_ids: list[str]
    fps: int = 25

    @property
    def batch_size(self) -> int:
        return int(self.emotion.shape[0])

    @property
    def frames(self) -> int:
        return int(self.emotion.shape[1])


@dataclass
class Reactions:
    """Generated listener reactions: emotion (B, alpha, t, 25) float32, optional
    face_3dmm (B, alpha, t, 58) float32."""

    emotion: np.ndarray
    face_3dmm: np.ndarray | None = None


@runtime_checkable
class ReactionModel(Protocol):
    """What a reaction model implements. See examples/ for a complete one-file model."""

    info: ModelInfo

    def fit(self, train: SplitData, *, seed: int = 0, device: str = "cpu") -> None:
        """Prepare on the training split (may do nothing, load a checkpoint, or train)."""

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        """Offline: alpha reactions for whole clips -> Reactions (B, alpha, T, ...)."""

    def generate_online(
        self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int
    ) -> Reactions:
        """Online: speaker frames [0, end) given (end = speaker.frames); return the
        reactions for frames [start, end) -> (B, alpha, end - start, ...)."""
