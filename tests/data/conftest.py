"""Fixtures of the data-layer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data._micro import copy_of, make_micro


@pytest.fixture(scope="session")
def micro_dataset(tmp_path_factory) -> Path:
    """Read-only micro dataset (test split, 2 pairs, 100 frames)."""
    return make_micro(tmp_path_factory.mktemp("micro"))


@pytest.fixture
def micro_copy(micro_dataset, tmp_path) -> Path:
    """A fresh writable copy of the micro dataset."""
    return copy_of(micro_dataset, tmp_path / "data")
