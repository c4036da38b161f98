"""Atomic file writes: write beside the target, then move into place with ``os.replace``.

A reader never sees a half-written file, and a failed write leaves no temporary file behind.
``check_target`` refuses, up front and with a clear message, a target that cannot be a file
(a directory, a path under an existing file) or that exists when it must not be replaced.
A write that fails because the file system is full or read-only is one error naming the path
and the remedy (:func:`fs_fault`); ``check_writable`` finds such a folder before long work
starts. ``exclusive_lock`` lets one process at a time produce a given output.
"""

from __future__ import annotations

import errno
import fcntl
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
    (e.g. ``f"pass {param('force')} to replace it"``); ``what`` may be a
    :func:`reactbench.errors.param` reference (``param("out")``), which the CLI shows as a flag.
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
        raise error(f"{what} {path}: cannot write there ({exc.strerror or exc})"
                    + _remedy(exc, path.parent)) from exc
    os.close(fd)
    try:
        try:
            yield Path(tmp)
        except Exception as exc:  # noqa: BLE001 - writers fail in their own types on a full disk
            why = fs_fault(exc, path.parent)
            if why is None:
                raise
            raise error(f"{what} {path}: cannot write it ({why})"
                        + _remedy(why, path.parent)) from exc
        _chmod_like_open(Path(tmp))
        _move(Path(tmp), path, overwrite=overwrite, what=what, error=error, hint=hint)
    finally:
        Path(tmp).unlink(missing_ok=True)


# errnos of a file system that cannot take a write (full, over quota, read-only, too large)
_FS_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
_LOW_SPACE = 1 << 20  # bytes: below this, a failed write is put down to a full disk


def fs_fault(exc: BaseException, folder: str | Path) -> str | None:
    """Why a write into ``folder`` failed when the file system is the cause ("No space left on
    device", "Read-only file system", ...), else None. Writers that report a full disk in their
    own types (torch's RuntimeError, libsndfile's "System error.") are recognised by the state
    of the file system."""
    if isinstance(exc, OSError) and exc.errno in _FS_ERRNOS:
        return exc.strerror or os.strerror(exc.errno)
    if isinstance(exc, OSError) and exc.errno is not None:
        return None
    try:
        st = os.statvfs(nearest_existing(folder) or ".")
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return os.strerror(errno.EROFS)
    if st.f_bavail * st.f_frsize < _LOW_SPACE:
        return os.strerror(errno.ENOSPC)
    return None


def _remedy(why: BaseException | str, folder: str | Path) -> str:
    """The advice that ends a failed-write message ("" when there is none to give)."""
    text = (why.strerror or "") if isinstance(why, OSError) else why
    if text == os.strerror(errno.EROFS) or text == os.strerror(errno.EACCES):
        return f"; {folder} cannot be written: choose a writable location"
    if text in (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT), os.strerror(errno.EFBIG)):
        return f"; free space on the disk holding {folder}, or choose another location"
    return ""


def check_writable(folder: str | Path, what: str = "output folder",
                   error: type[ReactbenchError] = ReactbenchError) -> None:
    """Raise ``error`` naming ``folder`` when files cannot be created in it (or, if it does
    not exist yet, in its nearest existing ancestor): read-only, no permission, full."""
    base = nearest_existing(folder)
    if base is None or not base.is_dir():
        return  # check_target and the writers name these cases
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise error(f"{what} {folder}: cannot write there ({exc.strerror or exc})"
                    + _remedy(exc, base)) from exc
    why = fs_fault(RuntimeError(), base)
    if why is not None:
        raise error(f"{what} {folder}: cannot write there ({why}){_remedy(why, base)}")


@contextmanager
def exclusive_lock(target: str | Path, *, wait: bool, what: str = "output",
                   error: type[ReactbenchError] = ReactbenchError) -> Iterator[Path]:
    """Hold an exclusive lock on ``target`` (a hidden ``.<name>.lock`` file beside it).

    ``wait=False``: raise ``error`` at once when another process holds it; ``wait=True``:
    block until it is free. The lock file is removed on release. Yields the lock file path."""
    target = Path(target)
    lock = target.parent / f".{target.name}.lock"
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{what} {target}: cannot write there ({exc.strerror or exc})"
                    + _remedy(exc, lock.parent)) from exc
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise error(f"{what} {target}: cannot create the lock {lock} ({exc.strerror or exc})"
                        + _remedy(exc, lock.parent)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise error(f"{what} {target} is being written by another process now (it holds "
                        f"{lock}); wait for it to finish, or choose another location") from None
        try:  # the holder before us may have removed the file: lock the one at the path
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


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
        raise error(f"{what} {path}: cannot write it ({exc.strerror or exc})"
                    + _remedy(exc, path.parent)) from exc


def atomic_savez(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez`` of ``arrays`` to exactly ``path`` (no ``.npz`` appended), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path
