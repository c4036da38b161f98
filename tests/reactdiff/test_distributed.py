"""DDP on CPU (gloo, 2 processes) follows the same trajectory as one process."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from reactbench.reactdiff import checkpoint as ck

from .conftest import train_tiny
from .fakes import random_split


def _splits():
    """The session's ``fake_splits`` (conftest), built again in each DDP process."""
    return random_split(8, 40, 0, "train"), random_split(4, 40, 1, "val")


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        train_tiny(out, splits=_splits())
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available() or
                    not torch.distributed.is_gloo_available(), reason="needs gloo")
def test_two_gloo_processes_match_one_process(tmp_path, tiny_model):
    # one process: the session's tiny model, train_tiny on the same splits as the workers'
    one = tiny_model
    # forked from this process where the platform allows it: no second import of torch
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    mp.start_processes(_worker, args=(2, _free_port(), str(tmp_path / "two")), nprocs=2,
                       join=True, start_method=method)
    a = ck.read_checkpoint(one)["model"]
    b = ck.read_checkpoint(tmp_path / "two" / "model.pt")["model"]
    assert a.keys() == b.keys()
    # Adam turns fp rounding in (near-)zero gradients (e.g. attention key biases, whose exact
    # gradient is 0) into steps of up to ~lr: allow that on a tiny share of the weights only.
    diff = torch.cat([(a[k].float() - b[k].float()).abs().flatten() for k in a])
    assert diff.max() < 2e-3
    assert (diff > 1e-5).float().mean() < 0.01
    la = torch.load(one.parent / "checkpoint.pt", weights_only=False)["log"]
    lb = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=False)["log"]
    assert [r["step"] for r in la] == [r["step"] for r in lb]
    for ra, rb in zip(la, lb):
        assert ra["val_loss"] == pytest.approx(rb["val_loss"], rel=1e-4)
