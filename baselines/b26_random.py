"""B_Random (REACT2026 naive baselines): random reactions shaped like real data.

Per sample, in sample order, from one torch CPU generator seeded with the run's seed right
before the first sample: AUs ``torch.randint(0, 2)`` as float (columns 0-14); valence and
arousal from N(0, 0.5^2) truncated to [-1, 1] by whole-tensor rejection (a fresh normal tensor
of the full shape is drawn while any value lies outside, and replaces only those values);
expression probabilities ``torch.rand`` divided by their row sum. Each sample's tensor is
(alpha, T_k, 25).

Deviation (labelled): the challenge's script draws from the global generator after building its
post-processor, whose initialisation consumes draws; here the generator is seeded right before
B_Random, so ``--seed 1234`` gives the stream of a fresh ``torch.manual_seed(1234)``.
"""

from __future__ import annotations

import numpy as np

from reactbench.constants import N_AU, N_FE, N_VA
from reactbench.models import ModelInfo

from ._common import SampleBaseline

VA_STD = 0.5


def random_sample(shape: tuple[int, int], generator) -> np.ndarray:
    """One sample's (alpha, T, 25) float32 reactions from ``generator`` (a torch.Generator):
    AU, then the VA rejection loop, then FE."""
    import torch  # the baseline draws from torch's generator; only it needs torch

    alpha, t = shape
    au = torch.randint(0, 2, (alpha, t, N_AU), generator=generator).float()
    va = torch.randn((alpha, t, N_VA), generator=generator) * VA_STD
    bad = (va < -1) | (va > 1)
    while bool(bad.any()):
        fresh = torch.randn((alpha, t, N_VA), generator=generator) * VA_STD
        va = torch.where(bad, fresh, va)
        bad = (va < -1) | (va > 1)
    fe = torch.rand((alpha, t, N_FE), generator=generator)
    fe = fe / fe.sum(dim=-1, keepdim=True)
    return torch.cat([au, va, fe], dim=-1).numpy().astype(np.float32)


class BRandom2026(SampleBaseline):
    info = ModelInfo(name="b26_random", version="1",
                     citation="REACT2026 naive baselines (B_Random)", display="B_Random",
                     table_order=1)

    def generate_samples(self, data, targets: list[np.ndarray], *, alpha: int,
                         seed: int) -> list[np.ndarray]:
        import torch  # the baseline draws from torch's generator; only it needs torch

        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed))
        return [random_sample((alpha, int(n)), gen) for n in data.lengths]
