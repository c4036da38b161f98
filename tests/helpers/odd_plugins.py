"""Plug-ins with odd outputs, infos, options and names for the run tests (imported by file path)."""

from __future__ import annotations

import numpy as np

from reactbench.models import BaseReactionModel, ModelInfo, Reactions


def _mime(speaker, alpha: int) -> np.ndarray:
    return np.repeat(speaker.emotion[:, None], alpha, axis=1).astype(np.float32)


class _Base(BaseReactionModel):
    needs_train = False
    needs_audio = False


class ExtraFrames(_Base):
    """Offline generate returns 5 frames too many: online mode must not slice them away."""

    info = ModelInfo(name="extra_frames")

    def generate(self, speaker, *, alpha, seed):
        out = _mime(speaker, alpha)
        return Reactions(emotion=np.concatenate([out, out[:, :, :5]], axis=2))


class Complex(_Base):
    info = ModelInfo(name="complex")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha).astype(np.complex64))


class Text(_Base):
    info = ModelInfo(name="text")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha).astype(str))


class Bools(_Base):
    info = ModelInfo(name="bools")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha) > 0.5)


class DictInfo(_Base):
    info = {"name": "dict_info"}

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha))


class EmptyName(DictInfo):
    info = ModelInfo(name="")


class IntVersion(DictInfo):
    info = ModelInfo(name="int_version", version=2)


class NanParam(DictInfo):
    info = ModelInfo(name="nan_param", params={"gain": float("nan")})


class ObjectParam(DictInfo):
    info = ModelInfo(name="object_param", params={"fn": object()})


class NoInfo(DictInfo):
    info = None


class PlainClass:
    """Only ``generate``: no base class, no ``fit``, no ``info``."""

    needs_train = False
    needs_audio = False

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha))


class Scaled(_Base):
    """Takes ``gain`` but forgets to put it into ``params``; shares its name with Halved."""

    info = ModelInfo(name="shared_name")

    def __init__(self, gain: str = "1.0") -> None:
        self.gain = float(gain)

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=np.clip(_mime(speaker, alpha) * self.gain, -1, 1))


class Halved(_Base):
    info = ModelInfo(name="shared_name")

    def generate(self, speaker, *, alpha, seed):
        return Reactions(emotion=_mime(speaker, alpha) * 0.5)


class CallsItselfGT(DictInfo):
    info = ModelInfo(name="gt")


class SpacedName(DictInfo):
    """Its name maps to the same result file name as DashedName's."""

    info = ModelInfo(name="my model")


class DashedName(DictInfo):
    info = ModelInfo(name="my-model")
