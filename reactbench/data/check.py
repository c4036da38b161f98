"""Validate a dataset directory in the official layout and list every problem with its file.

Findings come in three kinds (:class:`CheckReport`): **errors** are what the loader refuses,
plus a split that cannot be scored as meant (a pair whose speaker and listener are one clip; a
synthetic dataset without its truth matrices); **warnings** what the loader accepts but looks
wrong; **notes** are information. Checked, per split that
has a ``<split>.csv``: the split list itself; for every clip it names, the Emotion CSV (header
row, 25 columns, numbers, no NaN; values more than ``GROSS_RANGE_MARGIN`` outside AU/FE [0, 1]
or VA [-1, 1] are errors, slight deviations and FE rows not summing to 1 are warnings), the 3DMM
array ((T, 58), (T, 1, 58) or (1, T, 58), finite), the wav (readable, long enough; much longer
than the clip is a warning); frame counts (Emotion vs 3DMM vs audio of a clip, as the loader
with the same ``frames`` sees them, and across clips); the neighbour matrix (shape (2M, 2M) for M
pairs, values 0/1, no empty row; warnings for a diagonal entry other than 1 and when its rows
look interleaved instead of mirrored, see :mod:`reactbench.data.neighbour_check`) and, for
synthetic datasets, the generator's truth matrices. Video frames are optional and only noted
(nothing reads pixels); a frames folder with fewer frames than the Emotion CSV is a warning.
Nothing stops at the first problem.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from reactbench.constants import AU, FE, FPS, VA
from reactbench.data import layout
from reactbench.data.neighbour_check import neighbour_findings
from reactbench.data.synthetic import META_FILE, TRUTH_FILE, read_meta
from reactbench.errors import DataError

FE_SUM_TOLERANCE = 0.02  # |sum(FE) - 1| per frame beyond this is a warning (never an error)
RANGE_TOLERANCE = 1e-4  # slack on [0, 1] and [-1, 1] before data check warns
GROSS_RANGE_MARGIN = 0.5  # values further outside their range are refused (e.g. 0-100 percent)
AUDIO_FRAME_TOLERANCE = 2  # a wav may be this many 40 ms frames shorter than the clip
AUDIO_EXCESS_FRAMES = 25  # a wav more than this many frames (1 s) longer than the clip: warning
VIDEO_EXTENSIONS = (".png", ".jpg", ".jpeg")

Problem = tuple[str, str]  # (file, what is wrong and what was expected)


@dataclass
class CheckReport:
    """What ``data check`` found: errors (the loader refuses), warnings, notes; each a list of
    (file, message)."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def extend(self, other: CheckReport) -> None:
        self.errors += other.errors
        self.warnings += other.warnings
        self.notes += other.notes


def problem(path: Path, exc_or_msg) -> Problem:
    """(file, message) with the file-name prefix of a DataError message removed."""
    msg = str(exc_or_msg)
    p = str(path)
    if msg.startswith(p):
        msg = msg[len(p):].lstrip(":, ")
    return (p, msg)


def meta_problems(root: Path, meta_file: str, read: Callable[[Path], object]) -> list[Problem]:
    """The error of ``read(root)``, reading a synthetic generator's metadata file
    ``root / meta_file`` (empty when it is readable or absent)."""
    try:
        read(root)
    except DataError as exc:
        return [problem(root / meta_file, exc)]
    return []


