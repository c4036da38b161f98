"""Resuming training (models/reactdiff/resume.py): a run refuses another run's settings or data."""

from __future__ import annotations

import pytest

from reactbench.errors import ModelError

from .fakes import random_split, tiny_config


def test_resume_refuses_another_runs_settings_or_data(fake_splits, tiny_stage1_run):
    from reactbench.reactdiff.train import train_reactdiff

    returned, out = tiny_stage1_run  # train_tiny(out, stage="1")
    assert returned is None
    before = (out / "checkpoint.pt").read_bytes()
    cfg = tiny_config()
    cfg.train.epochs1 = 2
    train, val = fake_splits
    ids = {"train": train.identity, "val": val.identity}
    with pytest.raises(ModelError, match=r"belongs to another run.*train\.epochs1: run 1, "
                                         r"asked 2"):
        train_reactdiff(cfg, train, val, out=out, progress=False, identities=ids, resume=True)
    other = random_split(8, 40, 7, "train")
    with pytest.raises(ModelError, match="train data: run"):
        train_reactdiff(tiny_config(), other, val, out=out, progress=False, resume=True,
                        identities={"train": other.identity, "val": val.identity})
    assert (out / "checkpoint.pt").read_bytes() == before
