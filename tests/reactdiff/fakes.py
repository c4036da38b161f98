"""Random SplitData / SpeakerInput for model tests (no files needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.data.split import SplitData
from reactbench.models import SpeakerInput

LOGMEL = 16


def random_person(rng, n, t):
    emo = np.zeros((n, t, 25), np.float32)
    emo[..., :15] = rng.random((n, t, 15)) < 0.3
    emo[..., 15:17] = np.tanh(rng.standard_normal((n, t, 2)))
    fe = rng.random((n, t, 8))
    emo[..., 17:] = fe / fe.sum(-1, keepdims=True)
    face = rng.standard_normal((n, t, 58)).astype(np.float32) * 0.1
    audio = {"mfcc": rng.standard_normal((n, t, 26)).astype(np.float32),
             "logmel": rng.standard_normal((n, t, LOGMEL)).astype(np.float32)}
    return emo, face, audio


def random_split(n=8, t=100, seed=0, split="train", audio=True) -> SplitData:
    """n mirrored rows (n/2 pairs): the listener of row i is the speaker of row (i + n/2) % n."""
    rng = np.random.default_rng(seed)
    emo, face, aud = random_person(rng, n, t)
    m = n // 2
    perm = np.r_[np.arange(m, n), np.arange(m)]
    ids = [f"fake/{split}/{i}" for i in range(n)]
    return SplitData(
        split=split, root=Path("/nonexistent"), speaker_ids=ids,
        listener_ids=[ids[j] for j in perm], speaker_emotion=emo, listener_emotion=emo[perm],
        speaker_3dmm=face, listener_3dmm=face[perm],
        speaker_audio=aud if audio else {},
        listener_audio={k: v[perm] for k, v in aud.items()} if audio else {},
        neighbours=np.eye(n), identity={"split": split, "content_hash": f"fake{seed}"})


def speaker_input(split: SplitData, rows, frames=None) -> SpeakerInput:
    rows = np.asarray(rows)
    t = frames or split.frames
    return SpeakerInput(emotion=split.speaker_emotion[rows, :t],
                        face_3dmm=split.speaker_3dmm[rows, :t],
                        audio={k: v[rows, :t] for k, v in split.speaker_audio.items()},
                        rows=rows, clip_ids=[split.speaker_ids[i] for i in rows])
