"""The reaction-model plug-in protocol (the registry lives in reactbench.registry).

A model receives speaker behaviour and returns alpha listener reactions per speaker row.
Plain numpy arrays at the boundary; models may use torch internally.

Offline task: ``generate`` receives whole clips.
Online task: the harness (reactbench.harness) calls ``generate_online`` once per window
with the speaker frames [0, end) only, and the model returns the reactions for frames
[start, end). Models never see future speaker frames; the harness checks this by
perturbing future frames and verifying earlier outputs do not change. A call with
``start == 0`` begins a new sequence: a stateful online model resets its per-row state there.

Randomness: the harness passes the run's seed unchanged to every call. A stochastic model
should derive its random numbers from (seed, row, start) -- see :func:`row_rng` -- so that
its reactions do not depend on the batch size or on which rows share a batch.

Optional class attributes the harness reads (defaults in :class:`BaseReactionModel`):
``needs_train`` (False: ``fit`` receives ``None`` instead of the training split),
``needs_audio`` (False: audio features are not loaded for this model),
``needs_listener`` (True only for the ground-truth reference row: the harness then fills
``SpeakerInput.listener_emotion`` / ``listener_3dmm`` with the REAL listener reactions; such
a row is a reference, never a model, and tables mark it), and ``OPTIONS`` (a tuple of the
keyword options a constructor taking ``**options`` accepts, so that a ``key=value`` model option
without ``MODEL@`` reaches only the models that take ``key``).

Optional method the harness calls when present: ``cache_identity(data) -> JSON value or None``,
given the evaluated split (:class:`SplitData`) BEFORE ``fit`` (a cache hit skips ``fit``). It
returns what else the model reads that changes its reactions, beyond its ``ModelInfo``, its
source file, its constructor options and the dataset identity (e.g. a digest of per-clip
feature files it loads itself); the value becomes part of the predictions cache key, so that
changed inputs are generated again instead of reusing stale predictions. ``None`` (the default
of :class:`BaseReactionModel`) adds nothing and leaves the key as it was without the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from reactbench.data.split import SplitData
from reactbench.errors import ModelError, param, render_params
from reactbench.results import json_problem


@dataclass(frozen=True)
class ModelInfo:
    """Metadata recorded in every result file.

    name: short identifier (used in result file names and tables);
    version: bump it whenever the reactions change (it is part of the predictions cache key);
    params: the options that change the reactions (JSON-able; part of the cache key);
    citation: free text (paper / URL);
    trained_on: for trained models, the data the weights were fitted on, e.g. split name ->
    dataset identity (JSON-able; None when unknown or untrained). Recorded in result files as
    ``model.trained_on``; not part of the cache key (the weights' own identity, such as a
    checkpoint hash in ``params``, is);
    display: the row label in tables, e.g. ``"B_Mime"`` (empty: the name);
    ablation_label: the row label in ablation tables, where the family is implied, e.g.
    ``"(w/o) MMT"`` (empty: the display name);
    table_order: the row's place in tables, lower first (the official baselines use 0-5);
    rows without one follow, in the order their results were given.
    The last three are presentation only: recorded in result files (``model.display``, ...),
    not part of the cache key.
    """

    name: str
    version: str = "0"
    params: dict[str, Any] = field(default_factory=dict)
    citation: str = ""
    trained_on: dict[str, Any] | None = None
    display: str = ""
    ablation_label: str = ""
    table_order: int | None = None


@dataclass
class SpeakerInput:
    """Speaker behaviour of a batch of B rows, frames [0, t) (t = T offline, t = end online).

    emotion: (B, t, 25) float32; face_3dmm: (B, t, 58) float32;
    audio: name -> (B, t, F) float32 (e.g. "mfcc" (B, t, 26)); may be empty;
    rows: (B,) row indices into the split (mirrored order); clip_ids: (B,) speaker clip paths.
    listener_emotion / listener_3dmm: (B, t, 25) / (B, t, 58) real listener reactions, given
    ONLY to reference rows whose class sets ``needs_listener = True`` (None otherwise).
    spans: (B, 2) clip frames [start, end) each row covers when the harness cuts
    variable-length clips into fixed-length segments (REACT2025/2026 chunks and windows; frames
    outside the clip are zeros); None for whole clips.
    """

    emotion: np.ndarray
    face_3dmm: np.ndarray
    audio: dict[str, np.ndarray]
    rows: np.ndarray
    clip_ids: list[str]
    fps: int = 25
    listener_emotion: np.ndarray | None = None
    listener_3dmm: np.ndarray | None = None
    spans: np.ndarray | None = None

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


class BaseReactionModel:
    """Convenience base class: a no-op ``fit`` and an online mode derived from ``generate``.

    Subclasses set ``info`` and implement ``generate``. The default ``generate_online`` runs
    ``generate`` on the prefix it is given and keeps the last ``end - start`` frames, which is
    causal by construction (it only ever sees frames [0, end)). Override it when a model has
    a cheaper or different online mode.
    """

    info: ModelInfo | None = None  # None: the class name, version "0", no params
    needs_train: bool = True
    needs_audio: bool = True
    needs_listener: bool = False

    def fit(self, train: SplitData | None, *, seed: int = 0, device: str = "cpu") -> None:
        return None

    def cache_identity(self, data: SplitData) -> Any:
        """Extra predictions-cache identity (see the module docstring); None: nothing."""
        return None

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        message = (
            f"{type(self).__name__} does not implement generate(speaker, *, alpha, seed), which "
            "the offline task and the default generate_online call; a model with only its own "
            f"generate_online runs with {param('task', 'online')} only")
        error = NotImplementedError(render_params(message))
        error.template = message  # the parameter reference, for the harness's ModelError
        raise error

    def generate_online(
        self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int
    ) -> Reactions:
        return online_from_offline(self, speaker, start=start, alpha=alpha, seed=seed)


def online_from_offline(
    model: Any, speaker: SpeakerInput, *, start: int, alpha: int, seed: int
) -> Reactions:
    """Online reactions for frames [start, end) from ``model.generate`` on the prefix [0, end)."""
    out = model.generate(speaker, alpha=alpha, seed=seed)
    emotion = np.asarray(out.emotion)
    if emotion.ndim != 4 or emotion.shape[2] != speaker.frames:
        name = getattr(getattr(model, "info", None), "name", type(model).__name__)
        raise ModelError(
            f"model {name!r}: generate returned reactions of shape {emotion.shape} for a "
            f"prefix of {speaker.frames} speaker frames; expected (B, alpha, "
            f"{speaker.frames}, 25) (online mode keeps its last {speaker.frames - start} frames)"
        )
    keep = speaker.frames - start
    face = None if out.face_3dmm is None else np.asarray(out.face_3dmm)[:, :, -keep:]
    return Reactions(emotion=emotion[:, :, -keep:], face_3dmm=face)


def row_rng(seed: int, row: int, start: int = 0) -> np.random.Generator:
    """A random generator that depends only on (seed, row, start): reactions drawn from it do
    not change with the batch size or the batch composition."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(row), int(start)])


