"""Fixtures: a tiny ReactDiff trained once per session on random data (window 10, T = 40), and
one trained through stage 1 alone (each test gets its own copy of that run folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .fakes import random_split, tiny_config


@pytest.fixture(scope="session")
def fake_splits():
    return random_split(8, 40, 0, "train"), random_split(4, 40, 1, "val")


def train_tiny(out, variant="reactdiff", splits=None, **kw):
    from reactbench.reactdiff.train import train_reactdiff

    train, val = splits
    return train_reactdiff(tiny_config(variant), train, val, out=out, progress=False,
                           identities={"train": train.identity, "val": val.identity}, **kw)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, fake_splits):
    """Path of a trained tiny ``reactdiff`` model.pt."""
    return train_tiny(tmp_path_factory.mktemp("rd") / "run", splits=fake_splits)


@pytest.fixture(scope="session")
def _tiny_stage1(tmp_path_factory, fake_splits):
    """(what train_tiny returned, the run folder) of the tiny ``reactdiff`` trained through
    stage 1 alone; read-only: use ``tiny_stage1_run``."""
    out = tmp_path_factory.mktemp("rd1") / "run"
    return train_tiny(out, splits=fake_splits, stage="1"), out


@pytest.fixture
def tiny_stage1_run(_tiny_stage1, tmp_path):
    """(what train_tiny(stage="1") returned, a private copy of its run folder
    ``tmp_path / "run"``: checkpoint.pt, stage1_best.pt, loss.csv, loss.png)."""
    returned, src = _tiny_stage1
    return returned, Path(shutil.copytree(src, tmp_path / "run"))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded (CI runs two test workers on two cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
