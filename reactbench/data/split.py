"""SplitData: the arrays of one evaluated split, in the official mirrored row order.

This is the one boundary object between the data layer and everything downstream
(models, metrics, evaluation). Plain numpy arrays; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class SplitData:
    """One split in mirrored order: rows 0..M-1 are the CSV pairs, rows M..2M-1 the same
    pairs with roles swapped (N = 2M).

    Attributes (N rows, T frames):
        split: "train" | "val" | "test".
        root: dataset root directory.
        speaker_ids, listener_ids: (N,) clip paths relative to the modality folder,
            e.g. "NoXI/010_2016-03-25_Paris/Expert_video/1" (no extension).
        speaker_emotion, listener_emotion: (N, T, 25) float32 (AU 0:15, VA 15:17, FE 17:25).
        speaker_3dmm, listener_3dmm: (N, T, 58) float32 (52 exp + 3 rot + 3 trans).
        speaker_audio, listener_audio: feature name -> (N, T, F) float32, frame-aligned at
            25 fps; names: "mfcc" (26-d) and "logmel" (see reactbench.data.audio). Empty
            dict when audio was not loaded.
        neighbours: (N, N) float64 0/1 appropriateness matrix or None;
            neighbours[k, j] == 1 means listener_emotion[j] is appropriate for speaker k.
        video_dirs: optional (N,) speaker video frame folders (None when absent).
        identity: dataset identity (root, split, content hash of the files read).
        fps: frames per second (25).
    """

    split: str
    root: Path
    speaker_ids: list[str]
    listener_ids: list[str]
    speaker_emotion: np.ndarray
    listener_emotion: np.ndarray
    speaker_3dmm: np.ndarray
    listener_3dmm: np.ndarray
    speaker_audio: dict[str, np.ndarray] = field(default_factory=dict)
    listener_audio: dict[str, np.ndarray] = field(default_factory=dict)
    neighbours: np.ndarray | None = None
    video_dirs: list[Path] | None = None
    identity: dict = field(default_factory=dict)
    fps: int = 25

    @property
    def n(self) -> int:
        """Number of mirrored rows N."""
        return int(self.speaker_emotion.shape[0])

    @property
    def frames(self) -> int:
        """Frames per clip T."""
        return int(self.speaker_emotion.shape[1])

    @property
    def n_pairs(self) -> int:
        """Number of CSV pairs M = N / 2."""
        return self.n // 2

    def subset(self, rows: np.ndarray | list[int]) -> SplitData:
        """Rows `rows` of every array (the neighbour matrix restricted to rows x rows)."""
        idx = np.asarray(rows, dtype=int)
        nb = None if self.neighbours is None else self.neighbours[np.ix_(idx, idx)]
        return SplitData(
            split=self.split,
            root=self.root,
            speaker_ids=[self.speaker_ids[i] for i in idx],
            listener_ids=[self.listener_ids[i] for i in idx],
            speaker_emotion=self.speaker_emotion[idx],
            listener_emotion=self.listener_emotion[idx],
            speaker_3dmm=self.speaker_3dmm[idx],
            listener_3dmm=self.listener_3dmm[idx],
            speaker_audio={k: v[idx] for k, v in self.speaker_audio.items()},
            listener_audio={k: v[idx] for k, v in self.listener_audio.items()},
            neighbours=nb,
            video_dirs=None if self.video_dirs is None else [self.video_dirs[i] for i in idx],
            identity={**self.identity, "rows": idx.tolist()},
            fps=self.fps,
        )
