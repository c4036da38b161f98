"""Micro-benchmark of the CPU grouped-DTW engine (not a test; run by hand or on the device box).

    python tests/metrics/bench_dtw_engine.py --n 96 --threads 2

Smooth synthetic emotions (binary AUs with dead columns, VA in [-1, 1], FE probabilities), ~11
neighbours per row; ``model`` predictions are lagged noisy copies of an appropriate reaction,
``indep`` ones are independent smooth sequences, ``random`` ones U[0, 1) (B_Random). Prints
seconds per (speaker, generation, neighbour) triple with and without early abandoning, and
tslearn's time for the same triples (sampled).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def smooth(rng, shape, width=25):
    x = rng.standard_normal(shape)
    k = np.hanning(width)
    k /= k.sum()
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), -2, x) * 4


def emotions(rng, n, t):
    au = (smooth(rng, (n, t, 15)) > 0.6).astype(np.float32)
    au *= (rng.random((n, 1, 15)) >= 0.1)
    va = np.tanh(smooth(rng, (n, t, 2)))
    fe = np.exp(2 * smooth(rng, (n, t, 8)))
    fe /= fe.sum(-1, keepdims=True)
    return np.concatenate([au, va, fe], axis=-1).astype(np.float32)


def make(n, alpha, t, k, kind, seed=0):
    rng = np.random.default_rng(seed)
    gt = emotions(rng, n, t)
    nb = np.zeros((n, n))
    for i in range(n):
        nb[i, rng.choice(n, size=k, replace=False)] = 1
        nb[i, i] = 1
    if kind == "random":
        pred = rng.random((n, alpha, t, 25), dtype=np.float32)
    elif kind == "indep":
        pred = np.stack([emotions(rng, n, t) for _ in range(alpha)], axis=1)
    else:
        pred = np.empty((n, alpha, t, 25), np.float32)
        for i in range(n):
            js = np.flatnonzero(nb[i])
            for a in range(alpha):
                src = np.roll(gt[rng.choice(js)], rng.integers(-25, 25), axis=0)
                noisy = src + 0.15 * rng.standard_normal(src.shape)
                noisy[:, :15] = (noisy[:, :15] > 0.5)
                fe = np.clip(noisy[:, 17:], 1e-3, None)
                noisy[:, 17:] = fe / fe.sum(-1, keepdims=True)
                noisy[:, 15:17] = np.clip(noisy[:, 15:17], -1, 1)
                pred[i, a] = noisy
    return pred, gt, nb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--t", type=int, default=750)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kinds", default="model,indep,random")
    ap.add_argument("--tslearn", type=int, default=20, help="triples timed with tslearn")
    args = ap.parse_args()
    from reactbench.metrics.dtw_engine import grouped_dtw, min_grouped_dtw

    for kind in args.kinds.split(","):
        pred, gt, nb = make(args.n, args.alpha, args.t, args.k, kind)
        triples = int(nb.sum()) * args.alpha
        min_grouped_dtw(pred[:2], gt, nb[:2], n_jobs=args.threads)  # compile / load cache
        res = {}
        for abandon in (True, False):
            t0 = time.perf_counter()
            res[abandon] = min_grouped_dtw(pred, gt, nb, n_jobs=args.threads, abandon=abandon)
            dt = time.perf_counter() - t0
            print(f"{kind:6s} abandon={abandon!s:5s} {dt:7.2f} s  "
                  f"{dt / triples * 1e3:.3f} ms/triple (wall, {args.threads} threads)  "
                  f"N={args.n} triples={triples}")
        print(f"{kind:6s} max |abandon - full| = {np.abs(res[True] - res[False]).max():.3g}")
        if args.tslearn:
            from tslearn.metrics import dtw

            rng = np.random.default_rng(1)
            t0 = time.perf_counter()
            for _ in range(args.tslearn):
                i, a, j = rng.integers(args.n), rng.integers(args.alpha), rng.integers(args.n)
                x, y = pred[i, a].astype(np.float64), gt[j].astype(np.float64)
                ref = sum(w * dtw(x[:, p:q], y[:, p:q]) for p, q, w in
                          ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8)))
                assert abs(ref - grouped_dtw(pred[i, a], gt[j])) <= 1e-9 * max(ref, 1)
            dt = (time.perf_counter() - t0) / args.tslearn
            print(f"{kind:6s} tslearn {dt * 1e3:.3f} ms/triple (1 core, incl. reactbench check)")


if __name__ == "__main__":
    main()
