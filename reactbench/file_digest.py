"""Files as cache-key material: their stats (cheap) and their contents (a digest).

The data layer's dataset identity and ReactDiff's feature-file identity both hash the bytes of
many files and memoise that hash by the files' (path, size, mtime_ns); both use these
helpers, so the hashing and its memo are written once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reactbench.atomic import atomic_path
from reactbench.errors import ReactbenchError
from reactbench.paths import cache_dir

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


_MEMO: dict[tuple[str, str], dict] = {}


def memoised(folder: str, key: str, compute: Callable[[], dict], required: str) -> dict:
    """A copy of ``compute()``'s record, memoised under ``key`` in this process and in
    ``cache_dir()/<folder>/<key>.json``. A stored record that cannot be read, or whose text
    field ``required`` is missing, is computed again; a cache that cannot be written only costs
    computing again next time."""
    record = _MEMO.get((folder, key))
    path = cache_dir() / folder / f"{key}.json"
    if record is None:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = None
        if not (isinstance(record, dict) and isinstance(record.get(required), str)):
            record = compute()
            try:
                with atomic_path(path, suffix=".json") as tmp:
                    tmp.write_text(json.dumps(record))
            except (OSError, ReactbenchError):
                pass
        _MEMO[(folder, key)] = record
    return dict(record)
