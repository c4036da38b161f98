"""Compile the metric kernels into the on-disk kernel cache before the test workers start.

``python -m tests.helpers.warm_kernels NAME...`` scores a tiny case under every protocol with
the named metrics only (:func:`reactbench.metrics.warm.warm`), so that the kernels behind them
(and the argument types the public functions pass) are compiled once and cached
(:mod:`reactbench.jit`); the xdist controller (tests/conftest.py) runs :data:`GROUPS` in
parallel processes, one per group. The name :data:`UNPRUNED` also compiles the FRDist engine's
minima without pruning (``abandon=False``), which the tests call and no protocol's scoring
does: about 7 s of CPU, in the group that compiles for less time than FRDist's engine.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from reactbench.metrics.warm import GROUPS as METRIC_GROUPS
from reactbench.metrics.warm import warm

UNPRUNED = "unpruned-FRDist"
GROUPS = (METRIC_GROUPS[0], (*METRIC_GROUPS[1], UNPRUNED))

__all__ = ["GROUPS", "UNPRUNED", "warm_names"]


def warm_unpruned() -> None:
    """Run the unpruned FRDist minima once, equal-length and packed variable-length."""
    from reactbench.metrics.dtw_engine import min_grouped_dtw, min_grouped_dtw_ragged

    rng = np.random.default_rng(0)
    pred = rng.random((3, 2, 20, 25), dtype=np.float32)
    gt = rng.random((3, 20, 25), dtype=np.float32)
    min_grouped_dtw(pred, gt, np.eye(3, dtype=bool), abandon=False)
    packed = rng.random((2, 30, 25), dtype=np.float32)
    targets = rng.random((3, 30, 25), dtype=np.float32)
    min_grouped_dtw_ragged(packed, targets, np.array([0, 12, 30]), np.array([1, 0]),
                           abandon=False)


def warm_names(names: Sequence[str]) -> None:
    """:func:`warm` the metrics among ``names``; :func:`warm_unpruned` if :data:`UNPRUNED` is."""
    warm(tuple(n for n in names if n != UNPRUNED))
    if UNPRUNED in names:
        warm_unpruned()


if __name__ == "__main__":
    warm_names(sys.argv[1:])
