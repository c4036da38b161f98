"""Input streams of one person from the data layer's arrays (numpy in, numpy out).

``person_streams`` turns (emotion (B, T, 25), 3DMM (B, T, 58), audio name -> (B, T, F), clip ids)
into name -> (B, T, width) float32 arrays for the configured :class:`StreamSpec` list, and raises
a ModelError that says what to do when a configured input is missing or has the wrong width.
``feature_files_identity`` identifies the contents of the per-clip feature files that
``file:`` streams read (part of the predictions cache key, see reactbench.models).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from reactbench.constants import AU, FE, VA
from reactbench.errors import ModelError, param
from reactbench.file_digest import memoised, stat_key, update_with_files

from .config import StreamSpec

_EMOTION = {"emotion:au": AU, "emotion:va": VA, "emotion:fe": FE}


def feature_file(spec: StreamSpec, clip_id: str, root: Path | None) -> Path:
    folder = Path(spec.source[len("file:"):]).expanduser()
    if not folder.is_absolute() and root is not None:
        folder = Path(root) / folder
    return folder / f"{clip_id}.npy"


def _load_feature_files(spec: StreamSpec, clip_ids, frames: int, root) -> np.ndarray:
    out = np.empty((len(clip_ids), frames, spec.width), dtype=np.float32)
    for i, cid in enumerate(clip_ids):
        path = feature_file(spec, cid, root)
        if not path.exists():
            raise ModelError(f"stream {spec.name!r}: feature file {path} does not exist (expected "
                             f"one (T, {spec.width}) .npy file per clip under "
                             f"{path.parent.parent if '/' in cid else path.parent})")
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"stream {spec.name!r}: cannot read feature file {path} ({exc}); "
                             f"expected a numeric (T, {spec.width}) .npy array") from None
        if arr.dtype.kind not in "iuf":
            raise ModelError(f"stream {spec.name!r}: feature file {path} holds dtype {arr.dtype}; "
                             f"expected real numbers, (T, {spec.width})")
        if arr.ndim != 2 or arr.shape[1] != spec.width:
            raise ModelError(f"stream {spec.name!r}: feature file {path} has shape {arr.shape}; "
                             f"expected (T, {spec.width}) as configured (change the stream's "
                             "width in the config or re-extract the features)")
        if arr.shape[0] < frames:
            raise ModelError(f"stream {spec.name!r}: feature file {path} has {arr.shape[0]} "
                             f"frames; the clip needs at least {frames}")
        out[i] = arr[:frames]
        bad = ~np.isfinite(out[i])
        if bad.any():
            t, c = (int(v) for v in np.argwhere(bad)[0])
            raise ModelError(f"stream {spec.name!r}: feature file {path} holds {int(bad.sum())} "
                             f"NaN/inf values (first at frame {t}, column {c}); expected finite "
                             "features")
    return out


def person_streams(specs: list[StreamSpec], emotion: np.ndarray, face_3dmm: np.ndarray,
                   audio: dict[str, np.ndarray], clip_ids=None, root=None,
                   who: str = "speaker") -> dict[str, np.ndarray]:
    """name -> (B, T, width) float32 for every configured stream of one person (see module doc)."""
    frames = emotion.shape[1]
    out: dict[str, np.ndarray] = {}
    for s in specs:
        if s.source in _EMOTION:
            arr = emotion[..., _EMOTION[s.source]]
        elif s.source == "3dmm":
            arr = face_3dmm
        elif s.source.startswith("audio:"):
            key = s.source[len("audio:"):]
            if key not in audio:
                have = sorted(audio) or "none"
                raise ModelError(
                    f"the model's audio stream {s.name!r} needs the {who}'s audio feature "
                    f"{key!r}, but the data has {have}: load the split with audio (the dataset "
                    "needs its wav files), or use a model without audio streams "
                    f"(reactdiff-no-audio, or a {param('config')} whose streams have no audio "
                    "group)")
            arr = audio[key]
            if s.width and arr.shape[-1] != s.width:
                raise ModelError(f"audio feature {key!r} has width {arr.shape[-1]}, the model "
                                 f"was trained with {s.width}: retrain it on this data")
        else:
            if clip_ids is None:
                raise ModelError(f"stream {s.name!r} reads feature files and needs clip ids")
            arr = _load_feature_files(s, clip_ids, frames, root)
        out[s.name] = np.ascontiguousarray(arr, dtype=np.float32)
    return out


def stream_widths(specs: list[StreamSpec], streams: dict[str, np.ndarray]) -> dict[str, int]:
    return {s.name: int(streams[s.name].shape[-1]) for s in specs}


# ----------------------------------------------------------------------------- file identity
FEATURES_IDENTITY_VERSION = "features-1"


def feature_files_identity(specs: list[StreamSpec], clip_ids, root) -> dict | None:
    """What the ``file:`` streams of ``specs`` read for ``clip_ids``: stream name ->
    {source, files (count), sha256 of their contents}; None when no stream reads files.

    The digest covers the full bytes of every file (in clip order, each with its clip id), so
    regenerated features change it, while a copied or moved dataset (same bytes) keeps it; a
    missing or unreadable file is hashed as such (generation then reports it). Hashing is
    memoised by the files' (path, size, mtime_ns), in this process and in
    ``cache_dir()/features``, like the data layer's dataset content hash: feature files can
    be large (the paper's 25088-d AU stream is ~75 MB per 750-frame clip), so only the first
    run after a change reads them all; later runs only stat them. Limit of that memo: a file
    rewritten with other bytes but the same size AND the same mtime (a tool that restores
    timestamps, e.g. ``cp -p``/``rsync -a`` of another copy, or a coarse-clock file system) is
    not seen; ``touch`` such files, or use a new folder, to force regeneration.
    """
    out = {}
    ids = list(dict.fromkeys(str(c) for c in clip_ids))
    for spec in specs:
        if not spec.source.startswith("file:"):
            continue
        paths = [feature_file(spec, cid, root) for cid in ids]
        out[spec.name] = {"source": spec.source, "files": len(paths),
                          "sha256": _files_digest(ids, paths)}
    return out or None


def _files_digest(names: list[str], paths: list[Path]) -> str:
    """sha256 of the files' contents (see feature_files_identity), memoised by their stats."""

    memo = hashlib.sha256(json.dumps([FEATURES_IDENTITY_VERSION, names, stat_key(paths)])
                          .encode()).hexdigest()[:32]

    def compute() -> dict:
        h = hashlib.sha256(FEATURES_IDENTITY_VERSION.encode())
        update_with_files(h, zip(names, paths))
        return {"sha256": h.hexdigest(), "files": len(paths)}

    return memoised("features", memo, compute, required="sha256")["sha256"]
