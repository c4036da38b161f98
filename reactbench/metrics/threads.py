"""How many CPU threads the numba kernels use for one call, and running a kernel over chunks
of work on that many Python threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba

from reactbench.metrics.validate import check_n_jobs

# rows per kernel call where each row is cheap (a few microseconds of work, about the cost of
# one call from a Python thread)
ROWS_PER_CALL = 16


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


def run_chunks(kernel: Callable[..., None], n_chunks: int, *args, step: int = 1) -> None:
    """Call ``kernel(c0, c1, *args)`` over the chunks [0, n_chunks), ``step`` chunks per call,
    on ``numba.get_num_threads()`` Python threads, each taking the next chunks as it finishes
    (in order: put the longest first). ``kernel`` must release the GIL (``nogil=True``) and
    write to disjoint places per chunk. Unlike a ``prange`` loop it costs numba no second
    compilation of the loop body with everything it calls (half of the DTW engine's compile
    time). The first error is raised."""
    threads = min(numba.get_num_threads(), -(-n_chunks // step))
    if threads <= 1:
        if n_chunks > 0:
            kernel(0, n_chunks, *args)
        return
    starts = iter(range(0, n_chunks, step))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                c0 = next(starts, None)
            if c0 is None:
                return
            kernel(c0, min(n_chunks, c0 + step), *args)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(work) for _ in range(threads)]:
            done.result()
