"""How many CPU threads the numba kernels use for one call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numba

from reactbench.metrics.validate import check_n_jobs


def n_threads(n_jobs: int) -> int:
    """Threads for ``n_jobs`` (-1 = all cores, -k = all but k - 1, k >= 1), capped by numba's."""
    n_jobs = check_n_jobs(n_jobs)
    avail = numba.config.NUMBA_NUM_THREADS
    if n_jobs < 0:
        return max(1, min(avail, (os.cpu_count() or 1) + 1 + n_jobs))
    return max(1, min(avail, int(n_jobs)))


@contextmanager
def numba_threads(n_jobs: int) -> Iterator[int]:
    """Run the block with numba's thread count set for ``n_jobs``; restored afterwards."""
    old = numba.get_num_threads()
    count = n_threads(n_jobs)
    numba.set_num_threads(count)
    try:
        yield count
    finally:
        numba.set_num_threads(old)
