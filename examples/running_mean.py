"""A reactbench plug-in that is fitted on the training split and streams online with state.

    reactbench run --model examples/running_mean.py:RunningMean --split test
    reactbench run --model examples/running_mean.py:RunningMean --task online --model-arg gain=0.5

``fit`` learns the average listener frame and the average speaker frame of the training split.
The reaction at frame t is the average listener frame plus ``gain`` times how far the speaker's
running mean over frames [0, t] lies from the average speaker frame, with a seeded
valence/arousal offset per generation. Online, ``generate_online`` keeps each row's running sum
between calls (reset when ``start == 0``) and reads only the new frames; it returns what
``generate`` returns offline, up to float rounding.
"""

from __future__ import annotations

import numpy as np

from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput, row_rng


class RunningMean(BaseReactionModel):
    needs_train = True  # fit() receives the training split (SplitData)
    needs_audio = False  # audio features are not loaded for this model

    def __init__(self, gain: float | str = 1.0, noise: float | str = 0.05):
        self.gain, self.noise = float(gain), float(noise)  # strings from --model-arg
        self.info = ModelInfo(name="running_mean", version="1",
                              params={"gain": self.gain, "noise": self.noise},
                              citation="reactbench example plug-in")
        self.sums: dict[int, np.ndarray] = {}  # online state: row -> speaker sum so far

    def fit(self, train, *, seed=0, device="cpu"):
        self.listener_mean = train.listener_emotion.mean(axis=(0, 1))  # (25,)
        self.speaker_mean = train.speaker_emotion.mean(axis=(0, 1))

    def _react(self, running: np.ndarray, rows, alpha: int, seed: int) -> Reactions:
        """running: (B, t, 25) speaker running means -> (B, alpha, t, 25) reactions."""
        base = self.listener_mean + self.gain * (running - self.speaker_mean)
        out = np.repeat(base[:, None], alpha, axis=1)
        for b, row in enumerate(rows):  # per-row randomness: batch-size independent
            out[b, :, :, 15:17] += row_rng(seed, row).normal(0, self.noise, (alpha, 1, 2))
        out[..., :15] = np.clip(out[..., :15], 0, 1)  # AU
        out[..., 15:17] = np.clip(out[..., 15:17], -1, 1)  # valence, arousal
        out[..., 17:] = np.clip(out[..., 17:], 0, 1)  # FE
        return Reactions(emotion=out.astype(np.float32))

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        x = speaker.emotion.astype(np.float64)  # (B, T, 25)
        running = np.cumsum(x, axis=1) / np.arange(1, x.shape[1] + 1)[:, None]
        return self._react(running, speaker.rows, alpha, seed)

    def generate_online(self, speaker: SpeakerInput, *, start: int, alpha: int,
                        seed: int) -> Reactions:
        new = speaker.emotion[:, start:].astype(np.float64)  # only frames [start, end) are read
        if start == 0:  # a new sequence: the rows' earlier state is not used
            before = np.zeros((len(speaker.rows), new.shape[2]))
        else:
            before = np.stack([self.sums[int(row)] for row in speaker.rows])
        sums = before[:, None] + np.cumsum(new, axis=1)
        for b, row in enumerate(speaker.rows):
            self.sums[int(row)] = sums[b, -1]
        running = sums / np.arange(start + 1, speaker.frames + 1)[:, None]
        return self._react(running, speaker.rows, alpha, seed)
