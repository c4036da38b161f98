"""Load one split of a MARS-layout dataset (REACT2025/2026) into a :class:`ClipSplit`.

Clips have their own lengths, so every per-clip array is an item of a list instead of a row of
one (N, T, D) array. Samples are the speaker clips in sorted order
(:func:`reactbench.data.mars_layout.list_role`), followed by the listener clips when
``bidirectional``; each is paired with the clip of the opposite role with the same session and
stem. Arrays are float32. See :mod:`reactbench.data.mars_layout` for the folders.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reactbench.data import mars_layout as ml
from reactbench.data.synthetic_meta import read_meta_file
from reactbench.errors import DataError, param
from reactbench.file_digest import memoised, stat_key, update_with_files

META_FILE = "synthetic-mars.json"  # the synthetic MARS generator's metadata (generator, seed)


@dataclass
class ClipSplit:
    """One MARS split, one sample per input clip (N samples, sample k has T_k frames).

    Attributes:
        split, root: the split name and the dataset root.
        sample_ids: (N,) input clip ids ``"<role>/<session>/<stem>"`` (speaker role first).
        listener_ids: (N,) ids of the paired clips (same session and stem, opposite role).
        sessions: (N,) session folder of each sample.
        speaker_emotion, listener_emotion: N arrays (T_k, 25) float32 (input and paired clip).
        speaker_3dmm, listener_3dmm: N arrays (T_k, 58) float32 (empty lists when not loaded).
        speaker_audio, listener_audio: feature name (``"wav2vec"``) -> N arrays (T_k, 768).
        speaker_wavs: (N,) wav path of each input clip (empty when audio was not checked).
        lengths: (N,) int64 frames per sample.
        pools: ``"<role>/<session>"`` -> sorted clip ids of that role and session.
        attributes: clip id -> (T, 25) float32 for every facial-attributes file of the split
            (both roles), the material the per-sample target lists draw from.
        fps: 30. identity: {root, split, content_hash, files, generator?}.
        bidirectional: whether listener clips are inputs too.
    """

    split: str
    root: Path
    sample_ids: list[str]
    listener_ids: list[str]
    sessions: list[str]
    speaker_emotion: list[np.ndarray]
    listener_emotion: list[np.ndarray]
    speaker_3dmm: list[np.ndarray] = field(default_factory=list)
    listener_3dmm: list[np.ndarray] = field(default_factory=list)
    speaker_audio: dict[str, list[np.ndarray]] = field(default_factory=dict)
    listener_audio: dict[str, list[np.ndarray]] = field(default_factory=dict)
    speaker_wavs: list[Path] = field(default_factory=list)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pools: dict[str, list[str]] = field(default_factory=dict)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    fps: int = ml.FPS
    identity: dict = field(default_factory=dict)
    bidirectional: bool = False

    @property
    def n(self) -> int:
        """Number of samples N."""
        return len(self.sample_ids)


def _check_min_frames(min_frames: int) -> int:
    if isinstance(min_frames, bool) or not isinstance(min_frames, (int, np.integer)) \
            or min_frames < 1:
        raise DataError(f"{param('min_frames', repr(min_frames))}: expected a whole number of "
                        "frames >= 1")
    return int(min_frames)


def _attributes(root: Path, split: str, cid: str, min_frames: int) -> np.ndarray:
    path = ml.clip_path(root, split, ml.ATTRIBUTES_DIR, cid)
    emo = ml.read_attributes(path)
    if len(emo) < min_frames:
        raise DataError(f"{path}: clip {cid} has {len(emo)} frames; expected at least "
                        f"{min_frames} (the protocol's shortest clip)")
    return emo


def _same_length(root: Path, split: str, cid: str, t: int, modality: str,
                 arr: np.ndarray, what: str) -> np.ndarray:
    if len(arr) != t:
        ref = ml.clip_path(root, split, ml.ATTRIBUTES_DIR, cid)
        raise DataError(ml.length_mismatch(ml.clip_path(root, split, modality, cid), len(arr),
                                           ref, t, what))
    return arr


def check_wav(root: Path, split: str, cid: str, t: int) -> Path:
    """The wav of clip ``cid`` (``t`` frames); DataError when it is missing, unreadable or
    lasts more than ``AUDIO_FRAME_TOLERANCE`` frames more or less than the clip."""
    path = ml.clip_path(root, split, ml.AUDIO_DIR, cid)
    n, sr = ml.wav_frames(path)
    if abs(n - t) > ml.AUDIO_FRAME_TOLERANCE:
        ref = ml.clip_path(root, split, ml.ATTRIBUTES_DIR, cid)
        raise DataError(ml.length_mismatch(path, n, ref, t, f"audio ({sr} Hz)")
                        .replace("no modality is trimmed", f"within {ml.AUDIO_FRAME_TOLERANCE} "
                                 "frames; no modality is trimmed"))
    return path


def _paired(root: Path, split: str, cid: str, attributes: dict[str, np.ndarray]) -> str:
    pid = ml.paired_id(cid)
    if pid not in attributes:
        raise DataError(f"{ml.clip_path(root, split, ml.ATTRIBUTES_DIR, pid)}: file not found; "
                        f"expected the paired clip of {cid} (same session and stem, role "
                        f"{pid.split('/')[0]})")
    t, u = len(attributes[cid]), len(attributes[pid])
    if t != u:
        raise DataError(f"{ml.clip_path(root, split, ml.ATTRIBUTES_DIR, pid)}: {u} frames, but "
                        f"its paired clip {cid} has {t}; expected the two persons of a dyad to "
                        "have the same length")
    return pid


def load_clips(root: str | Path, split: str, *, bidirectional: bool = False,
               min_frames: int = ml.MIN_FRAMES, coefficients: bool = True, audio: bool = True,
               audio_features: bool | None = None, progress: bool = False) -> ClipSplit:
    """Load split ``split`` of the MARS dataset at ``root``.

    bidirectional: listener clips are inputs too (after the speaker clips); min_frames: every
    clip needs at least this many frames; coefficients: load the 3DMM files (required);
    audio: check every input and paired clip's wav (required; its duration must match);
    audio_features: load ``audio-features`` (None: when the split has that folder; True:
    required). Every facial-attributes file of the split is read and validated (the target
    pools use them). Raises DataError naming the clip and what was expected; nothing is
    trimmed.
    """
    if split not in ml.SPLITS:
        raise DataError(f"unknown split {split!r}: expected one of {', '.join(ml.SPLITS)}")
    min_frames = _check_min_frames(min_frames)
    root = Path(root).expanduser()
    folder = root / split / ml.ATTRIBUTES_DIR
    if not folder.is_dir():
        raise DataError(f"{folder}: not found; expected the {split} split's facial attributes "
                        f"(MARS layout <root>/<split>/{ml.ATTRIBUTES_DIR}/<role>/<session>/"
                        "<stem>.npy)")
    pools = ml.session_pools(root, split)
    ids = [c for pool in pools.values() for c in pool]
    inputs = ml.list_role(root, split, "speaker")
    if bidirectional:
        inputs += ml.list_role(root, split, "listener")
    if not inputs:
        raise DataError(f"{folder}: no speaker clips; expected "
                        f"{ml.ATTRIBUTES_DIR}/speaker/<session>/<stem>.npy files")
    items = ids
    if progress:
        from tqdm import tqdm  # imported on use: only interactive loads draw a bar

        items = tqdm(ids, desc=f"loading {split}", unit="clip", disable=None)
    attributes = {c: _attributes(root, split, c, min_frames) for c in items}
    listener_ids = [_paired(root, split, c, attributes) for c in inputs]
    if audio_features is None:
        audio_features = (root / split / ml.AUDIO_FEATURES_DIR).is_dir()
    out = ClipSplit(
        split=split, root=root, sample_ids=inputs, listener_ids=listener_ids,
        sessions=[ml.parse_id(c)[1] for c in inputs],
        speaker_emotion=[attributes[c] for c in inputs],
        listener_emotion=[attributes[c] for c in listener_ids],
        lengths=np.array([len(attributes[c]) for c in inputs], dtype=np.int64),
        pools=pools, attributes=attributes, bidirectional=bool(bidirectional))
    used = list(dict.fromkeys(inputs + listener_ids))
    cache: dict[str, dict] = {c: {} for c in used}
    for cid in used:
        t = len(attributes[cid])
        if coefficients:
            face = ml.read_coefficients(ml.clip_path(root, split, ml.COEFFICIENTS_DIR, cid))
            cache[cid]["3dmm"] = _same_length(root, split, cid, t, ml.COEFFICIENTS_DIR, face,
                                              "3DMM coefficients")
        if audio_features:
            feats = ml.read_audio_features(ml.clip_path(root, split, ml.AUDIO_FEATURES_DIR, cid))
            cache[cid]["features"] = _same_length(root, split, cid, t, ml.AUDIO_FEATURES_DIR,
                                                  feats, "audio features")
        if audio:
            cache[cid]["wav"] = check_wav(root, split, cid, t)
    if coefficients:
        out.speaker_3dmm = [cache[c]["3dmm"] for c in inputs]
        out.listener_3dmm = [cache[c]["3dmm"] for c in listener_ids]
    if audio_features:
        out.speaker_audio = {ml.AUDIO_FEATURE_NAME: [cache[c]["features"] for c in inputs]}
        out.listener_audio = {ml.AUDIO_FEATURE_NAME: [cache[c]["features"] for c in listener_ids]}
    if audio:
        out.speaker_wavs = [cache[c]["wav"] for c in inputs]
    # the facial attributes and coefficients of every clip, whichever modalities were loaded:
    # models that read different modalities of one dataset carry one identity (and can share
    # a table), the one a checkpoint records for the data it was trained on
    out.identity = clip_identity(root, split, ids, audio=False)
    return out


def read_meta(root: str | Path) -> dict | None:
    """The synthetic MARS generator's metadata of ``root``, or None for other datasets."""
    return read_meta_file(Path(root) / META_FILE)


