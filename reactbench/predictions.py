"""Saved predictions: load, save (atomic), and validate BEFORE any metric runs.

Accepted files (``reactbench score --predictions FILE_OR_DIR``):
- ``.npy``: an array (N, alpha, T, 25) in the split's mirrored row order;
- ``.npz``: key ``emotion`` (or ``pred`` / ``predictions``, or its only array) (N, alpha, T, 25);
  optional ``face_3dmm`` (or ``pred_3dmm``) (N, alpha, T, 58); optional ``speaker_ids`` (N,)
  speaker clip paths -- when present, the row order is checked against the split; or these
  arrays packed (:mod:`reactbench.packed`), as :func:`save_predictions` writes them;
- a directory with one ``predictions.npz``/``predictions.npy``, or one file per speaker clip,
  ``<dir>/<speaker_id>.npy`` (alpha, T, 25) (or ``.npz`` with the keys above), named by the
  split's speaker ids (e.g. ``NoXI/<session>/Expert_video/1.npy``): the order then cannot be wrong.

Before any array is read, its size is taken from the ``.npy`` headers (of a file, or of the
members of an ``.npz``, which may expand far beyond the file's size) and predictions that
would not fit in the memory this process may use (:mod:`reactbench.memory`) are refused.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactbench import memory
from reactbench.atomic import atomic_savez
from reactbench.constants import AU, EMOTION_DIM, FACE_3DMM_DIM, FE, VA
from reactbench.errors import ModelError, ReactbenchError, param, render_params
from reactbench.packed import layout_of_zip, pack, packed_shape, unpack_npz

EMOTION_KEYS = ("emotion", "pred", "predictions")
FACE_KEYS = ("face_3dmm", "pred_3dmm", "3dmm")
RANGE_TOL = 1e-3
# column group -> (low, high) valid range of the 25-d attributes
RANGES = (("AU", AU, 0.0, 1.0), ("VA", VA, -1.0, 1.0), ("FE", FE, 0.0, 1.0))


class PredictionsError(ReactbenchError):
    """A predictions file is unreadable or does not fit the split; the message lists why."""


@dataclass
class Predictions:
    """emotion (N, alpha, T, 25) float32; face_3dmm (N, alpha, T, 58) or None;
    speaker_ids (N,) or None (when the file carried no ids)."""

    emotion: np.ndarray
    face_3dmm: np.ndarray | None = None
    speaker_ids: list[str] | None = None

    @property
    def alpha(self) -> int:
        return int(self.emotion.shape[1])


# ----------------------------------------------------------------------------- save / load
def save_predictions(path: str | Path, preds: Predictions, meta: dict | None = None, *,
                     packed: bool = True) -> Path:
    """Write an ``.npz`` atomically (temp file + os.replace); returns the path. ``packed``:
    exact compact storage (:mod:`reactbench.packed`: binary columns as bits, byte planes,
    zlib); False: plain ``emotion`` / ``face_3dmm`` float32 members that numpy alone reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"emotion": np.asarray(preds.emotion, dtype=np.float32)}
    if preds.face_3dmm is not None:
        arrays["face_3dmm"] = np.asarray(preds.face_3dmm, dtype=np.float32)
    if packed:
        arrays = pack(arrays)
    if preds.speaker_ids is not None:
        arrays["speaker_ids"] = np.asarray(preds.speaker_ids, dtype=str)
    if meta:
        arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True, default=str))
    return atomic_savez(path, arrays)


def _pick(npz, keys: tuple[str, ...], path: Path, required: bool):
    for k in keys:
        if k in npz.files:
            return npz[k]
    arrays = [k for k in npz.files if k not in ("speaker_ids", "meta") and k not in FACE_KEYS]
    if required and len(arrays) == 1:
        return npz[arrays[0]]
    if required:
        raise PredictionsError(
            f"{path}: no predictions array: expected key 'emotion' (or "
            f"{', '.join(EMOTION_KEYS[1:])}); found keys {npz.files}"
        )
    return None


def _load_file(path: Path) -> Predictions:  # what directory loading reads for each file
    return load_saved(path, meta=False)[0]


