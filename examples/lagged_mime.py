"""A complete reactbench plug-in in one file: the listener mirrors the speaker, late.

Run it without installing anything:

    reactbench run --model examples/lagged_mime.py:LaggedMime --split test
    reactbench run --model examples/lagged_mime.py:LaggedMime --model-arg lag=20 --task online

Generation i copies the speaker's 25 attributes delayed by ``lag + i * spread`` frames (the
first frames repeat the clip's first frame), smooths valence/arousal, and adds a little seeded
noise to valence/arousal so the alpha reactions differ. A delay only looks backwards, so the
online mode inherited from BaseReactionModel (generate on the prefix [0, end), keep the last
frames) is causal.
"""

from __future__ import annotations

import numpy as np

from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput, row_rng


class LaggedMime(BaseReactionModel):
    needs_train = False  # fit() gets None instead of the training split
    needs_audio = False  # audio features are not loaded for this model

    def __init__(self, lag: int | str = 12, spread: int | str = 2, noise: float | str = 0.05):
        # options arrive as strings from `--model-arg key=value`
        self.lag, self.spread, self.noise = int(lag), int(spread), float(noise)
        self.info = ModelInfo(
            name="lagged_mime",
            version="1",
            params={"lag": self.lag, "spread": self.spread, "noise": self.noise},
            citation="reactbench example plug-in",
        )

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        x = speaker.emotion  # (B, T, 25)
        b, t, _ = x.shape
        out = np.empty((b, alpha, t, x.shape[2]), dtype=np.float32)
        for i in range(alpha):
            delay = min(self.lag + i * self.spread, t)
            shifted = np.concatenate([np.repeat(x[:, :1], delay, axis=1), x[:, : t - delay]], 1)
            out[:, i] = shifted
        kernel = np.ones(5) / 5  # smooth valence/arousal (columns 15:17) over 0.2 s
        va = out[..., 15:17]
        pad = np.concatenate([np.repeat(va[:, :, :1], 4, axis=2), va], axis=2)
        smooth = np.apply_along_axis(lambda s: np.convolve(s, kernel, "valid"), 2, pad)
        for k, row in enumerate(speaker.rows):
            rng = row_rng(seed, row)  # depends on (seed, row) only, not on the batch
            smooth[k] += rng.normal(0, self.noise, size=(alpha, 1, 2))
        out[..., 15:17] = np.clip(smooth, -1, 1)
        return Reactions(emotion=out)
