"""A quicker ``reactbench run`` on the tiny dataset (two samples, FRCorr and FRDist only), with
the plug-ins of ``odd_plugins.py``."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.runs import ODD_PLUGINS as PLUGINS

ALPHA = 2

__all__ = ["ALPHA", "PLUGINS", "run_args"]


def run_args(data: Path, out: Path, *extra: str) -> list[str]:
    """``reactbench run`` with ALPHA samples and only FRCorr and FRDist, one job."""
    return ["run", "--data", str(data), "--samples", str(ALPHA), "--out", str(out),
            "--no-progress", "--jobs", "1", "--metrics", "FRCorr,FRDist", *extra]
