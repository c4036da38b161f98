"""Where the time of one online window goes (CUDA kernels, torch.profiler), at batch 1.

Runs ``Sampler.online`` eagerly (streaming "dynamic") over the first windows of a clip of random
speaker streams, then profiles one further window and prints the CUDA kernels by total time.

    python benchmarks/reactdiff_online_profile.py --preset paper [--alpha 1] [--bf16]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.reactdiff.config import preset_config  # noqa: E402
from models.reactdiff.network import ReactDiffNet  # noqa: E402
from models.reactdiff.sample import Sampler  # noqa: E402

WIDTHS = {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "logmel": 64, "mfcc": 26}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="paper", choices=("paper", "small"))
    ap.add_argument("--alpha", type=int, default=1)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--rows", type=int, default=25, help="kernels to print")
    a = ap.parse_args()
    net = ReactDiffNet(preset_config(a.preset).model, WIDTHS).eval()
    sampler = Sampler(net, "cuda")
    rng = np.random.default_rng(0)
    spk = {k: rng.standard_normal((1, 200, w), dtype=np.float32) for k, w in WIDTHS.items()}

    def window(start: int) -> None:
        with torch.autocast("cuda", torch.bfloat16, enabled=a.bf16, cache_enabled=False):
            sampler.online({k: v[:, :start + 50] for k, v in spk.items()}, [0], a.alpha, 0, start)

    for start in (0, 50, 100):
        window(start)
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        window(150)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=a.rows,
                                    max_name_column_width=60))


if __name__ == "__main__":
    main()
