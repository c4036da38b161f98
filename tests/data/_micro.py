"""A micro synthetic dataset (test split only, 2 pairs, 100 frames) for tests that damage files."""

from __future__ import annotations

import shutil
from pathlib import Path

MICRO_PAIRS = {"test": 2}
MICRO_FRAMES = 100


def make_micro(base: Path) -> Path:
    from reactbench.data.synthetic import generate

    return generate(base / "micro", pairs=dict(MICRO_PAIRS), frames=MICRO_FRAMES, seed=3,
                    n_jobs=1)


def copy_of(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
