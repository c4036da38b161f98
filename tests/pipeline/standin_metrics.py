"""A tiny stand-in for ``reactbench.metrics.compute_metrics`` (tests only, never the package).

Used while the real metrics core is absent. Same names and return type contract: a dict of the
seven metrics with ``.protocol``, ``.versions``, ``.ci``, ``.extra``, ``.timings``. FRDiv, FRVar
and FRDvs follow the official definitions; FRCorr uses Pearson instead of CCC, FRDist a plain
Euclidean distance instead of DTW, FRRea a mean difference, FRSyn the lag-0 check only.
"""

from __future__ import annotations

import numpy as np

METRIC_NAMES = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn")
DIRECTIONS = {"FRCorr": "higher", "FRDist": "lower", "FRDiv": "higher", "FRVar": "higher",
              "FRDvs": "higher", "FRRea": "lower", "FRSyn": "lower"}
METRIC_GROUPS = {"Appropriateness": ("FRCorr", "FRDist"), "Diversity": ("FRDiv", "FRVar", "FRDvs"),
                 "Realism": ("FRRea",), "Synchrony": ("FRSyn",)}


class MetricScores(dict):
    def __init__(self, values, protocol):
        super().__init__(values)
        self.protocol = protocol
        self.versions = {m: "standin-1" for m in values}
        self.ci: dict = {}
        self.extra: dict = {}
        self.timings = {m: 0.0 for m in values}

    def to_dict(self):
        return {"values": dict(self), "protocol": self.protocol}


def _pairwise_mse(x: np.ndarray) -> float:
    n = x.shape[0]
    if n < 2:
        return 0.0
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    return float(d.sum() / (n * (n - 1) * x.shape[1]))


def compute_metrics(pred, listener_gt, speaker, neighbours, protocol="official", metrics=None,
                    n_jobs=-1, device="cpu", bootstrap=0, seed=0, pred_3dmm=None,
                    listener_3dmm=None, progress=False):
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(listener_gt, dtype=np.float64)
    n, alpha, t, d = pred.shape
    if np.isnan(pred).any():
        raise ValueError("pred holds NaN")
    out = {}
    want = metrics or METRIC_NAMES
    if "FRCorr" in want or "FRDist" in want:
        corr = dist = 0.0
        for k in range(n):
            js = np.flatnonzero(neighbours[k] == 1)
            for i in range(alpha):
                dist += min(float(np.sqrt(((pred[k, i] - gt[j]) ** 2).sum())) for j in js)
                corr += max(float(np.corrcoef(pred[k, i].ravel(), gt[j].ravel())[0, 1])
                            if pred[k, i].std() > 0 else 0.0 for j in js)
        out["FRCorr"], out["FRDist"] = corr / n, dist / n
    flat = pred.reshape(n, alpha, t * d)
    out["FRDiv"] = float(np.mean([_pairwise_mse(flat[k]) for k in range(n)]))
    out["FRVar"] = float(pred.var(axis=2, ddof=1).mean())
    out["FRDvs"] = float(np.mean([_pairwise_mse(flat[:, i]) for i in range(alpha)]))
    out["FRRea"] = float(abs(pred.mean() - gt.mean()))
    out["FRSyn"] = float(np.mean(np.abs(pred[:, 0] - speaker).max(axis=(1, 2)) > 1e-6) * 49)
    res = MetricScores({m: out[m] for m in METRIC_NAMES if m in want}, protocol)
    if bootstrap:
        res.ci = {m: (v - 0.1, v + 0.1) for m, v in res.items()}
    return res
