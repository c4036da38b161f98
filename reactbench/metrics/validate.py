"""Input checks done once at the public boundary of :mod:`reactbench.metrics`.

Every check raises :class:`ValueError` naming the argument, the offending index and what was
expected. Private kernels (``_name``) trust their inputs.
"""

from __future__ import annotations

import re

import numpy as np

from reactbench.metrics.constants import (
    EMOTION_DIM,
    FACE_3DMM_DIM,
    MAX_BOOTSTRAP,
    TLCC_MAX_LAG,
)
from reactbench.protocols import Protocol, get_protocol

_F32_MAX = float(np.finfo(np.float32).max)
_CUDA = re.compile(r"cuda(:\d+)?")


def as_real_array(x, name: str) -> np.ndarray:
    """Convert an array-like (numpy, torch tensor of any dtype or layout, scipy.sparse matrix, list)
    to a numpy array of real numbers or bools (bfloat16 and other dtypes numpy lacks -> float32).

    Complex, string, object and other non-numeric dtypes raise, naming ``name``.
    """
    if x is None:
        raise ValueError(f"{name}: got None; expected an array")
    if hasattr(x, "detach"):  # torch tensor: no torch import needed here
        x = x.detach().cpu()
        if "strided" not in str(getattr(x, "layout", "strided")):  # torch sparse layouts
            x = x.to_dense()
        try:
            x = x.numpy()
        except TypeError:  # dtypes numpy lacks (bfloat16, float8): float32 holds them exactly
            x = x.float().numpy()
    elif _is_scipy_sparse(x):
        x = x.toarray()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and other exotic inputs
        hint = ""
        if "inhomogeneous" in str(exc):
            hint = ("; rows of unequal length: every sequence needs the same number of frames T "
                    "(crop or pad them to one length first)")
        raise ValueError(f"{name}: cannot convert to an array ({exc}){hint}") from exc
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: expected a numeric array (numpy, torch tensor, nested lists of numbers), "
            f"got dtype {arr.dtype} from {type(x).__name__}; convert it with np.asarray(x, "
            f"dtype=np.float32) first"
        )
    return arr


def _is_scipy_sparse(x) -> bool:
    """A scipy.sparse matrix or array (duck-typed: no scipy import needed here)."""
    return hasattr(x, "toarray") and hasattr(x, "nnz") and hasattr(x, "tocsr")


def as_float32(x, name: str) -> np.ndarray:
    """Convert an array-like to a C-contiguous float32 array (see :func:`as_real_array`).

    A finite value beyond the float32 range raises (it would silently become inf).
    """
    arr = as_real_array(x, name)
    if arr.dtype.kind != "f" or arr.dtype.itemsize <= 4:
        return _writeable(np.ascontiguousarray(arr, dtype=np.float32))
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    _check_float32_range(arr, out, name)
    return _writeable(out)


def as_float64(x, name: str) -> np.ndarray:
    """Convert an array-like to a C-contiguous float64 array (see :func:`as_real_array`)."""
    return _writeable(np.ascontiguousarray(as_real_array(x, name), dtype=np.float64))


def _writeable(arr: np.ndarray) -> np.ndarray:
    """``arr``, copied when read-only (e.g. memory-mapped): numba types read-only arrays apart
    and would compile every kernel a second time for them."""
    return arr if arr.flags.writeable else arr.copy()


def _check_float32_range(src: np.ndarray, out: np.ndarray, name: str) -> None:
    """Raise if a finite value of ``src`` overflowed to inf in its float32 copy ``out``."""
    over = np.isinf(out)
    if not over.any():
        return
    over &= np.isfinite(src)
    if over.any():
        idx = tuple(int(i) for i in np.argwhere(over)[0])
        raise ValueError(
            f"{name}: value {src[idx].item()!r} at index {idx} is outside the float32 range "
            f"(|x| <= {_F32_MAX:.7g}); the metrics compute on float32 inputs "
            f"({int(over.sum())} values out of range)"
        )


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or inf, naming the first bad index."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: non-finite value {arr[idx].item()!r} at index {idx}; "
            f"expected finite numbers everywhere ({int(bad.sum())} bad values)"
        )


def check_shape(arr: np.ndarray, name: str, ndim: int, width: int, layout: str) -> None:
    """Raise unless ``arr`` has ``ndim`` dimensions, last dimension ``width`` and no empty axis."""
    if arr.ndim != ndim:
        raise ValueError(
            f"{name}: expected a {ndim}-d array {layout}, got shape {tuple(arr.shape)}"
        )
    if arr.shape[-1] != width:
        raise ValueError(
            f"{name}: expected last dimension {width} {layout}, got shape {tuple(arr.shape)}"
        )
    if min(arr.shape) == 0:
        raise ValueError(f"{name}: empty array of shape {tuple(arr.shape)}; expected {layout}")


