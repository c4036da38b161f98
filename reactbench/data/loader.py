"""Load one split of a dataset in the official layout into a :class:`SplitData` (mirrored order).

Loading reads every unique person-clip once (each appears as a speaker in one row and as a
listener in its mirrored row), in parallel with joblib, and caches the assembled arrays as one
``.npz`` under ``cache_dir()/splits/`` keyed by the loader version, the options and the size and
mtime of every file read. A dataset identity (content hash of those files) is cached alongside.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed, parallel_config
from tqdm import tqdm

from reactbench.atomic import atomic_savez
from reactbench.constants import DEFAULT_FRAMES, FPS
from reactbench.data import layout
from reactbench.data.audio import FEATURES_VERSION, LOGMEL_DIM, cached_wav_features
from reactbench.data.check import (
    audio_shortfall,
    check_emotion_ranges,
    missing_file_message,
    modality_mismatch,
)
from reactbench.data.split import SplitData
from reactbench.data.synthetic import IDLE_WORKERS_S, read_meta
from reactbench.errors import DataError, ReactbenchError, param
from reactbench.file_digest import memoised, stat_key, update_with_files
from reactbench.paths import cache_dir

LOADER_VERSION = "loader-5"  # 5: each entry stores its key; 4: headerless Emotion CSVs refused
# (a cached shifted read must not be reused); 3: ground-truth range checks, no trimming between
# modalities


def _clip_files(root: Path, split: str, clip: str, audio: bool) -> list[Path]:
    files = [layout.emotion_path(root, split, clip), layout.face_path(root, split, clip)]
    if audio:
        files.append(layout.audio_path(root, split, clip))
    return files


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _load_clip(root: Path, split: str, clip: str, audio: bool) -> dict:
    """Every modality of one person-clip, untrimmed, validated per file (the Emotion CSV for
    gross range violations only, ``check.GROSS_RANGE_MARGIN``; ``data check`` warns about
    smaller ones)."""
    ep = layout.emotion_path(root, split, clip)
    emo = layout.read_emotion(ep)
    check_emotion_ranges(ep, emo)
    face = layout.read_3dmm(layout.face_path(root, split, clip))
    out = {"emotion": emo, "face": face}
    if audio:

        feats, n_frames = cached_wav_features(layout.audio_path(root, split, clip))
        out["audio_frames"] = n_frames
        out["audio"] = feats
    return out


def _parallel_map(fn, items: list, n_jobs: int, progress: bool, desc: str) -> list:

    nj = 1 if len(items) < 16 else n_jobs
    # the synthetic generator's worker settings: a split loaded right after the default dataset
    # was generated reuses its worker processes (modules already imported)
    with parallel_config(backend="loky", idle_worker_timeout=IDLE_WORKERS_S):
        results = Parallel(n_jobs=nj, return_as="generator")(delayed(fn)(*it) for it in items)
    if progress:

        results = tqdm(results, total=len(items), desc=desc, unit="clip",
                       disable=None)  # no bar when stderr is not a terminal
    return list(results)


def _read_neighbours(root: Path, split: str, n: int) -> np.ndarray | None:
    path = layout.neighbour_path(root, split)
    if not path.is_file():
        return None
    try:
        nb = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(
            f"{path}: cannot read neighbour matrix ({exc}); expected ({n}, {n}) 0/1"
        ) from exc
    return validate_neighbours(nb, n, str(path))


def validate_neighbours(nb: np.ndarray, n: int, name: str) -> np.ndarray:
    """Check an appropriateness matrix: (n, n), finite, 0/1 only, no empty row -> float64."""
    nb = np.asarray(nb)
    if nb.shape != (n, n):
        raise DataError(
            f"{name}: neighbour matrix has shape {nb.shape}, expected ({n}, {n}) "
            f"(N = 2 x pairs in the split CSV, mirrored order)"
        )
    if not np.issubdtype(nb.dtype, np.number) and nb.dtype != bool:
        raise DataError(f"{name}: neighbour matrix has dtype {nb.dtype}, expected numbers 0/1")
    nb = nb.astype(np.float64)
    bad = ~np.isin(nb, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{name}: neighbour matrix value {nb[r, c]!r} at [{r}, {c}], expected 0 or 1"
        )
    empty = np.flatnonzero(nb.sum(axis=1) == 0)
    if len(empty):
        raise DataError(
            f"{name}: {len(empty)} row(s) with no appropriate reaction (first: row {empty[0]}); "
            f"every row needs at least one 1"
        )
    return nb


def _common_frames(lengths: dict[str, int], frames: int | None, what: dict[str, Path],
                   split: str) -> int:
    """Frames to use: ``frames`` (clips longer are cut, as the official [:750]); if every clip is
    shorter, the clips' common length. Clips of differing lengths shorter than ``frames`` error,
    stating the length actually expected."""
    shortest = min(lengths, key=lengths.get)
    lo = lengths[shortest]
    if frames is not None and lo >= frames:
        return int(frames)
    hi = max(lengths.values())
    if lo != hi:
        if frames is not None and frames <= hi:
            want = f"at least {frames} ({param('frames', frames)})"
        else:
            want = f"{hi} like the longest clips of {split}"
            if frames is not None:
                want += (f" ({param('frames', frames)} is more than any clip holds, so the clips' "
                         "common length is used)")
        raise DataError(f"{what[shortest]}: {lo} frames, expected {want}")
    return lo


def load_split(root: str | Path, split: str, *, frames: int | None = DEFAULT_FRAMES,
               audio: bool = True, neighbours: bool = True, n_jobs: int = -1, cache: bool = True,
               progress: bool = False) -> SplitData:
    """Load split ``split`` of the dataset at ``root`` in the official mirrored order.

    root: dataset directory (official layout); split: "train" | "val" | "test".
    frames: frames per clip T (>= 1); longer clips are cut to their first T frames (the official
        evaluation uses [:750] of 751-frame clips). When every clip of the split is shorter (e.g.
        a small synthetic dataset), their common length is used; None: the clips' common length.
        That cut is the only trimming: the Emotion CSV and 3DMM array of a clip must have
        equal frame counts unless both hold at least ``frames`` (then both are cut, as the
        official loader does); its wav may be up to ``check.AUDIO_FRAME_TOLERANCE`` frames shorter
        (the missing feature frames repeat the last one; the official loader instead zero-pads
        the waveform, so those few frames differ from it) or longer (cut).
    audio: compute the audio features ("mfcc" (N, T, 26), "logmel" (N, T, LOGMEL_DIM)).
    neighbours: read ``neighbour_emotion_<split>.npy`` when present (None otherwise).
    n_jobs: joblib workers for reading clips; cache: reuse/write the ``.npz`` cache.

    Raises DataError naming the file and what was expected for any missing or malformed file
    (an Emotion CSV without a header row included), ground truth grossly out of range (more
    than ``check.GROSS_RANGE_MARGIN`` outside AU/FE [0, 1] or VA [-1, 1]; slight deviations and
    FE rows not summing to 1 are accepted, as by the official code), or frame counts that
    differ between the modalities of a clip.
    """
    frames = layout.check_frames(frames)
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory not found")
    layout.check_split_name(split)
    pairs = layout.read_split_csv(root, split)
    speakers, listeners = layout.mirrored(pairs)
    clips = _unique(speakers)
    files = [layout.split_csv_path(root, split)]
    for c in clips:
        files += _clip_files(root, split, c, audio)
    nb_path = layout.neighbour_path(root, split)
    if neighbours and nb_path.is_file():
        files.append(nb_path)
    stats = stat_key(files)
    key_src = json.dumps([LOADER_VERSION, _audio_version(audio), str(root), split, frames,
                          audio, neighbours, stats])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:24]
    cpath = cache_dir() / "splits" / f"{split}-{key}.npz"
    data = _read_cache(cpath, key) if cache else None
    if data is None:
        for p, size, _ in stats:
            if size is None:
                raise DataError(missing_file_message(Path(p), split))
        data = _assemble(root, split, clips, speakers, listeners, frames, audio, n_jobs, progress)
        if cache:
            _write_cache(cpath, data, key)
    data = _mirror(data)
    nb = _read_neighbours(root, split, len(speakers)) if neighbours else None
    video = [layout.video_path(root, split, s) for s in speakers]
    video_dirs = video if all(v.is_dir() for v in video) else None
    ident = dataset_identity(root, split)
    ident["frames"] = int(data["speaker_emotion"].shape[1])
    sa = {k[len("speaker_audio_"):]: v for k, v in data.items() if k.startswith("speaker_audio_")}
    la = {k[len("listener_audio_"):]: v for k, v in data.items()
          if k.startswith("listener_audio_")}
    return SplitData(
        split=split, root=root, speaker_ids=list(speakers), listener_ids=list(listeners),
        speaker_emotion=data["speaker_emotion"], listener_emotion=data["listener_emotion"],
        speaker_3dmm=data["speaker_3dmm"], listener_3dmm=data["listener_3dmm"],
        speaker_audio=sa, listener_audio=la, neighbours=nb, video_dirs=video_dirs,
        identity=ident, fps=FPS,
    )


def _audio_version(audio: bool) -> str:
    if not audio:
        return ""

    return f"{FEATURES_VERSION}-{LOGMEL_DIM}"


def _assemble(root, split, clips, speakers, listeners, frames, audio, n_jobs, progress) -> dict:
    loaded = _parallel_map(_load_clip, [(root, split, c, audio) for c in clips], n_jobs, progress,
                           f"loading {split}")
    by = dict(zip(clips, loaded))
    for c, d in by.items():  # no modality is trimmed to match another
        ne, nf = d["emotion"].shape[0], d["face"].shape[0]
        if ne != nf and (frames is None or min(ne, nf) < frames):  # else both are cut to frames
            raise DataError(modality_mismatch(layout.emotion_path(root, split, c), ne,
                                              layout.face_path(root, split, c), nf))
        used = min(ne, nf) if frames is None else min(ne, nf, frames)  # frames kept of the clip
        short = audio and audio_shortfall(layout.audio_path(root, split, c), d["audio_frames"],
                                          used)
        if short:
            raise DataError(short)
    lengths = {c: min(d["emotion"].shape[0], d["face"].shape[0]) for c, d in by.items()}
    where = {c: layout.emotion_path(root, split, c) for c in clips}
    T = _common_frames(lengths, frames, where, split)
    idx = {c: i for i, c in enumerate(clips)}
    out = {
        "emotion": np.stack([by[c]["emotion"][:T] for c in clips]),
        "face": np.stack([by[c]["face"][:T] for c in clips]),
        "s_idx": np.array([idx[c] for c in speakers]),
        "l_idx": np.array([idx[c] for c in listeners]),
    }
    if audio:
        for name in by[clips[0]]["audio"]:
            feats = []
            for c in clips:
                f = by[c]["audio"][name]
                if f.shape[0] < T:  # repeat the last frame (official: zero-padded waveform)
                    f = np.pad(f, ((0, T - f.shape[0]), (0, 0)), mode="edge")
                feats.append(f[:T])
            out[f"audio_{name}"] = np.stack(feats)
    return out


def _mirror(data: dict) -> dict:
    """Per-clip arrays (cached form) -> speaker/listener arrays in mirrored row order."""
    s, l = data["s_idx"], data["l_idx"]
    out = {
        "speaker_emotion": data["emotion"][s], "listener_emotion": data["emotion"][l],
        "speaker_3dmm": data["face"][s], "listener_3dmm": data["face"][l],
    }
    for k, v in data.items():
        if k.startswith("audio_"):
            out[f"speaker_{k}"] = v[s]
            out[f"listener_{k}"] = v[l]
    return out


CACHE_KEY = "cache_key"  # the entry's key, stored in it and checked on reading


def _read_cache(path: Path, key: str) -> dict | None:
    """The cached arrays, or None (to rebuild) when there is no cache entry; a damaged entry
    (truncated, bit-flipped, not a zip, arrays missing, another entry's file) is removed, with
    a one-line note."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        stored = str(data.pop(CACHE_KEY, ""))
        if stored == key and {"emotion", "face", "s_idx", "l_idx"} <= data.keys():
            return data
        why = "arrays missing" if stored == key else "written for other data"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        why = str(exc) or type(exc).__name__
    print(f"note: the split cache {path} is damaged ({why}); removed, rebuilding it",
          file=sys.stderr)
    path.unlink(missing_ok=True)
    return None


def _write_cache(path: Path, data: dict, key: str) -> None:
    """Write the cache entry; a cache folder that cannot be written (read-only, full) is a
    one-line note, and the split is used uncached."""
    try:
        atomic_savez(path, {**data, CACHE_KEY: np.array(key)})
    except ReactbenchError as exc:
        print(f"note: {exc}; continuing without the split cache (set REACTBENCH_CACHE to a "
              "writable folder with free space to keep it)", file=sys.stderr)


def dataset_identity(root: str | Path, split: str) -> dict:
    """{root, split, generator (synthetic only), content_hash}: the content hash (sha256 over
    the split CSV, every Emotion/3DMM/wav file it names and the neighbour matrix, in a fixed
    order) is stable across copies of the dataset; cached by file sizes and mtimes."""

    root = Path(root).expanduser().resolve()
    pairs = layout.read_split_csv(root, split)
    speakers, _ = layout.mirrored(pairs)
    files = [layout.split_csv_path(root, split)]
    for c in _unique(speakers):
        files += _clip_files(root, split, c, True)
    nb = layout.neighbour_path(root, split)
    if nb.is_file():
        files.append(nb)
    key = hashlib.sha256(json.dumps(["identity-1", stat_key(files)]).encode()).hexdigest()[:24]

    def compute() -> dict:
        h = hashlib.sha256()
        update_with_files(h, [(p.relative_to(root).as_posix(), p) for p in files])
        meta = read_meta(root)
        ident = {
            "root": str(root),
            "split": split,
            "n_pairs": len(pairs),
            "content_hash": h.hexdigest(),
            "files": len(files),
        }
        if meta is not None:
            ident["generator"] = {"version": meta.get("version"), "seed": meta.get("seed")}
        return ident

    return memoised("identity", key, compute, required="content_hash")
