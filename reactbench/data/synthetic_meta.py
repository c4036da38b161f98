"""Reading the metadata file a synthetic generator writes into the dataset's root."""

from __future__ import annotations

import json
from pathlib import Path

from reactbench.errors import DataError


def read_meta_file(p: Path, contents: str = "") -> dict | None:
    """The JSON object a synthetic generator wrote to ``p``, or None where there is no such
    file; ``contents``: what the object holds, named in the error for any other JSON value."""
    if not p.is_file():
        return None
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{p}: unreadable synthetic metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{p}: synthetic metadata must be a JSON object{contents}; got "
                        f"{type(meta).__name__}")
    return meta


__all__ = ["read_meta_file"]
