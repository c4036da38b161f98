"""The MARS dataset layout of REACT2025/2026: folders, sorted clip listing, per-file readers.

Layout::

    <root>/<split>/facial-attributes/<role>/<session>/<stem>.npy   (T, 25) per-frame attributes
    <root>/<split>/coefficients/<role>/<session>/<stem>.npy        (T, 58) or (T, 1, 58) 3DMM
    <root>/<split>/audio/<role>/<session>/<stem>.wav               speech (16 kHz)
    <root>/<split>/audio-features/<role>/<session>/<stem>.npy      (T, 768), optional
    <root>/<split>/video-face-crop/<role>/<session>/<stem>.mp4     optional, never read

``role`` is ``speaker`` or ``listener``; a speaker clip and the listener clip with the same
session and stem form one dyad. A clip id is ``<role>/<session>/<stem>``. Clips are listed from
``facial-attributes`` in sorted order: sessions by folder name, then files by name
(compared as text, so a folder numbered 10 sorts before one numbered 2); names starting with
``.`` are skipped. Every reader raises :class:`reactbench.errors.DataError` naming the file and
what was expected; nothing is trimmed or padded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.constants import EMOTION_DIM, FACE_3DMM_DIM
from reactbench.data.check import check_emotion_ranges
from reactbench.errors import DataError

SPLITS = ("train", "val", "test")
ROLES = ("speaker", "listener")
ATTRIBUTES_DIR = "facial-attributes"
COEFFICIENTS_DIR = "coefficients"
AUDIO_DIR = "audio"
AUDIO_FEATURES_DIR = "audio-features"
VIDEO_DIR = "video-face-crop"
FPS = 30  # video frame rate of MARS (every per-frame modality is at it)
AUDIO_FEATURE_DIM = 768  # wav2vec2-base last hidden state
AUDIO_FEATURE_NAME = "wav2vec"  # key of the audio features in ClipSplit.speaker_audio
# a wav may differ from its clip by this many frames (its sample count rounds to no frame)
AUDIO_FRAME_TOLERANCE = 2
# shortest clip of MARS; FRSyn's +-49-frame lags need more than 50 frames
MIN_FRAMES = 58

_EXT = {ATTRIBUTES_DIR: ".npy", COEFFICIENTS_DIR: ".npy", AUDIO_DIR: ".wav",
        AUDIO_FEATURES_DIR: ".npy", VIDEO_DIR: ".mp4"}


def opposite(role: str) -> str:
    """``"listener"`` for ``"speaker"`` and vice versa."""
    return ROLES[1] if role == ROLES[0] else ROLES[0]


def parse_id(clip_id: str) -> tuple[str, str, str]:
    """``"speaker/<session>/<stem>"`` -> (role, session, stem)."""
    role, session, stem = clip_id.split("/", 2)
    return role, session, stem


def paired_id(clip_id: str) -> str:
    """The clip id of the other person of the dyad (same session and stem, opposite role)."""
    role, session, stem = parse_id(clip_id)
    return f"{opposite(role)}/{session}/{stem}"


def clip_path(root: Path, split: str, modality: str, clip_id: str) -> Path:
    """File of one clip's modality (its extension from the modality folder)."""
    return Path(root) / split / modality / f"{clip_id}{_EXT[modality]}"


def is_mars_root(root: str | Path) -> bool:
    """Whether ``root`` has a split folder with a ``facial-attributes`` folder."""
    root = Path(root)
    return any((root / s / ATTRIBUTES_DIR).is_dir() for s in SPLITS)


def mars_splits(root: str | Path) -> list[str]:
    """The splits of a MARS root that have a ``facial-attributes`` folder, in SPLITS order."""
    return [s for s in SPLITS if (Path(root) / s / ATTRIBUTES_DIR).is_dir()]


def _visible_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def list_role(root: str | Path, split: str, role: str) -> list[str]:
    """Clip ids of one role of a split, in sorted order (sessions, then files, by name)."""
    base = Path(root) / split / ATTRIBUTES_DIR / role
    out = []
    for session in _visible_dirs(base):
        names = sorted(p.name for p in session.iterdir()
                       if p.suffix == ".npy" and not p.name.startswith(".") and p.is_file())
        out += [f"{role}/{session.name}/{name[:-4]}" for name in names]
    return out


