"""Atomic file writes: write beside the target, then move into place with ``os.replace``.

A reader never sees a half-written file, and a failed write leaves no temporary file behind.
``check_target`` refuses, up front and with a clear message, a target that cannot be a file
(a directory, a path under an existing file) or that exists when it must not be replaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from reactbench.errors import ReactbenchError


def nearest_existing(path: str | Path) -> Path | None:
    """``path`` itself if it exists, else its closest existing ancestor (None: none exists)."""
    path = Path(path)
    return next((p for p in (path, *path.parents) if p.exists()), None)


def check_target(path: str | Path, *, overwrite: bool = True, what: str = "output file",
                 error: type[ReactbenchError] = ReactbenchError, hint: str = "") -> Path:
    """Raise ``error`` naming ``path`` unless a file can be written there; return the path.

    Refused: an existing directory, a path whose existing ancestor is not a directory, and
    (unless ``overwrite``) an existing file. ``hint`` is appended to the "exists" message
    (e.g. "pass --force to replace it").
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{what} {path} is a directory; expected a file path (e.g. {path}/NAME)")
    parent = nearest_existing(path.parent)
    if parent is not None and not parent.is_dir():
        raise error(f"{what} {path}: cannot be created, {parent} is a file, not a directory")
    if not overwrite and (path.exists() or path.is_symlink()):
        raise error(f"{what} {path} already exists; not replaced" + (f" ({hint})" if hint else ""))
    return path


@contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp", overwrite: bool = True,
                what: str = "output file", error: type[ReactbenchError] = ReactbenchError,
                hint: str = "") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on a clean exit it replaces ``path``.

    ``suffix`` lets writers that infer the format from the name (matplotlib) see the right one.
    ``overwrite=False`` never replaces an existing file, also one that appears while writing.
    Bad targets (see ``check_target``) raise ``error`` before anything is written.
    """
    path = check_target(path, overwrite=overwrite, what=what, error=error, hint=hint)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise error(f"{what} {path}: cannot write there ({exc.strerror or exc})") from exc
    os.close(fd)
    try:
        yield Path(tmp)
        _chmod_like_open(Path(tmp))
        _move(Path(tmp), path, overwrite=overwrite, what=what, error=error, hint=hint)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _chmod_like_open(tmp: Path) -> None:
    """mkstemp creates files readable by their owner only; give the file the permissions a
    plain ``open(path, "w")`` would (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
    except OSError:
        pass


def _move(tmp: Path, path: Path, *, overwrite: bool, what: str,
          error: type[ReactbenchError], hint: str) -> None:
    exists = f"{what} {path} already exists; not replaced" + (f" ({hint})" if hint else "")
    try:
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # atomic, and fails if the target exists
        except FileExistsError:
            raise error(exists) from None
        except OSError:  # file systems without hard links
            if path.exists() or path.is_symlink():
                raise error(exists) from None
            os.replace(tmp, path)
    except OSError as exc:  # e.g. a directory created at ``path`` meanwhile
        raise error(f"{what} {path}: cannot write it ({exc.strerror or exc})") from exc


def atomic_savez(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez`` of ``arrays`` to exactly ``path`` (no ``.npz`` appended), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path
