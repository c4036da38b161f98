"""What the user cache (:func:`reactbench.paths.cache_dir`) holds, by kind, and removing its
entries.

An entry is one item inside a folder reactbench fills: a cached predictions file, a synthetic
dataset folder, a loaded-split cache file, a numba kernel folder. Its kind comes from that
folder's name (:data:`KINDS`); anything else in the cache root is of kind ``other`` and is never
removed. An entry's age is that of the newest file in it. Lock files, and hidden temporary files
younger than :data:`BUSY_SECONDS` (a write in progress), are never removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reactbench.errors import ReactbenchError, param
from reactbench.paths import cache_dir

PREDICTIONS = "predictions"
# cache folder -> kind
KINDS = {
    "predictions": PREDICTIONS,
    "synthetic": "datasets",
    "synthetic-mars": "datasets",
    "splits": "datasets",
    "audio": "datasets",
    "identity": "datasets",
    "features": "datasets",
    "numba": "numba kernels",
}
KIND_ORDER = ("datasets", PREDICTIONS, "numba kernels", "other")
BUSY_SECONDS = 3600.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", re.IGNORECASE)
_KEY_SUFFIX = re.compile(r"-[0-9a-f]{20}$")


@dataclass
class Entry:
    """One cache entry: ``path``, ``kind``, ``bytes`` (its files, links not followed),
    ``mtime`` (newest file, seconds since the epoch), ``model`` (predictions: the model name
    the file records, or its file name's stem)."""

    path: Path
    kind: str
    bytes: int
    mtime: float
    model: str | None = None

    def busy(self, now: float) -> bool:
        """A lock file, or a hidden temporary file still being written."""
        name = self.path.name
        return name.endswith(".lock") or (name.startswith(".") and now - self.mtime
                                          < BUSY_SECONDS)


@dataclass
class Inventory:
    """Every entry of the cache at ``root`` (empty when the folder does not exist)."""

    root: Path
    entries: list[Entry] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(e.bytes for e in self.entries)

    def by_kind(self) -> dict[str, list[Entry]]:
        """kind -> its entries, every kind of :data:`KIND_ORDER` present (maybe empty)."""
        out: dict[str, list[Entry]] = {k: [] for k in KIND_ORDER}
        for e in self.entries:
            out.setdefault(e.kind, []).append(e)
        return out

    def by_model(self) -> dict[str, list[Entry]]:
        """model name -> its cached prediction entries, names sorted."""
        out: dict[str, list[Entry]] = {}
        for e in self.entries:
            if e.kind == PREDICTIONS:
                out.setdefault(e.model or "?", []).append(e)
        return dict(sorted(out.items()))


def parse_age(text: str) -> float:
    """Seconds in an age such as ``7d``, ``12h``, ``30m``, ``90s`` or ``2w``; a
    ReactbenchError naming ``older_than`` otherwise."""
    match = _AGE.fullmatch(str(text))
    if not match:
        raise ReactbenchError(f"{param('older_than', text)}: expected a number and a unit, "
                              "e.g. 7d, 12h, 30m, 90s or 2w (s, m, h, d, w)")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _stat_tree(path: Path) -> tuple[int, float]:
    """(bytes, newest mtime) of ``path``: a file or link itself, or every file under a folder
    (links not followed)."""
    st = path.lstat()
    if not path.is_dir() or path.is_symlink():
        return st.st_size, st.st_mtime
    size, newest = 0, st.st_mtime
    for folder, dirs, files in os.walk(path, followlinks=False):
        for name in dirs + files:
            try:
                s = (Path(folder) / name).lstat()
            except OSError:
                continue  # removed meanwhile
            newest = max(newest, s.st_mtime)
            if name in files:
                size += s.st_size
    return size, newest


def prediction_model(path: Path) -> str:
    """The model a cached predictions file belongs to: the name in its ``meta`` member, else
    its file name less the ``-<key>`` suffix."""
    if path.suffix == ".npz" and not path.name.startswith("."):
        try:
            import numpy as np  # only here: reading a file's meta (listing stays light)

            with np.load(path, allow_pickle=False) as npz:
                if "meta" in npz.files:
                    name = json.loads(str(npz["meta"])).get("model")
                    if isinstance(name, str) and name:
                        return name
        except Exception:  # noqa: BLE001 - an unreadable entry is still listed, by its name
            pass
    return _KEY_SUFFIX.sub("", path.name.removesuffix(".npz"))


def _walk(root: Path) -> Iterator[Entry]:
    for child in sorted(root.iterdir()):
        kind = KINDS.get(child.name, "other")
        try:
            if kind == "other" or child.is_symlink() or not child.is_dir():
                yield Entry(child, "other", *_stat_tree(child))
                continue
            for item in sorted(child.iterdir()):
                model = prediction_model(item) if kind == PREDICTIONS else None
                yield Entry(item, kind, *_stat_tree(item), model=model)
        except OSError:
            continue  # removed while listing


def inventory(root: str | Path | None = None) -> Inventory:
    """Every entry of the cache at ``root`` (default: :func:`cache_dir`)."""
    root = Path(root) if root is not None else cache_dir()
    if not root.is_dir():
        return Inventory(root)
    return Inventory(root, list(_walk(root)))


@dataclass
class Cleared:
    """What :func:`clear` removed (or, dry run, would remove): ``removed`` entries,
    ``failed`` (entry, reason), ``busy`` entries left alone, ``other`` entries never
    removed, and the ``bytes`` freed."""

    removed: list[Entry]
    failed: list[tuple[Entry, str]]
    busy: list[Entry]
    other: int
    bytes: int


def select(inv: Inventory, *, older_than: float | None = None, model: str | None = None,
           everything: bool = False, now: float | None = None) -> list[Entry]:
    """The entries :func:`clear` would remove: prediction entries (every kind but ``other``
    with ``everything``), of ``model`` only when given, older than ``older_than`` seconds
    when given."""
    now = time.time() if now is None else now
    kinds = set(KINDS.values()) if everything else {PREDICTIONS}
    chosen = []
    for e in inv.entries:
        if e.kind not in kinds or (model is not None and e.model != model):
            continue
        if older_than is not None and now - e.mtime <= older_than:
            continue
        chosen.append(e)
    return chosen


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (not followed, if a link) lies strictly inside ``root``."""
    where = path.parent.resolve() / path.name
    return where != root and where.is_relative_to(root)


def clear(inv: Inventory, *, older_than: float | None = None, model: str | None = None,
          everything: bool = False, dry_run: bool = False, now: float | None = None) -> Cleared:
    """Remove the entries :func:`select` chooses (nothing when ``dry_run``); a link is removed,
    never what it points to, and nothing outside ``inv.root`` is touched."""
    now = time.time() if now is None else now
    root = inv.root.resolve()
    removed, failed, busy = [], [], []
    for e in select(inv, older_than=older_than, model=model, everything=everything, now=now):
        if e.busy(now):
            busy.append(e)
            continue
        if not _inside(e.path, root):
            failed.append((e, f"not inside the cache folder {root}"))
            continue
        if not dry_run:
            try:
                if e.path.is_dir() and not e.path.is_symlink():
                    shutil.rmtree(e.path)
                else:
                    e.path.unlink()
            except FileNotFoundError:
                pass  # removed meanwhile: gone all the same
            except OSError as exc:
                failed.append((e, exc.strerror or str(exc)))
                continue
        removed.append(e)
    other = sum(e.kind == "other" for e in inv.entries) if everything else 0
    return Cleared(removed, failed, busy, other, sum(e.bytes for e in removed))


def human_bytes(n: float) -> str:
    """``n`` bytes in B, KiB, MiB, GiB or TiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


__all__ = ["BUSY_SECONDS", "Cleared", "Entry", "Inventory", "KINDS", "KIND_ORDER", "clear",
           "human_bytes", "inventory", "parse_age", "prediction_model", "select"]
