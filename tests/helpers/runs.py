"""Command lines for ``reactbench run`` and ``score`` on the tiny dataset, the plug-in files they
load, and B_Mime-like predictions to score."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.results import read_result

HELPERS = Path(__file__).resolve().parent
EXAMPLE = HELPERS.parents[1] / "examples" / "lagged_mime.py"
PLUGINS = HELPERS / "plugins.py"
ODD_PLUGINS = HELPERS / "odd_plugins.py"
ALPHA = 3


def run_args(data: Path, out: Path, *extra: str) -> list[str]:
    """``reactbench run`` with ALPHA samples and every metric, one job, no progress bars."""
    return ["run", "--data", str(data), "--samples", str(ALPHA), "--out", str(out),
            "--no-progress", "--jobs", "1", *extra]


def results_in(out: Path) -> dict[str, dict]:
    """The result records in ``out``, keyed by model name."""
    return {r["model"]["name"]: r for r in map(read_result, sorted(out.glob("*.json")))}


def mime(split, alpha=2) -> np.ndarray:
    """(N, alpha, T, 25) predictions that copy the speaker of ``split``."""
    return np.repeat(split.speaker_emotion[:, None], alpha, axis=1)


def score_args(data, pred, out, *extra) -> list[str]:
    """``reactbench score`` of the predictions ``pred``, one job, no progress bars."""
    return ["score", "--predictions", str(pred), "--data", str(data), "--out", str(out),
            "--no-progress", "--jobs", "1", *extra]