def load_saved(path: str | Path, *, meta: bool = True) -> tuple[Predictions, dict]:
    """(predictions, the file's JSON ``meta`` or {}) of one ``.npy`` / ``.npz`` file, packed
    (:func:`save_predictions`) or plain; PredictionsError naming the file when unreadable."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            return Predictions(emotion=np.load(path, allow_pickle=False)), {}
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                arrays = unpack_npz(npz)
                if arrays is None:
                    arrays = {"emotion": _pick(npz, EMOTION_KEYS, path, True),
                              "face_3dmm": _pick(npz, FACE_KEYS, path, False)}
                if "emotion" not in arrays:
                    raise PredictionsError(f"{path}: the packed file holds no 'emotion' array")
                ids = npz["speaker_ids"].tolist() if "speaker_ids" in npz.files else None
                info = json.loads(str(npz["meta"])) if meta and "meta" in npz.files else {}
            return Predictions(emotion=arrays["emotion"], face_3dmm=arrays.get("face_3dmm"),
                               speaker_ids=ids), info
    except PredictionsError:
        raise
    except Exception as exc:
        msg = f"{path}: cannot read predictions ({type(exc).__name__}: {exc})"
        raise PredictionsError(msg) from exc
    raise PredictionsError(f"{path}: expected a .npy or .npz file (or a directory of them)")


# ----------------------------------------------------------------------------- sizes
def _npy_header(fp) -> tuple[tuple[int, ...], np.dtype] | None:
    """(shape, dtype) from the ``.npy`` header at the start of ``fp`` (None: not a header this
    check reads; loading then reports what is wrong)."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        return None
    return tuple(int(d) for d in shape), dtype


def _loaded_keys(keys: list[str]) -> list[str]:
    """The members of an .npz with ``keys`` that loading reads (as ``_pick`` chooses them)."""
    emo = next((k for k in EMOTION_KEYS if k in keys), None)
    if emo is None:
        arrays = [k for k in keys if k not in ("speaker_ids", "meta") and k not in FACE_KEYS]
        emo = arrays[0] if len(arrays) == 1 else None
    face = next((k for k in FACE_KEYS if k in keys), None)
    return [k for k in (emo, face, "speaker_ids") if k is not None and k in keys]


def _file_arrays(path: Path) -> list[tuple[str, tuple[int, ...], np.dtype]] | None:
    """(key, shape, dtype) of every array loading ``path`` reads, from the headers only
    (None: unreadable here; loading reports why)."""
    try:
        if path.suffix == ".npy":
            with open(path, "rb") as fp:
                head = _npy_header(fp)
            return None if head is None else [("array", *head)]
        if path.suffix == ".npz" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                out, layout = [], layout_of_zip(zf)
                if layout is not None:  # float32 once unpacked (see _nbytes)
                    return [(f"{k} (packed)", packed_shape(layout, k), np.dtype(np.float32))
                            for k in ("emotion", "face_3dmm") if k in layout["arrays"]]
                members = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
                for key in _loaded_keys(list(members)):
                    with zf.open(members[key]) as fp:
                        head = _npy_header(fp)
                    if head is None:
                        return None
                    out.append((key, *head))
            return out
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError, KeyError):
        return None
    return None


def _nbytes(shape: tuple[int, ...], dtype: np.dtype, key: str) -> int:
    """Bytes an array takes once loaded, plus its float32 copy (made for scoring) when it is
    stored as another type."""
    count = math.prod(shape)
    copy = key != "speaker_ids" and dtype != np.float32
    planes = count * 4 if key.endswith("(packed)") else 0  # 2 threads: stored + inflated
    return count * dtype.itemsize + (count * 4 if copy else 0) + planes


def _describe(arrays: list[tuple[str, tuple[int, ...], np.dtype]]) -> str:
    return ", ".join(f"{k} {shape} {dtype}" for k, shape, dtype in arrays)


