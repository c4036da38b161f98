"""Where the data comes from: an explicit dataset directory, or the default synthetic dataset
generated once into the user cache directory and reused."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from reactbench.atomic import check_writable, exclusive_lock
from reactbench.data import layout, mars_layout, mars_synthetic
from reactbench.data.mars import META_FILE as MARS_META_FILE
from reactbench.data.synthetic import GENERATOR_VERSION, META_FILE, generate
from reactbench.errors import DataError, param
from reactbench.paths import cache_dir


def default_dataset(seed: int = 0, progress: bool = False) -> Path:
    """Path of the default synthetic dataset (``DEFAULT_PAIRS``, 750 frames) for ``seed``.

    Generated on first use into ``cache_dir()/synthetic/<GENERATOR_VERSION>-seed<seed>``
    (atomically: temporary directory + rename, under a lock: a concurrent process waits for the
    one generating it and reuses its copy) and reused afterwards. A cache that cannot be written
    is a DataError naming it and the remedy.
    """

    target = cache_dir() / "synthetic" / f"{GENERATOR_VERSION}-seed{int(seed)}"
    return _cached_dataset(target, META_FILE, "synthetic dataset", GENERATOR_VERSION, seed,
                           progress, generate)


def _cached_dataset(target: Path, meta_file: str, what: str, version: str, seed: int,
                    progress: bool, make: Callable[..., Path]) -> Path:
    """``target`` once it holds ``meta_file``: else generated there by ``make`` (a synthetic
    generator) under ``target``'s lock; a concurrent process waits and reuses it."""
    if (target / meta_file).is_file():
        return target
    try:
        check_writable(target.parent, what="cache folder", error=DataError)
    except DataError as exc:
        raise DataError(f"{exc.template}; or set REACTBENCH_CACHE to a writable folder, or pass "
                        f"{param('data')} with a dataset") from None
    with exclusive_lock(target, wait=True, what="default dataset", error=DataError):
        if (target / meta_file).is_file():
            return target  # another process generated it while this one waited
        if target.exists():  # an incomplete leftover (never produced by a generator: it renames)
            shutil.rmtree(target, ignore_errors=True)
        if progress:
            print(f"generating the default {what} ({version}, seed {seed}) into {target} "
                  "(once; it is reused afterwards)", file=sys.stderr)
        make(target, seed=seed, progress=progress, lock=False)
    return target


def resolve_data(data: str | Path | None, progress: bool = True) -> Path:
    """``None`` -> :func:`default_dataset` (with a progress bar on stderr if it must be
    generated); otherwise the given directory, which must exist and hold at least one split list
    (``train.csv``, ``val.csv`` or ``test.csv``)."""
    if data is None:
        return default_dataset(progress=progress)
    root = Path(data).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory not found")
    if not any(layout.split_csv_path(root, s).is_file() for s in layout.SPLITS):
        raise DataError(
            f"{root}: not a dataset directory in the official layout "
            f"(expected train.csv, val.csv or test.csv in it)"
        )
    return root.resolve()


def default_mars_dataset(seed: int = 0, progress: bool = False) -> Path:
    """Path of the default synthetic MARS-layout dataset for ``seed`` (the embedded data of the
    REACT2025/2026 protocols): generated once into
    ``cache_dir()/synthetic-mars/<GENERATOR_VERSION>-seed<seed>`` as :func:`default_dataset`
    does (atomically, under a lock; a concurrent process waits and reuses it)."""
    version = mars_synthetic.GENERATOR_VERSION
    target = cache_dir() / "synthetic-mars" / f"{version}-seed{int(seed)}"
    return _cached_dataset(target, MARS_META_FILE, "synthetic MARS dataset", version, seed,
                           progress, mars_synthetic.generate)


def resolve_mars_data(data: str | Path | None, progress: bool = True) -> Path:
    """``None`` -> :func:`default_mars_dataset`; otherwise the given directory, which must be
    a MARS-layout root (a ``<split>/facial-attributes`` folder)."""
    if data is None:
        return default_mars_dataset(progress=progress)
    root = Path(data).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory not found")
    if not mars_layout.is_mars_root(root):
        raise DataError(f"{root}: not a dataset directory in the MARS layout (expected "
                        f"train/, val/ or test/ with a {mars_layout.ATTRIBUTES_DIR}/ folder in it)")
    return root.resolve()
