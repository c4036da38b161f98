"""The official REACT2024 dataset layout: split CSVs, mirrored row order, per-modality paths,
and readers for one clip's files (Emotion CSV, 3DMM ``.npy``, wav).

Layout (``official_react2024.md`` section 1)::

    <root>/<split>.csv                      header row, then ``index,speaker_path,listener_path``
    <root>/<split>/Emotion/<clip>.csv       header row + T rows x 25 columns (AU 0:15, VA, FE)
    <root>/<split>/3D_FV_files/<clip>.npy   (T, 58), (T, 1, 58) or (1, T, 58) FaceVerse coefficients
    <root>/<split>/Audio_files/<clip>.wav   audio at any sample rate (mono or stereo)
    <root>/<split>/Video_files/<clip>/      optional frames 1.png ... T.png
    <root>/neighbour_emotion_<split>.npy    (N, N) appropriateness matrix, N = 2M

``<clip>`` is ``<site>/<session>/<role>/<clip index>`` as written in the split CSV (no extension;
relative, without ``..``, so no path leaves the dataset root).
Every reader raises :class:`reactbench.errors.DataError` naming the file and what was expected.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from reactbench.constants import EMOTION_COLUMNS, EMOTION_DIM, FACE_3DMM_DIM
from reactbench.errors import DataError, param

SPLITS = ("train", "val", "test")
EMOTION_DIR = "Emotion"
FACE_DIR = "3D_FV_files"
AUDIO_DIR = "Audio_files"
VIDEO_DIR = "Video_files"
SPLIT_CSV_COLUMNS = ("", "speaker_path", "listener_path")


def split_csv_path(root: Path, split: str) -> Path:
    return Path(root) / f"{split}.csv"


def neighbour_path(root: Path, split: str) -> Path:
    """The official file name of a split's appropriateness matrix."""
    return Path(root) / f"neighbour_emotion_{split}.npy"


def emotion_path(root: Path, split: str, clip: str) -> Path:
    return Path(root) / split / EMOTION_DIR / f"{clip}.csv"


def face_path(root: Path, split: str, clip: str) -> Path:
    return Path(root) / split / FACE_DIR / f"{clip}.npy"


def audio_path(root: Path, split: str, clip: str) -> Path:
    return Path(root) / split / AUDIO_DIR / f"{clip}.wav"


def video_path(root: Path, split: str, clip: str) -> Path:
    return Path(root) / split / VIDEO_DIR / clip


def check_split_name(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return split


def check_frames(frames: int | None) -> int | None:
    """Validate a requested number of frames per clip (``frames``): None or an integer >= 1."""
    if frames is None:
        return None
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)):
        raise DataError(f"{param('frames', repr(frames))}: expected a whole number of frames "
                        "per clip (>= 1)")
    if frames < 1:
        raise DataError(
            f"{param('frames', frames)}: expected a number of frames per clip >= 1 (clips are "
            f"cut to their first {param('frames')} frames)"
        )
    return int(frames)


def is_split_header(row: list[str]) -> bool:
    """True for the official header row ``,speaker_path,listener_path`` (any first cell)."""
    cells = [c.strip().lower() for c in row]
    return len(cells) == 3 and cells[1:] == ["speaker_path", "listener_path"]