def predictions_size(path: str | Path) -> tuple[int, str] | None:
    """(bytes, what) that loading predictions ``path`` (a file or folder, as
    :func:`load_predictions` reads it) would take in memory, read from the ``.npy`` headers
    without loading any array; None when a header cannot be read (loading reports why)."""
    path = Path(path)
    if path.is_file():
        arrays = _file_arrays(path)
        if arrays is None:
            return None
        return sum(_nbytes(s, d, k) for k, s, d in arrays), _describe(arrays)
    if not path.is_dir():
        return None
    whole = [path / n for n in ("predictions.npz", "predictions.npy") if (path / n).is_file()]
    if whole:
        return predictions_size(whole[0])
    files = [p for p in sorted(path.rglob("*")) if p.suffix in (".npy", ".npz") and p.is_file()]
    total, first = 0, None
    for f in files:
        arrays = _file_arrays(f)
        if arrays is None:
            return None
        total += sum(_nbytes(s, d, k) for k, s, d in arrays)
        first = first or arrays
    if not files:
        return None
    # the per-speaker arrays are stacked into one: both exist at once
    return 2 * total, (f"{len(files)} per-speaker files (e.g. {_describe(first)}) stacked "
                       "into one")


def check_predictions_size(path: str | Path) -> None:
    """Raise PredictionsError, before any array is read, when predictions ``path`` would not
    fit once loaded in the memory this process may use
    (:func:`reactbench.memory.available_memory`), naming the file, the arrays and their size,
    the limit and where it comes from."""
    size = predictions_size(path)
    limit = None if size is None else memory.available_memory()
    if limit is None or size[0] <= limit.available:
        return
    need, what = size
    raise PredictionsError(
        f"{param('source', path)}: the predictions, {what}, would take {memory.gib(need)} "
        f"of memory once loaded, more than {limit.source}; nothing was loaded (save fewer "
        "generations per speaker: alpha, the second axis)")


def load_predictions(path: str | Path, speaker_ids: list[str] | None = None) -> Predictions:
    """Load predictions from a file or directory (see the module docstring).

    speaker_ids: the split's speaker ids, needed for a per-speaker directory (rows are
    assembled in that order; missing or unexpected files are reported).
    """
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise PredictionsError(f"predictions {path}: a symbolic link to a missing file (or "
                                   "a link loop)")
        raise PredictionsError(f"predictions {path} do not exist")
    if path.is_file():
        check_predictions_size(path)
        return _load_file(path)
    if not path.is_dir():  # a FIFO, socket or device: reading could block
        raise PredictionsError(f"{path}: not a regular file (a FIFO, socket or device); expected "
                               "a .npy or .npz file (or a directory of them)")
    whole = [path / n for n in ("predictions.npz", "predictions.npy") if (path / n).is_file()]
    if len(whole) > 1:
        raise PredictionsError(f"{path}: holds both predictions.npz and predictions.npy; keep "
                               f"one, or pass the file itself as {param('source')}")
    check_predictions_size(path)
    if whole:
        return _load_file(whole[0])
    files = {
        str(p.relative_to(path).with_suffix("")).replace(os.sep, "/"): p
        for p in sorted(path.rglob("*"))
        if p.suffix in (".npy", ".npz") and p.is_file()
    }
    if not files:
        raise PredictionsError(f"{path}: directory holds no .npy/.npz predictions")
    if speaker_ids is None:
        raise PredictionsError(f"{path}: a per-speaker directory needs the split's speaker ids")
    missing = [s for s in speaker_ids if s not in files]
    extra = sorted(set(files) - set(speaker_ids))
    problems = []
    if missing:
        problems.append(f"{len(missing)} speaker file(s) missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} file(s) name no speaker of the split, e.g. {extra[:3]}")
    if problems:
        raise PredictionsError(
            f"{path}: per-speaker predictions do not match the split "
            f"(expected <speaker_id>.npy for each of {len(speaker_ids)} rows): "
            + "; ".join(problems)
        )
    parts = [_load_file(files[s]) for s in speaker_ids]
    shapes = {np.shape(p.emotion) for p in parts}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise PredictionsError(
            f"{path}: every per-speaker file must hold (alpha, T, 25) arrays of one shape; "
            f"found shapes {sorted(shapes)[:4]}"
        )
    faces = [p.face_3dmm for p in parts]
    face = np.stack(faces) if all(f is not None for f in faces) else None
    return Predictions(
        emotion=np.stack([p.emotion for p in parts]), face_3dmm=face, speaker_ids=list(speaker_ids)
    )


