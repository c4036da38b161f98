"""Background compilation of the metric kernels (reactbench/metrics/warm.py)."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import warm


def test_a_warmup_compiles_into_the_kernel_cache_once(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "kernels"))
    monkeypatch.delenv("REACTBENCH_WARMUP", raising=False)
    # NUMBA_OPT=0 would compile faster, but numba caches no kernel that calls another
    # compiled function at that level
    first = warm.start(["FRVar"], ["official"])
    assert first is not None and len(first.procs) == 1  # FRVar is in one group only
    assert warm.marker(["FRVar"], ["official"]) == first.done and not first.done.exists()
    warm.wait_pending()
    assert first.waited and first.done.exists() and first.wait()
    saved = list((tmp_path / "kernels").rglob("diversity._var_rows*.nbc"))
    assert saved, "the child compiled nothing into the kernel cache"
    assert warm.start(["FRVar"], ["official"]) is None  # the marker: nothing to do
    other = warm.marker(["FRVar", "FRDiv"], ["official"])
    assert other != first.done and not other.exists()


def test_off_switch_and_a_failing_child(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "kernels"))
    monkeypatch.setenv("REACTBENCH_WARMUP", "0")
    assert warm.start(["FRVar"], ["official"]) is None
    monkeypatch.setenv("REACTBENCH_WARMUP", "1")
    failing = warm.start(["FRVar"], ["no-such-protocol"])  # a child that fails
    assert failing is not None
    assert failing.wait() is False and not failing.done.exists()
    warm.wait_pending()


def test_warm_scores_a_tiny_case_of_each_protocol(monkeypatch):
    calls = []
    monkeypatch.setattr("reactbench.metrics.api.compute_metrics",
                        lambda *a, **k: calls.append((k["protocol"], tuple(k["metrics"]),
                                                      k.get("targets") is not None)))
    warm.warm(["FRCorr", "MAE", "FRRea"], ["official", "react2025"])
    with pytest.raises(ValueError, match="unknown protocol"):
        warm.warm(["FRCorr"], ["official", "react2024x"])
    assert calls == [("official", ("FRCorr", "FRRea"), False),
                     ("react2025", ("FRCorr", "MAE"), True)]
    assert np.isfinite(warm._emotions(np.random.default_rng(0), (2, 3))).all()