def read_split_csv(root: Path, split: str) -> list[tuple[str, str]]:
    """The (speaker_path, listener_path) pairs of ``<root>/<split>.csv``, in file order.

    The file has the header row ``,speaker_path,listener_path``, then one row per pair with
    three columns: ``index,speaker_path,listener_path`` (paths without extension). A file whose
    first row is not that header is an error (its first pair would otherwise be dropped).
    Blank lines are ignored (they cannot shift pairs).
    """
    path = split_csv_path(root, check_split_name(split))
    if not path.is_file():
        raise DataError(
            f"{path}: split list not found (expected a CSV with header "
            f"',speaker_path,listener_path' and one row per clip pair)"
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read split list ({exc})") from exc
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise DataError(f"{path}: empty split list (expected a header row and clip pairs)")
    head_line, head = numbered[0]
    if not is_split_header(head):
        hint = (" The file seems to have no header row: add ',speaker_path,listener_path' as its "
                "first line (reading it as the header would drop the first pair)."
                if len(head) == 3 and head[0].strip().isdigit() else "")
        raise DataError(
            f"{path}, line {head_line}: expected the header row ',speaker_path,listener_path' "
            f"(official layout), got {','.join(head)!r}.{hint}"
        )
    pairs: list[tuple[str, str]] = []
    for lineno, row in numbered[1:]:
        if len(row) != 3:
            raise DataError(
                f"{path}, line {lineno}: expected 3 columns (index, speaker_path, listener_path), "
                f"got {len(row)}: {row!r}"
            )
        spk, lst = row[1].strip(), row[2].strip()
        if not spk or not lst:
            raise DataError(f"{path}, line {lineno}: empty speaker_path or listener_path")
        for column, clip in (("speaker_path", spk), ("listener_path", lst)):
            _check_clip_path(path, lineno, column, clip)
        pairs.append((spk, lst))
    if not pairs:
        raise DataError(f"{path}: no clip pairs after the header row")
    return pairs


def _check_clip_path(csv_path: Path, lineno: int, column: str, clip: str) -> None:
    """Raise for a clip path that could leave the dataset root: absolute (leading ``/`` or
    ``\\``, a drive letter) or with a ``..`` component."""
    parts = clip.replace("\\", "/").split("/")
    absolute = clip.startswith(("/", "\\")) or (len(clip) > 1 and clip[1] == ":")
    if absolute or ".." in parts:
        raise DataError(
            f"{csv_path}, line {lineno}: {column} {clip!r} leaves the dataset directory; expected "
            f"a relative path like 'NoXI/<session>/<role>/<clip>' without a leading '/' or '..'"
        )


def write_split_csv(root: Path, split: str, pairs: list[tuple[str, str]]) -> Path:
    path = split_csv_path(root, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SPLIT_CSV_COLUMNS)
        for i, (s, l) in enumerate(pairs):
            w.writerow((i, s, l))
    return path


def mirrored(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Official mirrored order: speakers = [speaker col] + [listener col], listeners the reverse.

    Row k and row k + M are the same clip pair with the roles swapped (N = 2M).
    """
    speakers = [p[0] for p in pairs] + [p[1] for p in pairs]
    listeners = [p[1] for p in pairs] + [p[0] for p in pairs]
    return speakers, listeners


def read_emotion(path: Path) -> np.ndarray:
    """One Emotion CSV -> (T, 25) float32. The first line is a header and is dropped.

    Raises DataError for a missing/malformed file, a first line of numbers (no header row: the
    official loader drops line 1 unseen, so every frame would move up by one), a column count
    other than 25, a blank line among the frames (skipping it would move every later frame up by
    one), empty or non-numeric cells or NaN/inf values (naming the line and column). Blank lines
    at the end are ignored.
    """

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: emotion file not found (expected a CSV with 25 columns)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read emotion file ({exc})") from exc
    _check_header(path, raw)
    _check_blank_lines(path, raw)
    try:
        df = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1, dtype=np.float64,
                         skip_blank_lines=True, keep_default_na=False, na_values=[])
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: empty emotion file (expected a header row and frames)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(
            f"{path}: malformed emotion CSV (expected 25 comma-separated columns per row): "
            f"{str(exc).strip()}"
        ) from exc
    except ValueError:
        df = None  # a cell is not a number: find it below
    if df is not None and df.shape[1] != EMOTION_DIM:
        raise DataError(
            f"{path}: expected {EMOTION_DIM} columns (15 AU, valence, arousal, 8 FE), "
            f"got {df.shape[1]}"
        )
    if df is not None and df.shape[0] == 0:
        raise DataError(f"{path}: no frames after the header row")
    if df is None or df.isna().to_numpy().any():
        arr = _diagnose_cells(path, raw)  # raises for empty, missing or non-numeric cells
    else:
        arr = df.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{path}: {int(bad.sum())} NaN/inf value(s), first at frame {r} column {c} "
            f"(expected finite numbers)"
        )
    return arr.astype(np.float32)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_header(path: Path, raw: bytes) -> None:
    """Raise when the first line of an Emotion CSV is a frame rather than a header row.

    The official loader reads the file with ``header=None`` and drops row 0, so the first line
    must be a header. A line of numbers is taken for a frame, except ``0,1,...,24`` (the column
    labels pandas writes for an unnamed DataFrame), which no frame can be (AUs are 0/1).
    """
    first = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    cells = [c.strip() for c in first.split(",")]
    if not first or not all(_is_number(c) for c in cells):
        return
    if len(cells) == EMOTION_DIM and all(_is_number(c) and float(c) == i
                                         for i, c in enumerate(cells)):
        return  # pandas' default column labels: a header
    shown = first if len(first) <= 60 else first[:57] + "..."
    raise DataError(
        f"{path}, line 1: expected a header row (the official loader drops line 1), got the "
        f"numbers {shown!r}; the file seems to have no header, so its first frame would be "
        f"lost and every frame shifted by one. Add a header line of {EMOTION_DIM} column names"
    )


def _check_blank_lines(path: Path, raw: bytes) -> None:
    """Raise for a blank line between the header and the last frame of an Emotion CSV (pandas
    would skip it and every later frame would move up by one); trailing blank lines are fine."""
    lines = raw.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            raise DataError(
                f"{path}, line {lineno}: blank line among the frames (expected {EMOTION_DIM} "
                f"numbers per row; skipping it would move every later frame up by one)"
            )


def _diagnose_cells(path: Path, raw: bytes) -> np.ndarray:
    """Slow path of read_emotion: raise for the first empty, missing or non-numeric cell;
    otherwise return the (T, 25) float64 values (literal "nan" cells are left to the caller's
    NaN check)."""

    df = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1, dtype=str, skip_blank_lines=True,
                     keep_default_na=False)
    if df.shape[1] != EMOTION_DIM:
        raise DataError(
            f"{path}: expected {EMOTION_DIM} columns (15 AU, valence, arousal, 8 FE), "
            f"got {df.shape[1]}"
        )
    text = df.apply(lambda c: c.str.strip())
    missing = (df.isna() | (text == "")).to_numpy()
    if missing.any():
        r = int(np.argmax(missing.any(axis=1)))
        cols = np.flatnonzero(missing[r])
        raise DataError(
            f"{path}, line {r + 2}: {len(cols)} empty or missing value(s) (first in column "
            f"{cols[0]}); expected {EMOTION_DIM} numbers per row"
        )
    num = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    nan_text = text.apply(lambda c: c.str.lower().isin(("nan", "-nan", "+nan"))).to_numpy()
    bad = np.isnan(num) & ~nan_text
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{path}, line {r + 2}: non-numeric value {df.iat[r, c]!r} in column {c}; "
            f"expected numbers"
        )
    if df.shape[0] == 0:
        raise DataError(f"{path}: no frames after the header row")
    return num


def write_emotion(path: Path, emotion: np.ndarray) -> None:
    """(T, 25) -> CSV with a header row (AUs as 0/1, the rest with 5 decimals)."""

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["%d"] * 15 + ["%.5f"] * 10
    np.savetxt(path, emotion, delimiter=",", fmt=fmt, header=",".join(EMOTION_COLUMNS),
               comments="")


def read_3dmm(path: Path) -> np.ndarray:
    """One 3DMM ``.npy`` -> (T, 58) float32. (T, 1, 58) and (1, T, 58) are squeezed, as the
    official loader's ``.squeeze()`` does; no other shape is accepted."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: 3DMM file not found (expected a (T, 58) .npy array)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read 3DMM array ({exc}); expected a (T, 58) .npy") from exc
    shape = arr.shape
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    elif arr.ndim == 3 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 2 or arr.shape[1] != FACE_3DMM_DIM:
        raise DataError(
            f"{path}: 3DMM array has shape {shape}, expected (T, {FACE_3DMM_DIM}), "
            f"(T, 1, {FACE_3DMM_DIM}) or (1, T, {FACE_3DMM_DIM}) (52 expression + 3 rotation + "
            f"3 translation)"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: 3DMM array has dtype {arr.dtype}, expected numbers")
    arr = arr.astype(np.float32)
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: NaN/inf in 3DMM array, first at frame {r} column {c}")
    return arr


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """One audio file -> (mono float32 samples, sample rate). Stereo is averaged to mono."""

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: audio file not found (expected a .wav file)")
    try:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise DataError(
            f"{path}: cannot read audio ({exc}); expected a readable .wav file"
        ) from exc
    if y.shape[0] == 0:
        raise DataError(f"{path}: audio file has no samples")
    y = y.mean(axis=1)
    if not np.isfinite(y).all():
        raise DataError(f"{path}: audio contains NaN/inf samples")
    return y.astype(np.float32), int(sr)


def wav_info(path: Path) -> tuple[int, int]:
    """(number of samples, sample rate) of an audio file without reading it."""

    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise DataError(
            f"{path}: cannot read audio ({exc}); expected a readable .wav file"
        ) from exc
    return int(info.frames), int(info.samplerate)
