"""Fixtures: a tiny ReactDiff trained once per session on random data (window 10, T = 40)."""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded (CI runs two test workers on two cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
