"""Single-process or torchrun (DDP) set-up, and the device a run trains or generates on."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import distributed as dist

from reactbench.errors import ModelError, param
from reactbench.metrics.validate import is_cuda_device


@dataclass
class DistInfo:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> DistInfo:
    """Read torchrun's environment; init the process group (nccl on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    info = DistInfo(world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
    return info


def resolve_device(device: str, *, indexed: bool = False) -> str:
    """``device`` checked against this machine: "cpu" or "cuda" (training: DDP picks the GPU of
    each process); with ``indexed`` (generation) also "cuda:k" for an existing GPU k."""

    index = str(device).partition(":")[2] if indexed and is_cuda_device(device) else ""
    if device not in ("cpu", "cuda") and not index:
        allowed = "'cpu', 'cuda' or 'cuda:k'" if indexed else "'cpu' or 'cuda'"
        raise ModelError(f"device must be {allowed}, not {device!r}")
    if device != "cpu" and not torch.cuda.is_available():
        raise ModelError("CUDA was requested but no GPU is visible to PyTorch (torch "
                         f"{torch.__version__}, cuda available: False): use "
                         f"{param('device', 'cpu')}, or install a CUDA build of torch on a "
                         "machine with a GPU")
    if index and int(index) >= torch.cuda.device_count():
        raise ModelError(f"device {device!r}: this machine has {torch.cuda.device_count()} "
                         f"GPU(s), cuda:0..cuda:{torch.cuda.device_count() - 1}")
    return device


# ---- data ----------------------------------------------------------------------------------
