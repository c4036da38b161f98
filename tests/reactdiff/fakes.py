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


def tiny_config(variant: str = "reactdiff"):
    """A very small ReactDiff config (window 10) for fast CPU tests."""
    from reactbench.reactdiff.config import ModelConfig, TrainConfig, apply_variant, preset_config

    cfg = preset_config("small", "reactdiff")
    cfg.model = ModelConfig(
        d_model=16, heads=2, intra_blocks=1, inter_layers=1, latent_dim=8, dec_d_model=16,
        dec_layers=1, dec_heads=2, window=10, cond_dim=16, cond_groups=4, unet_width=8,
        unet_mults=(1, 2), unet_res_blocks=1, unet_attn_levels=(1,), unet_heads=2,
        frame_skip=True)
    cfg.train = TrainConfig(batch_size=4, lr1=1e-2, lr2=3e-3, epochs1=1, epochs2=1,
                            warmup_steps=1, crop=0, val_every=1)
    return apply_variant(cfg, variant)
