"""Compile the metric kernels ahead of scoring, in background processes, once per machine.

A fresh installation compiles the numba kernels behind the metrics the first time they run:
a minute or more of CPU for the REACT2024 set, single-threaded, in the middle of the first
scoring. :func:`start` instead compiles them while the caller does other work (generating and
loading data): it scores a tiny case in :data:`GROUPS` child processes (the two halves of the
compile time, in parallel), and the kernels land in the on-disk kernel cache
(:mod:`reactbench.jit`) from which the caller's first scoring loads them.
:meth:`Warmup.wait` (:func:`wait_pending` for every warm-up the process started) waits for
them; the harness waits once the data are loaded, before any model runs.

``REACTBENCH_WARMUP=0`` turns it off (the test suite compiles its kernels its own way). A
marker file in the kernel cache directory, keyed by the numba and Python versions and the
size and modification time of the metric sources (what numba's cache index is keyed by), the
protocols and the metrics, records a finished warm-up: later runs start nothing. A warm-up that
fails changes nothing but the time: the caller's scoring then compiles what is missing itself.

``python -m reactbench.metrics.warm --protocol official --metrics FRCorr FRDist`` warms those
kernels in this process.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reactbench.atomic import atomic_path
from reactbench.jit import kernel_cache_dir

# the two largest parts of the compile time: FRDist's engine, and all the other metrics
GROUPS = (("FRDist",), ("FRCorr", "FRSyn", "FRDiv", "FRVar", "FRDvs", "FRRea", "MAE"))
_SOURCES = Path(__file__).resolve().parent


def _emotions(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """(..., T, 25) float32: binary AUs, valence/arousal in [-1, 1], expression rows summing
    to 1."""
    x = rng.random(shape + (25,), dtype=np.float32)
    x[..., :15] = x[..., :15] > 0.5
    x[..., 15:17] = 2 * x[..., 15:17] - 1
    x[..., 17:] /= x[..., 17:].sum(-1, keepdims=True)
    return x


def warm(metrics: Sequence[str], protocols: Sequence[str] | None = None) -> None:
    """Score a tiny case (N 4, alpha 2, T 60; ragged lengths for the target protocols) under
    each of ``protocols`` (None: every protocol) with those of ``metrics`` it defines, so that
    their kernels, for the argument types the scoring passes, are compiled and cached."""
    from reactbench.metrics.api import compute_metrics  # the metric modules define the kernels
    from reactbench.protocols import PROTOCOLS  # idem (loads the metric table)

    unknown = sorted(set(protocols or ()) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; known: {sorted(PROTOCOLS)}")
    rng = np.random.default_rng(0)
    n, alpha, t = 4, 2, 60
    pred, gt, speaker = (_emotions(rng, s) for s in ((n, alpha, t), (n, t), (n, t)))
    neighbours = np.eye(n)
    neighbours[0, 1] = 1
    lengths = (60, 64, 71, 60)
    ragged = {"pred": [_emotions(rng, (alpha, k)) for k in lengths],
              "speaker": [_emotions(rng, (k,)) for k in lengths],
              "targets": [_emotions(rng, (3, k)) for k in lengths]}
    for name, proto in PROTOCOLS.items():
        if protocols is not None and name not in protocols:
            continue
        names = [m for m in metrics if m in proto.metrics + proto.optional_metrics]
        if not names:
            continue
        if proto.appropriateness == "targets":
            compute_metrics(ragged["pred"], None, ragged["speaker"], None, protocol=name,
                            metrics=names, targets=ragged["targets"])
        else:
            compute_metrics(pred, gt, speaker, neighbours, protocol=name, metrics=names)


def marker(metrics: Sequence[str], protocols: Sequence[str]) -> Path:
    """The file that records a finished warm-up of ``metrics`` under ``protocols`` for the
    current metric sources, numba and Python."""
    import numba  # its version keys the cache

    h = hashlib.sha256()
    h.update(f"{numba.__version__} {sys.version} {sorted(metrics)} {sorted(protocols)}".encode())
    for src in sorted(_SOURCES.glob("*.py")):
        st = src.stat()
        h.update(f"{src.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return kernel_cache_dir() / f"warm-{h.hexdigest()[:24]}.done"


@dataclass
class Warmup:
    """Child processes compiling kernels; :meth:`wait` joins them and, when all succeeded,
    writes the marker."""

    procs: list[subprocess.Popen]
    done: Path
    waited: bool = field(default=False)

    def wait(self, timeout: float = 900.0) -> bool:
        """Wait for every child (killing one that runs past ``timeout`` s); True when all
        compiled."""
        if self.waited:
            return self.done.exists()
        ok = True
        for proc in self.procs:
            try:
                ok &= proc.wait(timeout=timeout) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                ok = False
        self.waited = True
        if ok:
            self.done.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.done) as tmp:
                tmp.write_text("")
        return ok


_PENDING: list[Warmup] = []


def start(metrics: Sequence[str], protocols: Sequence[str]) -> Warmup | None:
    """Start compiling the kernels of ``metrics`` under ``protocols`` in the background
    (:data:`GROUPS`, one child per group that holds any of them); None when an earlier
    warm-up of the same kernels finished, or the kernel cache cannot be written."""
    if os.environ.get("REACTBENCH_WARMUP", "1") == "0":
        return None
    done = marker(metrics, protocols)
    if done.exists():
        return None
    try:
        done.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    procs = []
    for group in GROUPS:
        names = [m for m in group if m in metrics]
        if not names:
            continue
        cmd = [sys.executable, "-m", "reactbench.metrics.warm", "--protocol", *protocols,
               "--metrics", *names]
        procs.append(subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    warmup = Warmup(procs, done)
    _PENDING.append(warmup)
    return warmup


def wait_pending() -> None:
    """Wait for the warm-ups this process started (before scoring: the kernels are then
    loaded from the cache instead of compiled a second time)."""
    while _PENDING:
        _PENDING.pop().wait()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="compile and cache the metric kernels")
    ap.add_argument("--protocol", nargs="+", default=None, help="default: every protocol")
    ap.add_argument("--metrics", nargs="+", required=True)
    a = ap.parse_args(argv)
    warm(a.metrics, a.protocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