def session_pools(root: str | Path, split: str) -> dict[str, list[str]]:
    """``"<role>/<session>"`` -> the sorted clip ids of that role and session (both roles)."""
    pools: dict[str, list[str]] = {}
    for role in ROLES:
        for cid in list_role(root, split, role):
            r, session, _ = parse_id(cid)
            pools.setdefault(f"{r}/{session}", []).append(cid)
    return pools


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected {what}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read it as a numeric .npy ({exc}); expected {what} "
                        "(object and pickled arrays are refused)") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf":
        kind = getattr(arr, "dtype", type(arr).__name__)
        raise DataError(f"{path}: array of dtype {kind}; expected {what} of integers or floats")
    return arr


def read_frames(path: str | Path, width: int, what: str) -> np.ndarray:
    """One per-frame ``.npy`` -> (T, width) float32.

    (T, 1, width) and (1, T, width) are squeezed. Refused, naming the file: a missing or
    unreadable file, object/pickled or non-numeric arrays, 1-D arrays (frames need 2 axes),
    other shapes or widths, NaN/inf values."""
    path = Path(path)
    expected = f"{what} of shape (T, {width})"
    arr = _load_npy(path, expected)
    shape = arr.shape
    if arr.ndim == 3 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:
        raise DataError(f"{path}: 1-D array of shape {shape}; expected {expected} (one row per "
                        f"frame, even for a single frame)")
    if arr.ndim != 2 or arr.shape[1] != width:
        raise DataError(f"{path}: array of shape {shape}; expected {expected}")
    if arr.shape[0] == 0:
        raise DataError(f"{path}: no frames; expected {expected} with T >= 1")
    out = arr.astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: {int(bad.sum())} NaN/inf value(s), first at frame {r} column "
                        f"{c}; expected finite numbers")
    return out


def read_attributes(path: str | Path) -> np.ndarray:
    """One ``facial-attributes`` file -> (T, 25) float32 (AU 0:15, VA 15:17, FE 17:25);
    values far outside their ranges are refused (:func:`check.check_emotion_ranges`)."""
    emo = read_frames(path, EMOTION_DIM, "facial attributes")
    check_emotion_ranges(Path(path), emo)
    return emo


def read_coefficients(path: str | Path) -> np.ndarray:
    """One ``coefficients`` file -> (T, 58) float32 (52 expression + 3 rotation + 3 translation)."""
    return read_frames(path, FACE_3DMM_DIM, "3DMM coefficients")


def read_audio_features(path: str | Path) -> np.ndarray:
    """One ``audio-features`` file -> (T, 768) float32."""
    return read_frames(path, AUDIO_FEATURE_DIM, "audio features")


def wav_frames(path: str | Path, fps: int = FPS) -> tuple[int, int]:
    """(duration in frames at ``fps``, rounded to the nearest frame; sample rate) of a wav,
    read from its header."""
    import soundfile as sf  # imported on use: only the audio checks need it

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected the clip's .wav audio")
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        raise DataError(f"{path}: cannot read audio ({exc}); expected a readable .wav") from exc
    return int(round(info.frames * fps / info.samplerate)), int(info.samplerate)


def length_mismatch(path: Path, n: int, reference: Path, t: int, what: str,
                    other_fps: int = 25) -> str:
    """The message for a modality of ``n`` frames beside facial attributes of ``t`` frames;
    names the frame rate the count would match when it fits ``other_fps`` instead."""
    at_other = int(round(t * other_fps / FPS))
    hint = (f"; {n} frames is the clip's duration at {other_fps} fps, expected {FPS} fps"
            if abs(n - at_other) <= 1 and abs(n - t) > 1 else "")
    return (f"{path}: {what} has {n} frames, but the facial attributes {reference} have {t} "
            f"(expected the same frame count at {FPS} fps; no modality is trimmed to match "
            f"another){hint}")


__all__ = ["SPLITS", "ROLES", "FPS", "MIN_FRAMES", "ATTRIBUTES_DIR", "COEFFICIENTS_DIR",
           "AUDIO_DIR", "AUDIO_FEATURES_DIR", "VIDEO_DIR", "AUDIO_FEATURE_DIM",
           "AUDIO_FEATURE_NAME", "opposite", "parse_id", "paired_id", "clip_path",
           "is_mars_root", "mars_splits", "list_role", "session_pools", "read_frames",
           "read_attributes", "read_coefficients", "read_audio_features", "wav_frames",
           "length_mismatch"]
