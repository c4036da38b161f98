"""Input checks done once at the public boundary of :mod:`reactbench.metrics`.

Every check raises :class:`ValueError` naming the argument, the offending index and what was
expected. Private kernels (``_name``) trust their inputs.
"""

from __future__ import annotations

import numpy as np

from reactbench.metrics.constants import EMOTION_DIM, FACE_3DMM_DIM


def as_float32(x, name: str) -> np.ndarray:
    """Convert an array-like (numpy, torch tensor, list) to a C-contiguous float32 array."""
    if hasattr(x, "detach"):  # torch tensor: no torch import needed here
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name}: cannot convert to an array ({exc})") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


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


def check_pred(pred, name: str = "pred", width: int = EMOTION_DIM) -> np.ndarray:
    """``pred``: (N, alpha, T, width) -> float32 array."""
    arr = as_float32(pred, name)
    check_shape(arr, name, 4, width, f"(N, alpha, T, {width})")
    check_finite(arr, name)
    return arr


def check_sequences(x, name: str, n: int | None = None, t: int | None = None,
                    width: int = EMOTION_DIM) -> np.ndarray:
    """``x``: (N, T, width) -> float32 array; N and T must match when given."""
    arr = as_float32(x, name)
    check_shape(arr, name, 3, width, f"(N, T, {width})")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name}: expected N = {n} rows (as pred), got shape {tuple(arr.shape)}"
        )
    if t is not None and arr.shape[1] != t:
        raise ValueError(
            f"{name}: expected T = {t} frames (as pred), got shape {tuple(arr.shape)}"
        )
    check_finite(arr, name)
    return arr


def check_neighbours(nb, n: int, name: str = "neighbours", need_rows: bool = True) -> np.ndarray:
    """``neighbours``: (N, N) 0/1 matrix -> bool array. Rows must be non-empty when required."""
    if hasattr(nb, "detach"):
        nb = nb.detach().cpu().numpy()
    arr = np.asarray(nb)
    if arr.ndim != 2 or arr.shape != (n, n):
        raise ValueError(
            f"{name}: expected an (N, N) = ({n}, {n}) 0/1 matrix, got shape {tuple(arr.shape)}"
        )
    if arr.dtype == np.bool_:
        out = arr.copy()
    else:
        try:
            num = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected a numeric 0/1 matrix ({exc})") from exc
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


def check_alpha_pairs(pred: np.ndarray, metric: str) -> None:
    if pred.shape[1] < 2:
        raise ValueError(
            f"pred: {metric} needs alpha >= 2 generated reactions per speaker to form pairs, "
            f"got shape {tuple(pred.shape)}"
        )


def check_n_pairs(pred: np.ndarray, metric: str) -> None:
    if pred.shape[0] < 2:
        raise ValueError(
            f"pred: {metric} needs N >= 2 speaker rows to form pairs, got shape {tuple(pred.shape)}"
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


def check_protocol(protocol: str) -> str:
    from reactbench.metrics.api import PROTOCOLS

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {list(PROTOCOLS)}, got {protocol!r}")
    return protocol
