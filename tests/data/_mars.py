"""Hand-written MARS-layout trees for loader, check and target tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from reactbench.data import mars_layout as ml

SR = 16000


def attributes(T: int, seed: int) -> np.ndarray:
    """(T, 25) valid attributes: AUs 0/1, VA in [-1, 1], FE rows summing to 1."""
    rng = np.random.default_rng(seed)
    au = (rng.random((T, 15)) < 0.3).astype(np.float64)
    va = np.tanh(rng.normal(0, 0.5, (T, 2)))
    fe = rng.random((T, 8)) + 0.01
    fe /= fe.sum(axis=1, keepdims=True)
    return np.concatenate([au, va, fe], axis=1)


def write_clip(root: Path, split: str, cid: str, T: int, seed: int = 0, *,
               coefficients: bool = True, wav: bool = True, features: bool = True) -> None:
    """Every modality of one clip of ``T`` frames (attributes float64 on disk, 3DMM as
    (T, 1, 58), a 16 kHz wav of T/30 s, (T, 768) features)."""
    def put(modality: str, arr: np.ndarray) -> None:
        p = ml.clip_path(root, split, modality, cid)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, arr)

    put(ml.ATTRIBUTES_DIR, attributes(T, seed))
    rng = np.random.default_rng(seed + 1)
    if coefficients:
        put(ml.COEFFICIENTS_DIR, rng.normal(0, 0.1, (T, 1, 58)).astype(np.float32))
    if features:
        put(ml.AUDIO_FEATURES_DIR, rng.normal(0, 1, (T, 768)).astype(np.float16))
    if wav:
        p = ml.clip_path(root, split, ml.AUDIO_DIR, cid)
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, np.zeros(round(T * SR / 30), dtype=np.float32), SR, subtype="PCM_16")


def write_tree(root: Path, dyads: dict[str, list[int]], split: str = "test", *,
               lonely: dict[str, int] | None = None) -> Path:
    """A split of dyads: session -> clip lengths (stem ``d<i>``; both roles); ``lonely``:
    listener-only clips (session/stem -> length)."""
    seed = 0
    for session, lengths in dyads.items():
        for i, T in enumerate(lengths):
            for role in ml.ROLES:
                seed += 2
                write_clip(root, split, f"{role}/{session}/d{i}", T, seed)
    for key, T in (lonely or {}).items():
        seed += 2
        write_clip(root, split, f"listener/{key}", T, seed)
    return root