def emotion_findings(path: Path, emo: np.ndarray) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of one (T, 25) emotion array read from ``path``.

    Errors: AU/FE values more than ``GROSS_RANGE_MARGIN`` outside [0, 1], valence/arousal more
    than that outside [-1, 1]. Warnings: smaller excursions beyond ``RANGE_TOLERANCE``, and
    frames whose 8 FE probabilities do not sum to 1 within ``FE_SUM_TOLERANCE`` (an all-zero
    frame included). The official code accepts any finite values.
    """
    errors, warnings = [], []
    checks = (("AU", AU, 0.0, 1.0), ("valence/arousal", VA, -1.0, 1.0), ("FE", FE, 0.0, 1.0))
    for name, cols, lo, hi in checks:
        x = emo[:, cols]
        for margin, out, how in ((GROSS_RANGE_MARGIN, errors, ""),
                                 (RANGE_TOLERANCE, warnings, "slightly ")):
            bad = (x < lo - margin) | (x > hi + margin)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                accepted = ("" if out is errors else
                            f"; accepted (values more than {GROSS_RANGE_MARGIN:g} outside are "
                            f"refused)")
                out.append(problem(path, (
                    f"{int(bad.sum())} {name} value(s) {how}outside [{lo:g}, {hi:g}], first "
                    f"{x[r, c]:g} at frame {r} column {cols.start + c}{accepted}")))
                break
    err = np.abs(emo[:, FE].sum(axis=1) - 1.0)
    if (err > FE_SUM_TOLERANCE).any():
        r = int(np.argmax(err > FE_SUM_TOLERANCE))
        warnings.append(problem(path, (
            f"{int((err > FE_SUM_TOLERANCE).sum())} frame(s) whose 8 FE probabilities do not sum "
            f"to 1 (first: frame {r}, sum {emo[r, FE].sum():.4f}; tolerance {FE_SUM_TOLERANCE}); "
            f"accepted")))
    return errors, warnings


def check_emotion_ranges(path: Path, emo: np.ndarray) -> None:
    """Raise DataError naming the file, column and value for the first gross range violation
    that :func:`emotion_findings` finds in ``emo`` (the loader's check of ground truth)."""
    errors, _ = emotion_findings(path, emo)
    if errors:
        file, msg = errors[0]
        more = f" (and {len(errors) - 1} more problem(s) in this file)" if len(errors) > 1 \
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


def audio_excess(audio_file: Path, n_audio: int, n_clip: int) -> str | None:
    """The warning for a wav more than ``AUDIO_EXCESS_FRAMES`` frames longer than its clip's
    ``n_clip`` Emotion frames (e.g. a whole session's audio); None otherwise."""
    if n_audio <= n_clip + AUDIO_EXCESS_FRAMES:
        return None
    return (f"{audio_file}: audio lasts {n_audio / FPS:.2f} s ({n_audio} frames at {FPS} fps), "
            f"but the Emotion CSV has {n_clip} frames ({n_clip / FPS:.2f} s); expected at most "
            f"{AUDIO_EXCESS_FRAMES / FPS:g} s longer. Only its first {n_clip / FPS:.2f} s are "
            f"used: is it the clip's own audio?")


def missing_file_message(p: Path, split: str) -> str:
    """The message for a clip file ``p`` of ``split`` that does not exist (names its modality)."""
    kind = {layout.EMOTION_DIR: "emotion CSV (25 columns)", layout.FACE_DIR: "3DMM .npy (T, 58)",
            layout.AUDIO_DIR: ".wav audio"}
    for d, what in kind.items():
        if f"/{split}/{d}/" in str(p):
            return (f"{p}: file not found; the split CSV {split}.csv names this clip, expected "
                    f"its {what}")
    return f"{p}: file not found"


def _used_frames(lengths: dict[str, int], frames: int | None) -> int | None:
    """Frames the loader keeps of a clip with these Emotion/3DMM ``lengths``."""
    ts = [lengths[k] for k in ("emotion", "face") if k in lengths]
    if frames is not None:
        ts.append(frames)
    return min(ts) if ts else None


def check_clip(root: Path, split: str, clip: str, audio: bool = True,
               frames: int | None = None) -> tuple[CheckReport, dict]:
    """Findings of one person-clip's files, and its frame counts {emotion, face, audio, video}.

    frames: as the loader's ``frames`` (Emotion and 3DMM may differ when both reach it; the wav
    must cover the frames kept). The clip's video frames folder is looked at if present.
    """
    rep = CheckReport()
    lengths: dict[str, int] = {}
    ep, fp, ap = (layout.emotion_path(root, split, clip), layout.face_path(root, split, clip),
                  layout.audio_path(root, split, clip))
    for p in (ep, fp, ap) if audio else (ep, fp):
        if not p.is_file():
            rep.errors.append(problem(p, missing_file_message(p, split)))
    if ep.is_file():
        try:
            emo = layout.read_emotion(ep)
            lengths["emotion"] = emo.shape[0]
            errors, warnings = emotion_findings(ep, emo)
            rep.errors += errors
            rep.warnings += warnings
        except DataError as exc:
            rep.errors.append(problem(ep, exc))
    if fp.is_file():
        try:
            lengths["face"] = layout.read_3dmm(fp).shape[0]
        except DataError as exc:
            rep.errors.append(problem(fp, exc))
    if audio and ap.is_file():
        try:
            y, sr = layout.read_wav(ap)
            lengths["audio"] = int(len(y) * FPS // sr)
        except DataError as exc:
            rep.errors.append(problem(ap, exc))
    ne, nf = lengths.get("emotion"), lengths.get("face")
    if ne is not None and nf is not None and ne != nf and (frames is None
                                                           or min(ne, nf) < frames):
        rep.errors.append(problem(fp, modality_mismatch(ep, ne, fp, nf)))
    used = _used_frames(lengths, frames)
    if "audio" in lengths and used is not None:
        short = audio_shortfall(ap, lengths["audio"], used)
        if short:
            rep.errors.append(problem(ap, short))
        long = audio_excess(ap, lengths["audio"], ne) if ne is not None else None
        if long:
            rep.warnings.append(problem(ap, long))
    _video_findings(layout.video_path(root, split, clip), ne, rep, lengths)
    return rep, lengths


def _video_findings(vp: Path, n_emotion: int | None, rep: CheckReport,
                    lengths: dict[str, int]) -> None:
    """Count a clip's video frames (``lengths["video"]``) if its folder exists; fewer frames
    than the Emotion CSV is a warning. Nothing reads pixels, so absence is no finding."""
    if not vp.is_dir():
        return
    try:
        with os.scandir(vp) as entries:
            n = sum(1 for e in entries if e.name.lower().endswith(VIDEO_EXTENSIONS))
    except OSError as exc:  # e.g. no permission: a finding, not a traceback
        rep.warnings.append(problem(vp, (
            f"cannot list the video frames folder ({exc.strerror or exc}); video is optional, "
            f"nothing in reactbench reads it")))
        return
    lengths["video"] = n
    if n_emotion is not None and n < n_emotion:
        rep.warnings.append(problem(vp, (
            f"{n} video frames, expected at least {n_emotion} like the Emotion CSV (video is "
            f"optional; nothing in reactbench reads it)")))


def _neighbour_findings(path: Path, n: int) -> CheckReport:
    """Errors and warnings of a neighbour matrix file (:mod:`reactbench.data.neighbour_check`).
    """

    errors, warnings = neighbour_findings(path, n)
    return CheckReport(errors=[problem(path, m) for m in errors],
                       warnings=[problem(path, m) for m in warnings])


def _frame_problems(root: Path, split: str, lengths: dict[str, dict], frames: int | None
                    ) -> list[Problem]:
    """Clips shorter than ``frames``, or clips whose length differs from most when ``frames`` is
    None or no clip reaches it (the loader then uses the clips' common length)."""
    T = {c: min(v.get("emotion", 10**9), v.get("face", 10**9)) for c, v in lengths.items()
         if "emotion" in v or "face" in v}
    if not T:
        return []
    out = []
    if frames is not None and max(T.values()) >= frames:
        for c, t in T.items():
            if t < frames:
                out.append(problem(layout.emotion_path(root, split, c),
                                    f"{t} frames, expected at least {frames}"))
        return out
    values, counts = np.unique(list(T.values()), return_counts=True)
    common = int(values[np.argmax(counts)])
    for c, t in T.items():
        if t != common:
            out.append(problem(layout.emotion_path(root, split, c), (
                f"{t} frames, expected {common} like most clips of {split}")))
    return out


def _video_note(root: Path, split: str, lengths: dict[str, dict]) -> Problem:
    """One note per split: how many clips have a video frames folder (optional)."""
    vdir = Path(root) / split / layout.VIDEO_DIR
    n = sum("video" in v for v in lengths.values())
    return (str(vdir), f"video frames folders for {n} of {len(lengths)} clips (optional: "
                       f"nothing in reactbench reads pixels; .mp4 files are not looked at)")


def _repeated_pairs(csv_path: Path, pairs: list[tuple[str, str]]) -> list[Problem]:
    """A warning for each clip pair listed again (in either order): its rows would be scored
    twice, weighting that dyad double in every mean."""
    first: dict[frozenset, int] = {}
    out = []
    for i, pair in enumerate(pairs):
        key = frozenset(pair)
        if key in first:
            out.append(problem(csv_path, (
                f"pair {i} ({pair[0]!r}, {pair[1]!r}) repeats pair {first[key]}: its rows are "
                "loaded and scored twice, so the dyad counts double in every metric; expected "
                "each dyad clip pair once")))
        else:
            first[key] = i
    return out


def split_report(root: Path, split: str, *, frames: int | None = None, audio: bool = True,
                 n_jobs: int = -1, progress: bool = False) -> CheckReport:
    """Every finding of one split (its CSV must exist). Raises DataError for frames < 1."""

    frames = layout.check_frames(frames)
    csv_path = layout.split_csv_path(root, split)
    rep = CheckReport()
    try:
        pairs = layout.read_split_csv(root, split)
    except DataError as exc:
        rep.errors.append(problem(csv_path, exc))
        return rep
    for i, (s, lst) in enumerate(pairs):
        if s == lst:
            rep.errors.append(problem(csv_path, (
                f"pair {i}: speaker and listener are the same clip {s!r} "
                f"(expected the two persons of one dyad)")))
    rep.warnings += _repeated_pairs(csv_path, pairs)
    speakers, _ = layout.mirrored(pairs)
    clips = list(dict.fromkeys(speakers))
    nj = 1 if len(clips) < 16 else n_jobs
    results = Parallel(n_jobs=nj, return_as="generator")(
        delayed(check_clip)(root, split, c, audio, frames) for c in clips)
    if progress:

        results = tqdm(results, total=len(clips), desc=f"checking {split}", unit="clip",
                       disable=None)  # no bar when stderr is not a terminal
    lengths = {}
    for c, (clip_rep, lens) in zip(clips, results):
        rep.extend(clip_rep)
        lengths[c] = lens
    rep.errors += _frame_problems(root, split, lengths, frames)
    rep.notes.append(_video_note(root, split, lengths))
    n = 2 * len(pairs)
    nb = layout.neighbour_path(root, split)
    if nb.is_file():
        rep.extend(_neighbour_findings(nb, n))

    truth = Path(root) / TRUTH_FILE.format(split=split)
    if (Path(root) / META_FILE).is_file():
        if not truth.is_file():
            rep.errors.append(problem(truth, (
                f"missing: the synthetic dataset's true appropriateness of {split}, "
                f"expected an ({n}, {n}) 0/1 .npy")))
        else:
            rep.extend(_neighbour_findings(truth, n))
    return rep


def dataset_report(root: str | Path, *, frames: int | None = None, audio: bool = True,
                   n_jobs: int = -1, progress: bool = False) -> CheckReport:
    """Every finding of the dataset at ``root`` (errors, warnings, notes).

    frames: as ``frames`` of the loader: minimum frames per clip, and Emotion/3DMM of a clip
    may differ in length when both reach it (None, or no clip of a split reaches it: the clips
    of a split must agree, as the loader then uses their common length; with None each clip's
    modalities must agree too); audio: also check the wav files. Raises DataError for frames < 1 (a
    bad argument, not a problem of the dataset).
    """
    frames = layout.check_frames(frames)
    root = Path(root).expanduser()
    rep = CheckReport()
    if not root.is_dir():
        rep.errors.append((str(root), "dataset directory not found"))
        return rep
    present = [s for s in layout.SPLITS if layout.split_csv_path(root, s).is_file()]
    if not present:
        rep.errors.append((str(root), "no split list: expected train.csv, val.csv or test.csv "
                                      "(official layout)"))
        return rep

    rep.errors += meta_problems(root, META_FILE, read_meta)
    for split in present:
        rep.extend(split_report(root, split, frames=frames, audio=audio, n_jobs=n_jobs,
                                progress=progress))
    return rep


def check_dataset(root: str | Path, *, frames: int | None = None, audio: bool = True,
                  n_jobs: int = -1, progress: bool = False) -> list[Problem]:
    """The errors of :func:`dataset_report` (same arguments) as (file, message) pairs; [] when
    the loader will accept the dataset."""
    return dataset_report(root, frames=frames, audio=audio, n_jobs=n_jobs,
                          progress=progress).errors


__all__ = ["check_dataset", "dataset_report", "split_report", "check_clip", "emotion_findings",
           "check_emotion_ranges", "modality_mismatch", "audio_shortfall", "audio_excess",
           "CheckReport", "Problem", "problem", "meta_problems"]
