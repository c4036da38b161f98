"""Fixtures shared by every test.

* ``REACTBENCH_CACHE`` points at a per-session temporary directory before any test runs, so no
  test reads or writes the user's cache (the default synthetic dataset, split caches, ...);
  it is removed when the session ends. Compiled numba kernels are the exception: they stay in
  the user's kernel cache (``reactbench.jit.kernel_cache_dir()``, exported as
  ``NUMBA_CACHE_DIR`` to the xdist workers and the CLI subprocesses), so they are compiled once
  per machine, not once per session, worker or subprocess.
* Under xdist the controller compiles the metric kernels into that cache in parallel processes
  (``tests/helpers/warm_kernels.py``) while the workers start; tests are handed out once it is
  done, so no two workers compile the same kernel.
* ``tiny_dataset`` (session): a tiny synthetic dataset in the official layout, made once per
  session in well under 3 s: ``TINY_PAIRS`` pairs (train 6, val 4, test 4 -> N = 12 / 8 / 8
  mirrored rows), ``TINY_FRAMES`` = 120 frames (+-49-frame lags fit), audio (16 kHz wav),
  3DMM, ``neighbour_emotion_{val,test}.npy`` (every row has >= 2 neighbours) and the generator's
  truth. ``load_split(tiny_dataset, "test")`` loads it at its 120 frames (clips shorter than the
  requested 750 are loaded at their common length). Treat it as read-only: copy it
  (``shutil.copytree``) before modifying anything.
* ``fresh_cache``: a private ``REACTBENCH_CACHE`` for tests that count (re)generations.
* ``cli``: runs ``reactbench ARGS...`` in-process and returns (exit code, stdout, stderr).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reactbench.cli import main as cli_main
from reactbench.jit import kernel_cache_dir

from .helpers.warm_kernels import GROUPS

# before REACTBENCH_CACHE moves: the kernel cache stays where the user's kernels are
os.environ.setdefault("NUMBA_CACHE_DIR", str(kernel_cache_dir()))
_SESSION_CACHE = tempfile.mkdtemp(prefix="reactbench-test-cache-")
os.environ["REACTBENCH_CACHE"] = _SESSION_CACHE
# runs in the tests do not start background kernel compilation (reactbench.metrics.warm): the
# controller compiles the kernels once, below (tests/metrics/test_warm.py turns it back on)
os.environ["REACTBENCH_WARMUP"] = "0"
# two workers share the machine's cores: each computes on one thread (torch's OpenMP threads
# spin while they wait, and two workers' spinning threads take each other's cores)
os.environ.setdefault("OMP_NUM_THREADS", "1")
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)

_ROOT = Path(__file__).resolve().parents[1]
_WARMING: list[subprocess.Popen] = []
_WARM_TIMEOUT_S = 900


def pytest_configure(config) -> None:
    """xdist controller: start compiling the metric kernels, one process per group."""
    if not getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        return
    if config.option.collectonly:
        return
    for group in GROUPS:
        _WARMING.append(subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.warm_kernels", *group], cwd=_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``tslearn`` go first, in their order: tslearn compiles its DTW with numba at
    the first call in every process, uncached (about 8 s of CPU), and ``--dist worksteal`` hands
    each worker a contiguous share and steals from its end, so the first worker runs them all."""
    first = [item for item in items if item.get_closest_marker("tslearn")]
    if first:
        rest = [item for item in items if not item.get_closest_marker("tslearn")]
        items[:] = first + rest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """xdist controller: hand out tests only once the kernels are compiled (a failed warm-up
    is left to the metric tests to report)."""
    while _WARMING:
        proc = _WARMING.pop()
        try:
            proc.wait(timeout=_WARM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


TINY_PAIRS = {"train": 6, "val": 4, "test": 4}
TINY_FRAMES = 120
TINY_SEED = 0


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """Path to a tiny synthetic dataset (see the module docstring); read-only."""
    from reactbench.data.synthetic import generate

    out = tmp_path_factory.mktemp("tiny") / "react_tiny"
    return generate(out, pairs=dict(TINY_PAIRS), frames=TINY_FRAMES, seed=TINY_SEED, n_jobs=1)


@pytest.fixture(scope="session")
def tiny_frames() -> int:
    """Frames per clip of ``tiny_dataset``."""
    return TINY_FRAMES


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A private REACTBENCH_CACHE for tests that count (re)generations; the split cache is
    rebuilt there, so use it only where needed."""
    path = tmp_path / "cache"
    monkeypatch.setenv("REACTBENCH_CACHE", str(path))
    return path


@pytest.fixture
def cli(capsys):
    """Run ``reactbench ARGS...`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str):
        code = cli_main([str(a) for a in args])
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run
