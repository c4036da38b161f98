"""User cache directory (override with the REACTBENCH_CACHE environment variable)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def cache_dir() -> Path:
    """Root of reactbench's caches: $REACTBENCH_CACHE or the platform user cache dir."""
    env = os.environ.get("REACTBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("reactbench"))
