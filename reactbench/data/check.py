"""Validate a dataset directory in the official layout and list every problem with its file.

Checked, per split that has a ``<split>.csv``: the split list itself; for every clip it names,
the Emotion CSV (25 columns, numbers, no NaN, AU/FE in [0, 1], VA in [-1, 1], FE rows summing
to 1), the 3DMM array ((T, 58) or (T, 1, 58), finite), the wav (readable, long enough), the
video frames folder only when the split has ``Video_files`` (nothing requires pixels); frame
counts (Emotion vs 3DMM vs audio of a clip, and across clips); the neighbour matrix (shape
(2M, 2M) for M pairs, values 0/1, no empty row, diagonal 1) and, for synthetic datasets, the
generator's truth matrices. Nothing stops at the first problem.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from reactbench.constants import AU, FE, FPS, VA
from reactbench.data import layout
from reactbench.errors import DataError

FE_SUM_TOLERANCE = 0.02  # |sum(FE) - 1| allowed per frame
RANGE_TOLERANCE = 1e-4  # slack on [0, 1] and [-1, 1]
AUDIO_FRAME_TOLERANCE = 2  # a wav may be this many 40 ms frames shorter than the clip
VIDEO_EXTENSIONS = (".png", ".jpg", ".jpeg")

Problem = tuple[str, str]  # (file, what is wrong and what was expected)


def _problem(path: Path, exc_or_msg) -> Problem:
    """(file, message) with the file-name prefix of a DataError message removed."""
    msg = str(exc_or_msg)
    p = str(path)
    if msg.startswith(p):
        msg = msg[len(p):].lstrip(":, ")
    return (p, msg)


def range_problems(path: Path, emo: np.ndarray) -> list[Problem]:
    """Out-of-range values of one (T, 25) emotion array read from ``path``: AU and FE outside
    [0, 1], valence/arousal outside [-1, 1] (slack ``RANGE_TOLERANCE``), FE rows not summing to
    1 (``FE_SUM_TOLERANCE``). Shared by ``data check`` and the loader."""
    out = []
    checks = (("AU", AU, 0.0, 1.0), ("valence/arousal", VA, -1.0, 1.0), ("FE", FE, 0.0, 1.0))
    for name, cols, lo, hi in checks:
        x = emo[:, cols]
        bad = (x < lo - RANGE_TOLERANCE) | (x > hi + RANGE_TOLERANCE)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            out.append(_problem(path, (
                f"{int(bad.sum())} {name} value(s) outside [{lo:g}, {hi:g}], first "
                f"{x[r, c]:g} at frame {r} column {cols.start + c}")))
    err = np.abs(emo[:, FE].sum(axis=1) - 1.0)
    if (err > FE_SUM_TOLERANCE).any():
        r = int(np.argmax(err > FE_SUM_TOLERANCE))
        out.append(_problem(path, (
            f"{int((err > FE_SUM_TOLERANCE).sum())} frame(s) whose 8 FE probabilities do not sum "
            f"to 1 (first: frame {r}, sum {emo[r, FE].sum():.4f}; tolerance {FE_SUM_TOLERANCE})")))
    return out


def check_emotion_ranges(path: Path, emo: np.ndarray) -> None:
    """Raise DataError naming the file, column and value for the first problem that
    :func:`range_problems` finds in ``emo`` (the loader's check of ground truth)."""
    problems = range_problems(path, emo)
    if problems:
        file, msg = problems[0]
        more = f" (and {len(problems) - 1} more problem(s) in this file)" if len(problems) > 1 \
            else ""
        raise DataError(f"{file}: {msg}{more}")


def modality_mismatch(emotion_file: Path, n_emotion: int, face_file: Path, n_face: int) -> str:
    """The message for an Emotion CSV and 3DMM array of one clip with different frame counts."""
    return (f"{face_file}: {n_face} frames, but the Emotion CSV {emotion_file} of the same clip "
            f"has {n_emotion} (expected equal frame counts; no modality is trimmed to match "
            f"another)")


def audio_shortfall(audio_file: Path, n_audio: int, n_clip: int) -> str | None:
    """The message for a wav shorter than its clip's ``n_clip`` frames by more than
    ``AUDIO_FRAME_TOLERANCE`` frames; None when it is long enough."""
    if n_audio >= n_clip - AUDIO_FRAME_TOLERANCE:
        return None
    return (f"{audio_file}: audio lasts {n_audio / FPS:.2f} s ({n_audio} frames), expected at "
            f"least {n_clip / FPS:.2f} s ({n_clip} frames at {FPS} fps, like the Emotion CSV)")


def check_clip(root: Path, split: str, clip: str, audio: bool = True, video: bool = False
               ) -> tuple[list[Problem], dict]:
    """Problems of one person-clip's files, and its frame counts {emotion, face, audio, video}.

    video: also check the clip's frames folder (done when ``<split>/Video_files`` exists).
    """
    from reactbench.data.loader import _missing_message

    problems: list[Problem] = []
    lengths: dict[str, int] = {}
    files = [layout.emotion_path(root, split, clip), layout.face_path(root, split, clip)]
    if audio:
        files.append(layout.audio_path(root, split, clip))
    missing = [p for p in files if not p.is_file()]
    problems += [_problem(p, _missing_message(p, split)) for p in missing]
    ep, fp = files[0], files[1]
    if ep not in missing:
        try:
            emo = layout.read_emotion(ep)
            lengths["emotion"] = emo.shape[0]
            problems += range_problems(ep, emo)
        except DataError as exc:
            problems.append(_problem(ep, exc))
    if fp not in missing:
        try:
            lengths["face"] = layout.read_3dmm(fp).shape[0]
        except DataError as exc:
            problems.append(_problem(fp, exc))
    ap = layout.audio_path(root, split, clip)
    if audio and ap not in missing:
        try:
            y, sr = layout.read_wav(ap)
            lengths["audio"] = int(len(y) * FPS // sr)
        except DataError as exc:
            problems.append(_problem(ap, exc))
    if video:
        vp = layout.video_path(root, split, clip)
        if not vp.is_dir():
            problems.append(_problem(vp, (
                f"video frames folder not found ({split}/{layout.VIDEO_DIR} exists, so every "
                f"clip needs a folder of frames 1.png ... T.png)")))
        else:
            n = sum(1 for e in os.scandir(vp) if e.name.lower().endswith(VIDEO_EXTENSIONS))
            lengths["video"] = n
            t = lengths.get("emotion")
            if t is not None and n < t:
                problems.append(_problem(vp, (
                    f"{n} video frames, expected at least {t} like the Emotion CSV")))
    if "emotion" in lengths and "face" in lengths and lengths["emotion"] != lengths["face"]:
        problems.append(_problem(fp, modality_mismatch(ep, lengths["emotion"], fp,
                                                       lengths["face"])))
    if "audio" in lengths and "emotion" in lengths:
        short = audio_shortfall(ap, lengths["audio"], lengths["emotion"])
        if short:
            problems.append(_problem(ap, short))
    return problems, lengths


def check_neighbours(path: Path, n: int) -> list[Problem]:
    """Problems of a neighbour matrix file that should be (n, n) float 0/1 with diagonal 1."""
    try:
        nb = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return [_problem(path, f"cannot read the matrix ({exc}); expected an ({n}, {n}) .npy")]
    if nb.shape != (n, n):
        return [_problem(path, (
            f"shape {nb.shape}, expected ({n}, {n}): N = 2 x the pairs in the split CSV, "
            f"mirrored order"))]
    if not (np.issubdtype(nb.dtype, np.number) or nb.dtype == bool):
        return [_problem(path, f"dtype {nb.dtype}, expected numbers 0/1")]
    nb = nb.astype(np.float64)
    out = []
    bad = ~np.isin(nb, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        out.append(_problem(path, (
            f"{int(bad.sum())} value(s) other than 0/1, first {nb[r, c]!r} at [{r}, {c}]")))
    empty = np.flatnonzero((nb == 1).sum(axis=1) == 0)
    if len(empty):
        out.append(_problem(path, (
            f"{len(empty)} row(s) with no appropriate reaction (first: row {empty[0]}); "
            f"every row needs at least one 1")))
    zero_diag = np.flatnonzero(np.diag(nb) != 1)
    if len(zero_diag):
        out.append(_problem(path, (
            f"{len(zero_diag)} diagonal entr(y/ies) not 1 (first: row {zero_diag[0]}); a "
            f"speaker's own listener is always appropriate")))
    return out


def _frame_problems(root: Path, split: str, lengths: dict[str, dict], frames: int | None
                    ) -> list[Problem]:
    """Clips shorter than ``frames``, or (frames None) clips whose length differs from most."""
    T = {c: min(v.get("emotion", 10**9), v.get("face", 10**9)) for c, v in lengths.items()
         if "emotion" in v or "face" in v}
    if not T:
        return []
    out = []
    if frames is not None:
        for c, t in T.items():
            if t < frames:
                out.append(_problem(layout.emotion_path(root, split, c),
                                    f"{t} frames, expected at least {frames}"))
        return out
    values, counts = np.unique(list(T.values()), return_counts=True)
    common = int(values[np.argmax(counts)])
    for c, t in T.items():
        if t != common:
            out.append(_problem(layout.emotion_path(root, split, c), (
                f"{t} frames, expected {common} like most clips of {split}")))
    return out


def check_split(root: Path, split: str, *, frames: int | None = None, audio: bool = True,
                n_jobs: int = -1, progress: bool = False) -> list[Problem]:
    """Every problem of one split (its CSV must exist). Raises DataError for frames < 1."""
    from joblib import Parallel, delayed

    frames = layout.check_frames(frames)
    csv_path = layout.split_csv_path(root, split)
    try:
        pairs = layout.read_split_csv(root, split)
    except DataError as exc:
        return [_problem(csv_path, exc)]
    problems: list[Problem] = []
    for i, (s, lst) in enumerate(pairs):
        if s == lst:
            problems.append(_problem(csv_path, (
                f"pair {i}: speaker and listener are the same clip {s!r} "
                f"(expected the two persons of one dyad)")))
    speakers, _ = layout.mirrored(pairs)
    clips = list(dict.fromkeys(speakers))
    nj = 1 if len(clips) < 16 else n_jobs
    video = (Path(root) / split / layout.VIDEO_DIR).is_dir()
    results = Parallel(n_jobs=nj, return_as="generator")(
        delayed(check_clip)(root, split, c, audio, video) for c in clips)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(clips), desc=f"checking {split}", unit="clip")
    lengths = {}
    for c, (probs, lens) in zip(clips, results):
        problems += probs
        lengths[c] = lens
    problems += _frame_problems(root, split, lengths, frames)
    n = 2 * len(pairs)
    nb = layout.neighbour_path(root, split)
    if nb.is_file():
        problems += check_neighbours(nb, n)
    from reactbench.data.synthetic import META_FILE, TRUTH_FILE

    truth = Path(root) / TRUTH_FILE.format(split=split)
    if (Path(root) / META_FILE).is_file():
        if not truth.is_file():
            problems.append(_problem(truth, (
                f"missing: the synthetic dataset's true appropriateness of {split}, "
                f"expected an ({n}, {n}) 0/1 .npy")))
        else:
            problems += check_neighbours(truth, n)
    return problems


def check_dataset(root: str | Path, *, frames: int | None = None, audio: bool = True,
                  n_jobs: int = -1, progress: bool = False) -> list[Problem]:
    """Every problem of the dataset at ``root`` as (file, message) pairs; [] when it is sound.

    frames: minimum frames per clip (None: the clips of a split must agree);
    audio: also check the wav files. Raises DataError for frames < 1 (a bad argument, not a
    problem of the dataset).
    """
    frames = layout.check_frames(frames)
    root = Path(root).expanduser()
    if not root.is_dir():
        return [(str(root), "dataset directory not found")]
    present = [s for s in layout.SPLITS if layout.split_csv_path(root, s).is_file()]
    if not present:
        return [(str(root), "no split list: expected train.csv, val.csv or test.csv "
                            "(official layout)")]
    problems: list[Problem] = []
    from reactbench.data.synthetic import META_FILE, read_meta

    try:
        read_meta(root)
    except DataError as exc:
        problems.append(_problem(root / META_FILE, exc))
    for split in present:
        problems += check_split(root, split, frames=frames, audio=audio, n_jobs=n_jobs,
                                progress=progress)
    return problems


__all__ = ["check_dataset", "check_split", "check_clip", "check_neighbours", "range_problems",
           "check_emotion_ranges", "modality_mismatch", "audio_shortfall", "Problem"]
