"""Compile the metric kernels into the on-disk kernel cache before the test workers start.

``python -m tests.helpers.warm_kernels METRIC...`` scores a tiny case under every protocol with
the named metrics only (:func:`reactbench.metrics.warm.warm`), so that the kernels behind them
(and the argument types the public functions pass) are compiled once and cached
(:mod:`reactbench.jit`); the xdist controller (tests/conftest.py) runs :data:`GROUPS` in
parallel processes, one per group.
"""

from __future__ import annotations

import sys

from reactbench.metrics.warm import GROUPS, warm

__all__ = ["GROUPS", "warm"]

if __name__ == "__main__":
    warm(tuple(sys.argv[1:]))