def clip_identity(root: str | Path, split: str, ids: list[str], *, coefficients: bool = True,
                  audio: bool = True, audio_features: bool = False) -> dict:
    """{root, split, n_clips, content_hash, files, generator?}: sha256 over the files of the
    clips ``ids`` of the given modalities (labelled by their path below ``root``, in a fixed
    order), memoised by the files' sizes and mtimes; equal for copies of a dataset."""
    root = Path(root).expanduser().resolve()
    modalities = [ml.ATTRIBUTES_DIR]
    modalities += [ml.COEFFICIENTS_DIR] if coefficients else []
    modalities += [ml.AUDIO_FEATURES_DIR] if audio_features else []
    modalities += [ml.AUDIO_DIR] if audio else []
    files = [p for cid in ids for m in modalities
             if (p := ml.clip_path(root, split, m, cid)).is_file()]
    key = hashlib.sha256(json.dumps(["mars-identity-1", stat_key(files)]).encode()
                         ).hexdigest()[:24]

    def compute() -> dict:
        h = hashlib.sha256()
        update_with_files(h, [(p.relative_to(root).as_posix(), p) for p in files])
        ident = {"root": str(root), "split": split, "layout": "mars", "n_clips": len(ids),
                 "content_hash": h.hexdigest(), "files": len(files)}
        meta = read_meta(root)
        if meta is not None:
            ident["generator"] = {"version": meta.get("version"), "seed": meta.get("seed")}
        return ident

    return memoised("identity", key, compute, required="content_hash")


__all__ = ["ClipSplit", "load_clips", "clip_identity", "check_wav", "read_meta", "META_FILE"]
