"""Exact, compact storage of float32 prediction arrays inside an ``.npz``.

An array ``x`` (..., C) float32 named ``name`` becomes these ``.npz`` members:

- ``<name>.bits`` (uint8): its binary columns -- those whose every value is exactly 0.0 or 1.0,
  bit for bit (-0.0 and NaN are not binary) -- as ``np.packbits(x[..., binary] == 1)`` in C
  order;
- ``<name>.b0`` ... ``<name>.b3`` (uint8): its other columns in column-major order
  ``(C_float, ...)``, as the four byte planes of their little-endian float32 bit patterns (b0:
  lowest mantissa byte, b3: sign and high exponent bits), each stored raw or zlib-compressed.

A JSON member ``layout`` records the format (:data:`PACKED_FORMAT`), each array's shape, its
binary columns and each plane's codec. Every bit pattern comes back unchanged: NaN payloads,
infinities and -0.0 included. Zero-order bytes of smooth or repeated values compress well; the
low mantissa bytes of noise-like values are stored raw, which keeps writing and reading fast.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

PACKED_FORMAT = "reactbench.packed/1"
LAYOUT_KEY = "layout"
ONE_BITS = 0x3F800000  # the bit pattern of float32 1.0
ZLIB_LEVEL = 1
RAW_ABOVE = 0.95  # a plane whose sample compresses to more than this fraction is stored raw
_SAMPLES, _SAMPLE_BYTES = 4, 1 << 14
_FIRST_ROWS, _CHUNK_ROWS = 1 << 12, 1 << 18  # rows of (rows, C) checked at once for binary columns
_PLANES = 4
_THREADS = 2


class PackedFormatError(ValueError):
    """A packed member or layout does not match what the layout declares."""


# ----------------------------------------------------------------------------- writing
def binary_columns(x: np.ndarray) -> list[int]:
    """Columns of ``x`` (..., C) float32 whose every value is exactly +0.0 or 1.0 (bit
    patterns; an empty array has none)."""
    width = x.shape[-1] if x.ndim else 0
    if x.size == 0 or width == 0:
        return []
    rows = np.ascontiguousarray(x).view(np.uint32).reshape(-1, width)
    keep = np.ones(width, dtype=bool)
    start, step = 0, _FIRST_ROWS  # a small first block rules out most float columns cheaply
    while start < rows.shape[0] and keep.any():
        part = rows[start:start + step][:, keep]
        keep[np.flatnonzero(keep)] = ((part == 0) | (part == ONE_BITS)).all(axis=0)
        start, step = start + step, _CHUNK_ROWS
    return [int(c) for c in np.flatnonzero(keep)]


def _sample_ratio(plane: np.ndarray) -> float:
    """Compressed / raw size of a few slices spread over ``plane`` (uint8, 1-d)."""
    if plane.size <= _SAMPLES * _SAMPLE_BYTES:
        parts = [plane]
    else:
        starts = np.linspace(0, plane.size - _SAMPLE_BYTES, _SAMPLES).astype(np.int64)
        parts = [plane[s:s + _SAMPLE_BYTES] for s in starts]
    raw = sum(p.size for p in parts)
    return sum(len(zlib.compress(p.tobytes(), ZLIB_LEVEL)) for p in parts) / max(raw, 1)


def _encode_plane(plane: np.ndarray) -> tuple[str, np.ndarray]:
    """(codec, stored bytes) of one byte plane: "zlib" when that is clearly smaller, else
    "raw"."""
    if plane.size and _sample_ratio(plane) <= RAW_ABOVE:
        packed = zlib.compress(plane, ZLIB_LEVEL)
        if len(packed) < plane.size:
            return "zlib", np.frombuffer(packed, dtype=np.uint8)
    return "raw", plane


def _workers() -> int:
    """Threads that (de)compress byte planes at once (zlib and numpy copies release the GIL;
    each thread holds one plane, a quarter of the float columns' bytes)."""
    from os import cpu_count  # only here: the pool size

    return max(1, min(_THREADS, cpu_count() or 1))


def _byte(k: int) -> int:
    """Index of little-endian byte ``k`` within a native float32."""
    return k if sys.byteorder == "little" else _PLANES - 1 - k


def _columns(cols: list[int]) -> slice | list[int]:
    """``cols`` as a slice when they are a contiguous run (faster indexing), else the list."""
    if cols and cols == list(range(cols[0], cols[-1] + 1)):
        return slice(cols[0], cols[-1] + 1)
    return cols


def pack_array(name: str, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """(members, layout entry) storing ``x`` (..., C) exactly (cast to float32 first)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim < 1:
        raise PackedFormatError(f"{name}: expected an array (..., C); got a scalar")
    width = x.shape[-1]
    binary = binary_columns(x)
    floats = [c for c in range(width) if c not in set(binary)]
    rows = math.prod(x.shape[:-1])
    members: dict[str, np.ndarray] = {}
    if binary:
        bits = x[..., _columns(binary)].view(np.uint32) == ONE_BITS
        members[f"{name}.bits"] = np.packbits(bits)
    # column-major bit patterns (C_float, rows), little-endian: byte k of each is plane k
    values = np.ascontiguousarray(x.view(np.uint32).reshape(rows, width)[:, _columns(floats)].T,
                                  dtype="<u4").view(np.uint8).reshape(-1, _PLANES)

    def plane(k: int) -> tuple[str, np.ndarray]:
        return _encode_plane(np.ascontiguousarray(values[:, k]))

    with ThreadPoolExecutor(_workers()) as pool:
        coded = list(pool.map(plane, range(_PLANES)))
    for k, (_, stored) in enumerate(coded):
        members[f"{name}.b{k}"] = stored
    entry = {"shape": list(x.shape), "binary": binary, "planes": [c for c, _ in coded]}
    return members, entry


def pack(arrays: dict[str, np.ndarray], extra: dict | None = None) -> dict[str, np.ndarray]:
    """``.npz`` members storing every array of ``arrays`` packed, plus the ``layout`` member
    (JSON: format, arrays, and ``extra`` fields)."""
    members: dict[str, np.ndarray] = {}
    layout: dict = {"format": PACKED_FORMAT, "arrays": {}, **(extra or {})}
    for name, x in arrays.items():
        part, entry = pack_array(name, x)
        members.update(part)
        layout["arrays"][name] = entry
    members[LAYOUT_KEY] = np.asarray(json.dumps(layout, sort_keys=True))
    return members


# ----------------------------------------------------------------------------- reading
def read_layout(files: list[str], read: Callable[[str], np.ndarray]) -> dict | None:
    """The layout of a packed ``.npz`` (members ``files``, read by ``read(key)``), or None
    when it is not packed. Raises PackedFormatError for a layout of another format version."""
    if LAYOUT_KEY not in files:
        return None
    try:
        layout = json.loads(str(read(LAYOUT_KEY)))
    except (ValueError, TypeError) as exc:
        raise PackedFormatError(f"member {LAYOUT_KEY!r} is not JSON ({exc})") from exc
    fmt = layout.get("format") if isinstance(layout, dict) else None
    if not isinstance(fmt, str) or not fmt.startswith("reactbench.packed/"):
        return None  # a user's array named "layout": not this format
    if fmt != PACKED_FORMAT:
        raise PackedFormatError(f"packed format {fmt!r} is not readable here (this reactbench "
                                f"reads {PACKED_FORMAT!r}; a newer version wrote it)")
    if not isinstance(layout.get("arrays"), dict):
        raise PackedFormatError(f"member {LAYOUT_KEY!r} has no 'arrays' table")
    return layout


def packed_shape(layout: dict, name: str) -> tuple[int, ...] | None:
    """The declared shape of array ``name`` in ``layout`` (None: not stored)."""
    entry = layout["arrays"].get(name)
    if entry is None:
        return None
    shape = entry.get("shape") if isinstance(entry, dict) else None
    if (not isinstance(shape, list) or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                       for d in shape)):
        raise PackedFormatError(f"array {name!r}: shape {shape!r} is not a list of sizes")
    return tuple(shape)


def _decode_plane(codec: str, stored: np.ndarray, size: int, key: str) -> np.ndarray:
    stored = np.asarray(stored)
    if stored.dtype != np.uint8 or stored.ndim != 1:
        raise PackedFormatError(f"member {key!r}: expected uint8 bytes; got {stored.dtype} "
                                f"{stored.shape}")
    if codec == "raw":
        plane = stored
    elif codec == "zlib":
        inflate = zlib.decompressobj()
        try:
            data = inflate.decompress(memoryview(stored), size)
        except zlib.error as exc:
            raise PackedFormatError(f"member {key!r}: corrupt zlib data ({exc})") from exc
        if not inflate.eof or inflate.unconsumed_tail or len(data) != size:
            raise PackedFormatError(f"member {key!r}: does not inflate to the {size} bytes "
                                    "the layout declares")
        plane = np.frombuffer(data, dtype=np.uint8)
    else:
        raise PackedFormatError(f"member {key!r}: unknown codec {codec!r} (expected raw or "
                                "zlib)")
    if plane.size != size:
        raise PackedFormatError(f"member {key!r}: holds {plane.size} bytes; the layout "
                                f"declares {size}")
    return plane


def unpack_array(layout: dict, name: str, read: Callable[[str], np.ndarray]) -> np.ndarray:
    """Array ``name`` (float32, its declared shape) of a packed ``.npz`` whose members are
    read by ``read(key)``; PackedFormatError when a member does not match the layout. Each
    byte plane is written straight into the result: besides it, one inflated plane per
    thread is held at a time."""
    shape = packed_shape(layout, name)
    if shape is None:
        raise PackedFormatError(f"array {name!r} is not in the layout")
    entry = layout["arrays"][name]
    width = shape[-1]
    binary, codecs = entry.get("binary"), entry.get("planes")
    if (not isinstance(binary, list) or len(set(binary)) != len(binary)
            or not all(isinstance(c, int) and 0 <= c < width for c in binary)
            or binary != sorted(binary)):
        raise PackedFormatError(f"array {name!r}: binary columns {binary!r} are not sorted "
                                f"distinct columns of width {width}")
    if not isinstance(codecs, list) or len(codecs) != _PLANES:
        raise PackedFormatError(f"array {name!r}: expected {_PLANES} plane codecs; got "
                                f"{codecs!r}")
    floats = [c for c in range(width) if c not in set(binary)]
    rows = math.prod(shape[:-1])
    out = np.empty(shape, dtype=np.float32)
    if binary:
        key = f"{name}.bits"
        bits = np.asarray(read(key))
        count = rows * len(binary)
        if bits.dtype != np.uint8 or bits.ndim != 1 or bits.size != (count + 7) // 8:
            raise PackedFormatError(f"member {key!r}: expected {(count + 7) // 8} uint8 "
                                    f"bytes; got {bits.dtype} {bits.shape}")
        out[..., _columns(binary)] = np.unpackbits(bits, count=count).reshape(
            *shape[:-1], len(binary))
    dst = out.view(np.uint8).reshape(rows, width, _PLANES)
    cols = _columns(floats)

    lock = threading.Lock()  # one member read at a time (a shared zip file handle)

    def plane(k: int) -> None:
        key = f"{name}.b{k}"
        with lock:
            stored = read(key)
        values = _decode_plane(codecs[k], stored, rows * len(floats), key)
        dst[:, cols, _byte(k)] = values.reshape(len(floats), rows).T

    with ThreadPoolExecutor(_workers()) as pool:
        list(pool.map(plane, range(_PLANES)))
    return out


def unpack_npz(npz) -> dict[str, np.ndarray] | None:
    """Every array of a packed ``.npz`` (an open ``np.load`` result), or None when it is not
    packed (PackedFormatError when it is packed but damaged)."""
    layout = read_layout(npz.files, npz.__getitem__)
    if layout is None:
        return None
    return {name: unpack_array(layout, name, npz.__getitem__) for name in layout["arrays"]}


def layout_of_zip(zf) -> dict | None:
    """The layout of a packed ``.npz`` opened as a ``zipfile.ZipFile`` (None: not packed),
    read without reading any array."""
    names = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}

    def read(key: str) -> np.ndarray:
        with zf.open(f"{key}.npy") as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)

    return read_layout(sorted(names), read)


__all__ = ["LAYOUT_KEY", "PACKED_FORMAT", "PackedFormatError", "binary_columns", "pack",
           "pack_array", "packed_shape", "read_layout", "unpack_array", "unpack_npz",
           "layout_of_zip"]
