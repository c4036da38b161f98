"""Saved predictions of variable-length clips (REACT2025/2026): one array per clip.

A ragged ``.npz`` holds one (alpha, T_k, 25) float32 array per clip keyed by its clip id
(``speaker/<session>/<stem>``), optional 3DMM arrays under ``face_3dmm/<clip id>``, the clip
order as ``sample_ids`` and a JSON ``meta`` (with ``format``); or, as :func:`save_ragged`
writes it, the clips' rows packed into one exact compact array (:mod:`reactbench.packed`). A
folder of ``<clip id>.npy`` files is read too. :func:`ragged_problems` checks them against a
split's clips: nothing is cropped or padded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactbench.atomic import atomic_savez
from reactbench.constants import EMOTION_DIM, FACE_3DMM_DIM
from reactbench.errors import param
from reactbench.packed import pack, read_layout, unpack_array
from reactbench.predictions import (
    PredictionsError,
    dtype_problem,
    finite_problems,
    range_problems,
)

RAGGED_FORMAT = "reactbench.ragged/1"
FACE_PREFIX = "face_3dmm/"  # key prefix of the per-clip 3DMM arrays in a ragged .npz
_RAGGED_SPECIAL = ("sample_ids", "meta")


@dataclass
class RaggedPredictions:
    """Predictions of variable-length clips: emotion, N arrays (alpha, T_k, 25) float32;
    face_3dmm, N arrays (alpha, T_k, 58) or None; sample_ids (N,) clip ids in sample order."""

    emotion: list[np.ndarray]
    face_3dmm: list[np.ndarray] | None = None
    sample_ids: list[str] | None = None

    @property
    def alpha(self) -> int:
        return int(self.emotion[0].shape[0])

    @property
    def lengths(self) -> list[int]:
        return [int(x.shape[1]) for x in self.emotion]


def save_ragged(path: str | Path, preds: RaggedPredictions, meta: dict | None = None, *,
                packed: bool = True) -> Path:
    """Write ragged predictions as one ``.npz`` atomically; returns the path. ``packed``
    (default): every clip's (alpha, T_k, D) array as alpha * T_k rows of one (rows, D) array,
    stored exactly and compactly (:mod:`reactbench.packed`), with each clip's (alpha, T_k) in
    the layout's ``clips``; else (or when the clips differ in rank or width) one float32 array
    per clip keyed by its clip id (``speaker/<session>/<stem>``) and the 3DMM under
    ``face_3dmm/<clip id>``. Both hold the clip order as ``sample_ids`` and ``meta`` (JSON,
    with ``format``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = list(preds.sample_ids or [])
    if len(ids) != len(preds.emotion):
        raise PredictionsError(f"{path}: ragged predictions need one sample id per array "
                               f"({len(preds.emotion)} arrays, {len(ids)} ids)")
    arrays: dict[str, np.ndarray] = {"sample_ids": np.asarray(ids, dtype=str)}
    groups = {"emotion": [np.asarray(x, dtype=np.float32) for x in preds.emotion]}
    if preds.face_3dmm is not None:
        groups["face_3dmm"] = [np.asarray(x, dtype=np.float32) for x in preds.face_3dmm]
    if packed and ids and all(_stackable(g) for g in groups.values()):
        clips = {k: [list(x.shape[:2]) for x in g] for k, g in groups.items()}
        rows = {k: np.concatenate([x.reshape(-1, x.shape[2]) for x in g])
                for k, g in groups.items()}
        arrays.update(pack(rows, {"clips": clips}))
    else:
        for cid, x in zip(ids, groups["emotion"]):
            arrays[cid] = x
        for cid, x in zip(ids, groups.get("face_3dmm", [])):
            arrays[FACE_PREFIX + cid] = x
    arrays["meta"] = np.asarray(json.dumps({"format": RAGGED_FORMAT, **(meta or {})},
                                           sort_keys=True, default=str))
    return atomic_savez(path, arrays)


def _stackable(group: list[np.ndarray]) -> bool:
    """Whether arrays (alpha, T_k, D) can be stored as rows of one (rows, D) array."""
    return all(x.ndim == 3 for x in group) and len({x.shape[2] for x in group}) <= 1


def _unpack_clips(npz, layout: dict, path: Path) -> tuple[dict, dict]:
    """(clip id -> emotion, clip id -> 3DMM) of a packed ragged ``.npz``."""
    ids = npz["sample_ids"].tolist() if "sample_ids" in npz.files else None
    clips = layout.get("clips")
    out: dict[str, dict[str, np.ndarray]] = {"emotion": {}, "face_3dmm": {}}
    for name in layout["arrays"]:
        shapes = clips.get(name) if isinstance(clips, dict) else None
        rows = unpack_array(layout, name, npz.__getitem__)
        ok = (ids is not None and isinstance(shapes, list) and len(shapes) == len(ids)
              and rows.ndim == 2 and all(isinstance(s, list) and len(s) == 2 and all(
                  isinstance(d, int) and d >= 0 for d in s) for s in shapes)
              and sum(a * t for a, t in shapes) == rows.shape[0] and name in out)
        if not ok:
            raise PredictionsError(f"{path}: the packed {name!r} rows do not match the clips "
                                   f"listed in 'sample_ids' and the layout's 'clips'")
        start = 0
        for cid, (a, t) in zip(ids, shapes):
            out[name][cid] = rows[start:start + a * t].reshape(a, t, rows.shape[1])
            start += a * t
    return out["emotion"], out["face_3dmm"]


def load_ragged(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """(clip id -> emotion array, clip id -> 3DMM array, meta) of a ragged ``.npz`` (packed or
    one array per clip), or of a folder of per-clip files ``<clip id>.npy`` (arrays as stored;
    checked by :func:`ragged_problems`)."""
    path = Path(path)
    if not path.exists():
        raise PredictionsError(f"predictions {path} do not exist")
    try:
        if path.is_dir():
            files = {str(p.relative_to(path).with_suffix("")).replace(os.sep, "/"): p
                     for p in sorted(path.rglob("*.npy")) if p.is_file()}
            if not files:
                raise PredictionsError(f"{path}: the folder holds no per-clip .npy predictions "
                                       "(<clip id>.npy, e.g. speaker/<session>/<stem>.npy)")
            return {c: np.load(p, allow_pickle=False) for c, p in files.items()}, {}, {}
        if path.suffix != ".npz":
            raise PredictionsError(f"{path}: variable-length predictions are an .npz with one "
                                   "array per clip (keys: clip ids) or a folder of "
                                   "<clip id>.npy files")
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"])) if "meta" in npz.files else {}
            layout = read_layout(npz.files, npz.__getitem__)
            if layout is not None:
                emo, face = _unpack_clips(npz, layout, path)
                return emo, face, meta
            emo = {k: npz[k] for k in npz.files
                   if k not in _RAGGED_SPECIAL and not k.startswith(FACE_PREFIX)}
            face = {k[len(FACE_PREFIX):]: npz[k] for k in npz.files if k.startswith(FACE_PREFIX)}
    except PredictionsError:
        raise
    except Exception as exc:
        raise PredictionsError(f"{path}: cannot read predictions ({type(exc).__name__}: "
                               f"{exc})") from exc
    return emo, face, meta


def ragged_problems(emotion: dict[str, np.ndarray], sample_ids: list[str], lengths,
                    *, check_range: bool = True, face: dict[str, np.ndarray] | None = None
                    ) -> list[str]:
    """Every problem of per-clip predictions against a split's samples (empty: fine): missing
    or extra clips, rank, width and dtype, a frame count other than the clip's (nothing is
    cropped or padded), an alpha that differs between clips, NaN/inf, value ranges, 3DMM."""
    problems: list[str] = []
    missing = [c for c in sample_ids if c not in emotion]
    extra = sorted(set(emotion) - set(sample_ids))
    if missing:
        problems.append(f"{len(missing)} of {len(sample_ids)} clips have no predictions, e.g. "
                        f"{missing[:3]} (expected one (alpha, T_k, 25) array per sample)")
    if extra:
        problems.append(f"{len(extra)} arrays name no sample of the split, e.g. {extra[:3]}")
    alpha_of: dict[int, str] = {}
    for cid, n in zip(sample_ids, lengths):
        if cid not in emotion:
            continue
        x = np.asarray(emotion[cid])
        want = f"(alpha, {int(n)}, {EMOTION_DIM})"
        bad = dtype_problem(x, f"clip {cid}: predictions")
        if bad:
            problems.append(bad)
        elif x.ndim != 3 or x.shape[2] != EMOTION_DIM:
            problems.append(f"clip {cid}: predictions have shape {x.shape}; expected {want}")
        elif x.shape[1] != int(n):
            problems.append(f"clip {cid}: predictions have {x.shape[1]} frames; the clip has "
                            f"{int(n)} (nothing is cropped or padded)")
        else:
            alpha_of.setdefault(int(x.shape[0]), cid)
            problems += finite_problems(x, f"clip {cid}: predictions")
            if check_range and not problems:
                problems += range_problems(x, f"clip {cid}: predictions: ")
            if face and cid in face and np.shape(face[cid]) != (x.shape[0], int(n),
                                                                FACE_3DMM_DIM):
                problems.append(f"clip {cid}: 3DMM predictions have shape "
                                f"{np.shape(face[cid])}; expected ({x.shape[0]}, {int(n)}, "
                                f"{FACE_3DMM_DIM})")
    if len(alpha_of) > 1:
        (a1, c1), (a2, c2) = sorted(alpha_of.items())[:2]
        problems.append(f"alpha differs between clips: clip {c1} has {a1} generations, clip "
                        f"{c2} has {a2} (expected the same alpha for every clip)")
    if 0 in alpha_of:
        problems.append(f"clip {alpha_of[0]}: predictions have alpha = 0 generations")
    return problems


def check_ragged_predictions(emotion: dict[str, np.ndarray], sample_ids: list[str], lengths,
                             *, check_range: bool = True, source: str = "predictions",
                             face: dict[str, np.ndarray] | None = None
                             ) -> RaggedPredictions:
    """The predictions in sample order (float32), or PredictionsError listing every problem
    (:func:`ragged_problems`)."""
    problems = ragged_problems(emotion, sample_ids, lengths, check_range=check_range, face=face)
    if problems:
        hint = ""
        if any("must lie in" in p for p in problems):
            hint = (f"\n(pass {param('check_range', False)} to score values outside the "
                    "attribute ranges)")
        raise PredictionsError(f"{source}: {len(problems)} problem(s):\n  - "
                               + "\n  - ".join(problems) + hint)
    faces = None
    if face and all(c in face for c in sample_ids):
        faces = [np.asarray(face[c], dtype=np.float32) for c in sample_ids]
    return RaggedPredictions(emotion=[np.asarray(emotion[c], dtype=np.float32)
                                      for c in sample_ids],
                             face_3dmm=faces, sample_ids=list(sample_ids))
