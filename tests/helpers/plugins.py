"""Deliberately broken or tricky plug-ins for the harness tests (imported by file path)."""

from __future__ import annotations

import numpy as np

from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput


class _Base(BaseReactionModel):
    needs_train = False
    needs_audio = False

    def _mime(self, speaker: SpeakerInput, alpha: int, start: int = 0) -> np.ndarray:
        x = speaker.emotion[:, start:]
        return np.repeat(x[:, None], alpha, axis=1).astype(np.float32)


class Raises(_Base):
    info = ModelInfo(name="raises")

    def generate(self, speaker, *, alpha, seed):
        raise RuntimeError("boom inside the plug-in")


class FitRaises(_Base):
    info = ModelInfo(name="fit_raises")

    def fit(self, train, *, seed=0, device="cpu"):
        raise ValueError("cannot fit on this split")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha))


class WrongShape(_Base):
    info = ModelInfo(name="wrong_shape")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha)[:, :, :, :24])


class Nan(_Base):
    info = ModelInfo(name="nan")

    def generate(self, speaker, *, alpha, seed):
        out = self._mime(speaker, alpha)
        out[-1, 0, 3, 16] = np.nan
        return Reactions(emotion=out)


class OutOfRange(_Base):
    info = ModelInfo(name="out_of_range")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha) + 5.0)


class NotReactions(_Base):
    info = ModelInfo(name="not_reactions")

    def generate(self, speaker, *, alpha, seed):
        return self._mime(speaker, alpha)  # a bare array instead of Reactions


class Leaky(_Base):
    """Remembers every clip prefix it was given and, when it has seen a longer prefix of the
    same row before, peeks at those future frames: the harness's causality check must fail."""

    info = ModelInfo(name="leaky")

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}

    def generate(self, speaker, *, alpha, seed):
        return self.generate_online(speaker, start=0, alpha=alpha, seed=seed)

    def generate_online(self, speaker, *, start, alpha, seed):
        out = self._mime(speaker, alpha, start)
        end = speaker.frames
        for b, row in enumerate(speaker.rows):
            seen = self.memory.get(int(row))
            if seen is not None and seen.shape[0] > end:
                future = float(seen[end:, 15].mean())  # the future valence
                out[b, :, :, 15] = np.clip(future, -1, 1)
            if seen is None or seen.shape[0] < end:
                self.memory[int(row)] = speaker.emotion[b].copy()
        return Reactions(emotion=out)


class StatefulCausal(_Base):
    """A stateful online model that resets per row at start == 0: must pass the check."""

    info = ModelInfo(name="stateful_causal")

    def __init__(self) -> None:
        self.state: dict[int, float] = {}

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha))

    def generate_online(self, speaker, *, start, alpha, seed):
        out = self._mime(speaker, alpha, start)
        for b, row in enumerate(speaker.rows):
            if start == 0:
                self.state[int(row)] = 0.0
            self.state[int(row)] += float(speaker.emotion[b, start:, 16].sum())
            out[b, :, -1, 16] = np.clip(self.state[int(row)] / speaker.frames, -1, 1)
        return Reactions(emotion=out)


class OnlineOnly(_Base):
    """Implements generate_online alone: runs online, and offline fails with a clear message."""

    info = ModelInfo(name="online_only")

    def generate_online(self, speaker, *, start, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha, start))


class WithOptions(_Base):
    """Takes constructor options from --model-arg."""

    def __init__(self, gain: str | float = 1.0) -> None:
        self.gain = float(gain)
        self.info = ModelInfo(name="with_options", version="2", params={"gain": self.gain})

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=np.clip(self._mime(speaker, alpha) * self.gain, -1, 1))


class Unseeded(_Base):
    """Draws noise from an unseeded generator: online results cannot be verified."""

    info = ModelInfo(name="unseeded")

    def __init__(self) -> None:
        self.rng = np.random.default_rng()

    def generate(self, speaker, *, alpha, seed):
        out = self._mime(speaker, alpha)
        out[..., 15:17] = np.clip(out[..., 15:17] + self.rng.normal(0, 0.1, out[..., 15:17].shape),
                                  -1, 1)
        return Reactions(emotion=out)


class DeclaredOptions(_Base):
    """Takes **options and declares the names it accepts in OPTIONS."""

    OPTIONS = ("checkpoint", "steps")
    info = ModelInfo(name="declared_options")

    def __init__(self, **options) -> None:
        self.options = options

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=self._mime(speaker, alpha))
