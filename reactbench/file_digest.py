"""Files as cache-key material: their stats (cheap) and their contents (a digest).

The data layer's dataset identity and ReactDiff's feature-file identity both hash the bytes of
many files and memoise that hash by the files' (path, size, mtime_ns); both use these two
helpers, so the hashing is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 20  # files are read in 1 MiB chunks
MISSING = b"<missing>"  # hashed in place of a file that cannot be read


def stat_key(paths: Iterable[Path]) -> list[list]:
    """[path, size, mtime_ns] per file ([path, None, None] when it cannot be stat'ed): a memo
    key that changes when a file is added, removed, resized or touched."""
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
        except OSError:
            out.append([str(p), None, None])
            continue
        out.append([str(p), st.st_size, st.st_mtime_ns])
    return out


def update_with_files(h: Any, labelled: Iterable[tuple[str, Path]]) -> None:
    """Feed hashlib object ``h``, per (label, file) in order: the label, a NUL, the file's
    bytes (``MISSING`` when it cannot be read) and a NUL."""
    for label, path in labelled:
        h.update(label.encode() + b"\0")
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK_BYTES):
                    h.update(chunk)
        except OSError:
            h.update(MISSING)
        h.update(b"\0")