def model_info(model: Any) -> ModelInfo:
    """The model's ModelInfo, checked (the class name, version "0" when it declares none).

    Raises ModelError when ``info`` is not a ModelInfo or its fields are not what result files
    and the predictions cache need: a non-empty name, a text version, JSON-able params with
    finite numbers.
    """
    cls = type(model).__name__
    info = getattr(model, "info", None)
    if info is None:
        return ModelInfo(name=cls)
    expected = ("expected reactbench.models.ModelInfo(name='...', version='1', "
                "params={...})")
    if not isinstance(info, ModelInfo):
        raise ModelError(f"model class {cls}: `info` is a {type(info).__name__}; {expected}")
    if not isinstance(info.name, str) or not info.name.strip():
        raise ModelError(f"model class {cls}: ModelInfo.name must be a non-empty string; got "
                         f"{info.name!r}")
    if not isinstance(info.version, str) or not info.version.strip():
        raise ModelError(f"model {info.name!r}: ModelInfo.version must be a non-empty string "
                         f"such as '1'; got {info.version!r}")
    if not isinstance(info.params, dict) or not all(isinstance(k, str) for k in info.params):
        raise ModelError(f"model {info.name!r}: ModelInfo.params must be a dict with string "
                         f"keys; got {info.params!r}")

    problem = json_problem(info.params, "ModelInfo.params")
    if problem:
        raise ModelError(f"model {info.name!r}: {problem}; params must hold JSON values (text, "
                         "finite numbers, bools, None, lists, dicts)")
    trained_on = getattr(info, "trained_on", None)
    if trained_on is not None:
        problem = (json_problem(trained_on, "ModelInfo.trained_on")
                   if isinstance(trained_on, dict) else "ModelInfo.trained_on is not a dict")
        if problem:
            raise ModelError(f"model {info.name!r}: {problem}; trained_on must be None or a dict "
                             "of JSON values (e.g. split -> dataset identity)")
    for key in ("display", "ablation_label"):
        if not isinstance(getattr(info, key), str):
            raise ModelError(f"model {info.name!r}: ModelInfo.{key} must be text (empty: "
                             f"not set); got {getattr(info, key)!r}")
    order = info.table_order
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ModelError(f"model {info.name!r}: ModelInfo.table_order must be an integer or "
                         f"None; got {order!r}")
    return info


def display_fields(info: ModelInfo) -> dict[str, Any]:
    """The presentation fields of a result file's ``model`` entry: ``display`` (the row label,
    the name when unset), ``ablation_label`` and ``table_order`` (None when unset)."""
    return {"display": info.display or info.name, "ablation_label": info.ablation_label or None,
            "table_order": info.table_order}