# ----------------------------------------------------------------------------- validation
def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def range_problems(emotion: np.ndarray, where: str = "") -> list[str]:
    """Values outside the valid range of each column group (AU, FE in [0, 1]; VA in [-1, 1])."""
    problems = []
    for name, cols, lo, hi in RANGES:
        part = emotion[..., cols]
        bad = (part < lo - RANGE_TOL) | (part > hi + RANGE_TOL)
        if bad.any():
            idx = _first_bad(bad)
            problems.append(
                f"{where}{name} columns must lie in [{lo:g}, {hi:g}]: {int(bad.sum())} values "
                f"outside (min {part.min():.4g}, max {part.max():.4g}; first at index {idx} of "
                f"the {name} columns)"
            )
    return problems


def dtype_problem(arr: np.ndarray, what: str) -> str | None:
    """A message when ``arr`` is not real-valued (integer or floating point; not bool, complex,
    object or text), else None."""
    kind = arr.dtype.kind
    if kind in "iuf":
        return None
    names = {"b": "bool", "c": "complex", "O": "object", "U": "text", "S": "bytes",
             "M": "datetime", "m": "timedelta", "V": "structured"}
    return (f"{what} must be real numbers (float32 preferred); got dtype {arr.dtype} "
            f"({names.get(kind, kind)})")


def finite_problems(arr: np.ndarray, what: str) -> list[str]:
    bad = ~np.isfinite(arr)
    if not bad.any():
        return []
    return [f"{what} holds {int(bad.sum())} NaN/inf values (first at index {_first_bad(bad)})"]


def validate_predictions(
    preds: Predictions,
    *,
    n: int,
    frames: int,
    speaker_ids: list[str] | None = None,
    check_range: bool = True,
) -> list[str]:
    """Every problem of ``preds`` against a split of N rows and T frames (empty list = fine).

    Checks, in order: rank and shape (N rows in mirrored order, T frames, 25 columns),
    row order (when the file carries speaker_ids), NaN/inf, value ranges, and the optional
    3DMM array's shape.
    """
    return [render_params(p) for p in _problems(preds, n=n, frames=frames,
                                                speaker_ids=speaker_ids, check_range=check_range)]


def _problems(preds: Predictions, *, n: int, frames: int, speaker_ids: list[str] | None,
              check_range: bool) -> list[str]:
    """``validate_predictions``, with parameters as :func:`reactbench.errors.param` marks."""
    emo = np.asarray(preds.emotion)
    problems: list[str] = []
    m = n // 2
    if emo.ndim != 4:
        return [
            f"predictions must have shape (N, alpha, T, 25) = ({n}, alpha, {frames}, 25); "
            f"got an array of rank {emo.ndim} with shape {emo.shape}"
        ]
    bad_dtype = dtype_problem(emo, "predictions")
    if bad_dtype:
        return [bad_dtype]
    rows, alpha, t, d = emo.shape
    if rows != n:
        hint = ""
        if rows == m:
            hint = (
                " (it looks like the CSV pairs only: the split is evaluated in mirrored order, "
                f"rows 0..{m - 1} = CSV speakers, rows {m}..{n - 1} = the same pairs with roles "
                "swapped)"
            )
        problems.append(f"predictions have {rows} rows; the split has N = {n} mirrored rows{hint}")
    if alpha < 1:
        problems.append("predictions have alpha = 0 generations per speaker")
    if t != frames:
        problems.append(
            f"predictions have {t} frames per clip; the split was loaded with T = {frames} "
            f"(pass {param('frames')} to load it with the same length)"
        )
    if d != EMOTION_DIM:
        problems.append(
            f"predictions have {d} columns; expected 25 (AU 0:15, VA 15:17, FE 17:25)"
        )
    if speaker_ids is not None and preds.speaker_ids is not None:
        problems += order_problems(list(preds.speaker_ids), speaker_ids)
    if problems:
        return problems
    problems += finite_problems(emo, "predictions")
    if check_range and not problems:
        problems += range_problems(emo, "predictions: ")
    if preds.face_3dmm is not None:
        face = np.asarray(preds.face_3dmm)
        want = (n, alpha, frames, FACE_3DMM_DIM)
        if face.shape != want:
            problems.append(f"3DMM predictions have shape {face.shape}; expected {want}")
        elif dtype_problem(face, "3DMM predictions"):
            problems.append(dtype_problem(face, "3DMM predictions"))
        else:
            problems += finite_problems(face, "3DMM predictions")
    return problems


