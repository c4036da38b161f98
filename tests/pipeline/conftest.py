"""Fixtures for the pipeline tests: metrics backend (real, or the stand-in until the real
metrics core exists), a fresh predictions cache per test, a CLI runner."""

from __future__ import annotations

import importlib

import pytest

from reactbench.cli import main as cli_main

from . import standin_metrics


def real_metrics_available() -> bool:
    try:
        mod = importlib.import_module("reactbench.metrics")
    except ImportError:
        return False
    return callable(getattr(mod, "compute_metrics", None))


REAL_METRICS = real_metrics_available()
needs_real_metrics = pytest.mark.skipif(
    not REAL_METRICS, reason="reactbench.metrics.compute_metrics not available yet"
)


@pytest.fixture(autouse=True)
def metrics_backend(monkeypatch):
    """The real metrics when present, else the stand-in patched onto ``reactbench.metrics``."""
    if REAL_METRICS:
        yield "real"
        return
    mod = importlib.import_module("reactbench.metrics")
    for name in ("compute_metrics", "METRIC_NAMES", "DIRECTIONS", "METRIC_GROUPS"):
        monkeypatch.setattr(mod, name, getattr(standin_metrics, name), raising=False)
    yield "standin"


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
