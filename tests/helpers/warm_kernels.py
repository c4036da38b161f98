"""Compile the metric kernels into the on-disk kernel cache before the test workers start.

``python -m tests.helpers.warm_kernels METRIC...`` scores a tiny case under every protocol with
the named metrics only, so that the kernels behind them (and the argument types the public
functions pass) are compiled once and cached (:mod:`reactbench.jit`); the xdist controller
(tests/conftest.py) runs :data:`GROUPS` in parallel processes, one per group.
"""

from __future__ import annotations

import sys

import numpy as np

# about equal compile times (FRCorr's kernels take as long as all the others together)
GROUPS = (("FRCorr",), ("FRDist", "FRSyn", "FRDiv", "FRVar", "FRDvs", "FRRea", "MAE"))


def _emotions(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """(..., T, 25) float32: binary AUs, valence/arousal in [-1, 1], expression rows summing
    to 1."""
    x = rng.random(shape + (25,), dtype=np.float32)
    x[..., :15] = x[..., :15] > 0.5
    x[..., 15:17] = 2 * x[..., 15:17] - 1
    x[..., 17:] /= x[..., 17:].sum(-1, keepdims=True)
    return x


def warm(metrics: tuple[str, ...]) -> None:
    """Score a tiny case (N 4, alpha 2, T 60; ragged lengths for the target protocols) under
    every protocol, with those of ``metrics`` it defines."""
    from reactbench.metrics import compute_metrics  # after the caller has chosen the cache
    from reactbench.protocols import PROTOCOLS  # idem

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
        names = [m for m in metrics if m in proto.metrics + proto.optional_metrics]
        if not names:
            continue
        if proto.appropriateness == "targets":
            compute_metrics(ragged["pred"], None, ragged["speaker"], None, protocol=name,
                            metrics=names, targets=ragged["targets"])
        else:
            compute_metrics(pred, gt, speaker, neighbours, protocol=name, metrics=names)


if __name__ == "__main__":
    warm(tuple(sys.argv[1:]))