def order_problems(given: list[str], expected: list[str]) -> list[str]:
    """Compare a file's speaker_ids with the split's mirrored order."""
    if given == expected:
        return []
    if len(given) != len(expected):
        return [f"speaker_ids has {len(given)} entries; the split has {len(expected)} rows"]
    if sorted(given) == sorted(expected):
        where = {s: i for i, s in enumerate(expected)}
        k = next(i for i, (a, b) in enumerate(zip(given, expected)) if a != b)
        return [
            f"rows are in a different order than the split: row {k} holds speaker {given[k]!r}, "
            f"which is row {where[given[k]]} of the split (mirrored order: CSV speaker column, "
            "then CSV listener column); reorder the rows by the split's speaker ids"
        ]
    unknown = [s for s in given if s not in set(expected)]
    missing = [s for s in expected if s not in set(given)]
    return [
        f"speaker_ids do not match the split: {len(unknown)} unknown (e.g. {unknown[:2]}), "
        f"{len(missing)} missing (e.g. {missing[:2]})"
    ]


def check_predictions(preds: Predictions, *, n: int, frames: int, speaker_ids=None,
                      check_range: bool = True, source: str = "predictions") -> None:
    """Raise PredictionsError listing every problem (see validate_predictions)."""
    problems = _problems(preds, n=n, frames=frames, speaker_ids=speaker_ids,
                         check_range=check_range)
    if problems:
        hint = ""
        if any("must lie in" in p for p in problems):
            hint = (f"\n(pass {param('check_range', False)} to score values outside the "
                    "attribute ranges)")
        raise PredictionsError(
            f"{source}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems) + hint
        )


def check_reactions(out, *, model: str, batch: int, alpha: int, frames: int, rows, clip_ids,
                    start: int = 0, check_range: bool = True):
    """Validate what a plug-in returned for one batch; returns (emotion, face_3dmm) float32.

    Raises ModelError naming the model, the expected shape and the first bad row/clip.
    """
    emo = getattr(out, "emotion", None)
    if emo is None:
        raise ModelError(
            f"model {model!r} returned {type(out).__name__}; expected "
            "reactbench.models.Reactions(emotion=(B, alpha, t, 25) array)"
        )
    emo = np.asarray(emo)
    if dtype_problem(emo, "reactions"):
        raise ModelError(f"model {model!r} returned {dtype_problem(emo, 'reactions')}")
    want = (batch, alpha, frames - start, EMOTION_DIM)
    span = f"frames [{start}, {frames})"
    if emo.shape != want:
        raise ModelError(
            f"model {model!r} returned reactions of shape {emo.shape} for a batch of {batch} "
            f"rows, {span}; expected (B, alpha, t, 25) = {want}"
        )
    face = getattr(out, "face_3dmm", None)
    if face is not None:
        face = np.asarray(face)
        if dtype_problem(face, "3DMM"):
            raise ModelError(f"model {model!r} returned {dtype_problem(face, '3DMM')}")
        fwant = want[:3] + (FACE_3DMM_DIM,)
        if face.shape != fwant:
            raise ModelError(
                f"model {model!r} returned 3DMM of shape {face.shape}; expected {fwant}"
            )
    for arr, what in ((emo, "reactions"), (face, "3DMM")):
        if arr is None:
            continue
        bad = ~np.isfinite(arr)
        if bad.any():
            b, i, t, c = _first_bad(bad)
            raise ModelError(
                f"model {model!r} returned NaN/inf {what} ({int(bad.sum())} values), first at "
                f"row {int(rows[b])} (speaker {clip_ids[b]!r}), generation {i}, frame "
                f"{start + t}, column {c}"
            )
    if check_range:
        problems = range_problems(emo)
        if problems:
            raise ModelError(
                f"model {model!r} returned reactions outside the attribute ranges for rows "
                f"{[int(r) for r in rows[:4]]}{'...' if batch > 4 else ''}: {problems[0]} "
                f"(pass {param('check_range', False)} to accept them)"
            )
    return emo.astype(np.float32, copy=False), (
        None if face is None else face.astype(np.float32, copy=False)
    )