def _axis_hint(name: str, shape: tuple, ndim: int, width: int) -> str:
    """What to do when an array of ``shape`` is not (..., width) with ``ndim`` axes."""
    if len(shape) == ndim - 1 and ndim == 4 and shape[-1] == width:
        return (f"; one generated reaction per speaker? pass {name}[:, None] for shape "
                f"(N, 1, T, {width})")
    if len(shape) != ndim or shape[-1] == width or width not in shape:
        return ""
    axis = shape.index(width)
    if ndim == 3 and axis == 1:
        return f"; for (N, {width}, T) pass {name}.swapaxes(1, 2) (the features are the last axis)"
    if ndim == 4 and axis == 2:
        return (f"; the features are the last axis: for (N, alpha, {width}, T) pass "
                f"{name}.swapaxes(2, 3); for alpha last, (N, T, {width}, alpha), pass "
                f"np.moveaxis({name}, -1, 1) (torch: {name}.movedim(-1, 1))")
    return f"; the {width} features must be the last axis (found at axis {axis})"


def check_pred(pred, name: str = "pred", width: int = EMOTION_DIM) -> np.ndarray:
    """``pred``: (N, alpha, T, width) -> float32 array."""
    arr = as_float32(pred, name)
    try:
        check_shape(arr, name, 4, width, f"(N, alpha, T, {width})")
    except ValueError as exc:
        raise ValueError(f"{exc}{_axis_hint(name, arr.shape, 4, width)}") from None
    check_finite(arr, name)
    return arr


def check_sequences(x, name: str, n: int | None = None, t: int | None = None,
                    width: int = EMOTION_DIM, alpha: int | None = None) -> np.ndarray:
    """``x``: (N, T, width) -> float32 array; N and T must match when given (``alpha``, pred's
    second axis, only sharpens the error when pred's first two axes look swapped)."""
    arr = as_float32(x, name)
    try:
        check_shape(arr, name, 3, width, f"(N, T, {width})")
    except ValueError as exc:
        raise ValueError(f"{exc}{_axis_hint(name, arr.shape, 3, width)}") from None
    if n is not None and arr.shape[0] != n:
        hint = ""
        if alpha is not None and arr.shape[0] == alpha:
            hint = (f"; pred's first two axes look swapped (alpha, N, T, {width}): pass "
                    f"pred.swapaxes(0, 1) (numpy) or pred.transpose(0, 1) (torch)")
        raise ValueError(
            f"{name}: expected N = {n} rows (as pred), got shape {tuple(arr.shape)}{hint}"
        )
    if t is not None and arr.shape[1] != t:
        raise ValueError(
            f"{name}: expected T = {t} frames (as pred), got shape {tuple(arr.shape)}"
        )
    check_finite(arr, name)
    return arr


def check_neighbours(nb, n: int, name: str = "neighbours", need_rows: bool = True) -> np.ndarray:
    """``neighbours``: (N, N) 0/1 matrix (bool, integer or float) -> bool array.

    Rows must be non-empty when required.
    """
    arr = as_real_array(nb, name)
    if arr.ndim != 2 or arr.shape != (n, n):
        raise ValueError(
            f"{name}: expected an (N, N) = ({n}, {n}) 0/1 matrix, got shape {tuple(arr.shape)} "
            f"(row k marks the rows j of listener_gt appropriate for speaker k; from index lists "
            f"build it as nb = np.zeros((N, N), bool); nb[k, idx_k] = True)"
        )
    if arr.dtype == np.bool_:
        out = arr.copy()
    else:
        num = arr.astype(np.float64)
        bad = ~((num == 0) | (num == 1))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name}: value {arr[idx].item()!r} at index {idx}; expected a binary matrix of 0 "
                f"and 1 ({int(bad.sum())} non-binary entries)"
            )
        out = num == 1
    if need_rows:
        empty = np.flatnonzero(~out.any(axis=1))
        if empty.size:
            raise ValueError(
                f"{name}: row {int(empty[0])} has no appropriate reaction (all zeros); expected at "
                f"least one 1 per row ({empty.size} empty rows: {empty[:10].tolist()})"
            )
    return out


