"""Fixtures for the pipeline tests: a fresh cache where a test counts (re)generations, and an
in-process CLI runner."""

from __future__ import annotations

import pytest

from reactbench.cli import main as cli_main


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
