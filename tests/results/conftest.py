"""Fixtures shared with the pipeline tests: the in-process CLI runner and a fresh cache."""

from tests.pipeline.conftest import cli, fresh_cache  # noqa: F401