def check_alpha_pairs(shape: tuple[int, ...], metric: str, note: str = "") -> None:
    """Raise unless the prediction shape (N, alpha, T, D) has alpha >= 2 generations (pairs of
    one speaker's reactions)."""
    if shape[1] < 2:
        raise ValueError(
            f"pred: {metric} needs alpha >= 2 generated reactions per speaker to form pairs, "
            f"got shape {tuple(shape)}{note}"
        )


def check_n_pairs(shape: tuple[int, ...], metric: str) -> None:
    """Raise unless the prediction shape (N, alpha, T, D) has N >= 2 speaker rows."""
    if shape[0] < 2:
        raise ValueError(
            f"pred: {metric} needs N >= 2 speaker rows to form pairs, got shape {tuple(shape)}"
        )


def check_tlcc_frames(t: int, corrected: bool, max_lag: int = TLCC_MAX_LAG) -> None:
    """Corrected FRSyn needs every lag -max_lag..max_lag to pair frames: T >= max_lag + 1
    (official: any T >= 1). The windows of the extreme lags still hold 1 or 2 frames at
    T = 50, 51 (max_lag 49); the golden T = 50 case pins the corrected value there."""
    if corrected and t < max_lag + 1:
        raise ValueError(
            f"pred: corrected FRSyn needs T >= {max_lag + 1} frames so that every "
            f"lag in -{max_lag}..{max_lag} pairs at least one frame, got T = {t} (the "
            f"official protocol reports |offset| = {max_lag} for such short sequences)"
        )


def check_3dmm(pred_3dmm, listener_3dmm, pred_shape) -> tuple[np.ndarray, np.ndarray] | None:
    """Both or neither; (N, alpha, T, 58) and (N, T, 58) matching ``pred``."""
    if pred_3dmm is None and listener_3dmm is None:
        return None
    if pred_3dmm is None or listener_3dmm is None:
        missing = "pred_3dmm" if pred_3dmm is None else "listener_3dmm"
        raise ValueError(
            f"{missing}: expected both pred_3dmm and listener_3dmm, or neither; {missing} is None"
        )
    n, alpha, t = pred_shape[:3]
    p3 = check_pred(pred_3dmm, "pred_3dmm", FACE_3DMM_DIM)
    if p3.shape[:3] != (n, alpha, t):
        raise ValueError(
            f"pred_3dmm: expected shape ({n}, {alpha}, {t}, {FACE_3DMM_DIM}) matching pred, "
            f"got {tuple(p3.shape)}"
        )
    l3 = check_sequences(listener_3dmm, "listener_3dmm", n, t, FACE_3DMM_DIM)
    return p3, l3


def check_protocol(protocol: str | Protocol) -> Protocol:
    """``protocol``: a protocol name or alias (see :mod:`reactbench.protocols`) or a
    :class:`~reactbench.protocols.Protocol` -> the Protocol."""
    return get_protocol(protocol)


def _is_int(x) -> bool:
    """A Python or numpy integer that is not a bool."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_n_jobs(n_jobs) -> int:
    """``n_jobs``: -1 = all cores, -k = all but k - 1 (joblib), k >= 1 threads; 0 is refused."""
    if not _is_int(n_jobs) or n_jobs == 0:
        raise ValueError(
            f"n_jobs: expected a non-zero integer (-1 = all cores, k >= 1 threads), got {n_jobs!r}"
        )
    return int(n_jobs)


def is_cuda_device(device) -> bool:
    """Whether ``device`` names a CUDA device: "cuda" or "cuda:k"."""
    return _CUDA.fullmatch(str(device)) is not None


def check_device(device) -> str:
    """``device``: "cpu", "cuda" or "cuda:k" -> that string."""
    dev = str(device)
    if dev != "cpu" and not is_cuda_device(dev):
        raise ValueError(f"device: expected 'cpu' or 'cuda[:k]' (k a GPU index), got {device!r}")
    return dev


def check_bootstrap(bootstrap) -> int:
    """``bootstrap``: 0 (no interval) or B >= 2 resamples (bools refused)."""
    if not _is_int(bootstrap) or bootstrap < 0 or bootstrap == 1 or bootstrap > MAX_BOOTSTRAP:
        raise ValueError(
            f"bootstrap: expected a non-negative integer other than 1: 0 (no interval) or "
            f"B >= 2 resamples (at most {MAX_BOOTSTRAP}), got {bootstrap!r}"
        )
    return int(bootstrap)


def check_seed(seed) -> None:
    """``seed``: a non-negative integer, None (fresh entropy) or a ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, np.random.Generator) or (_is_int(seed) and seed >= 0):
        return
    raise ValueError(
        f"seed: expected a non-negative integer, None or a numpy.random.Generator, got {seed!r}"
    )
