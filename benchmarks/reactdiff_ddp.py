"""ReactDiff DDP training throughput on 1..G GPUs (paper preset, bf16), under torchrun.

    torchrun --standalone --nproc_per_node=G benchmarks/reactdiff_ddp.py \
        --out benchmarks/results/reactdiff_train_ddp_<device>.json [--baseline FILE_G1.json]

Every process trains on its own random batch of ``--per-gpu`` clips (the global batch grows
with G, as with a DistributedSampler), DDP averages the gradients; rank 0 reports the global
throughput (clips/s) per stage and, given the 1-GPU result file, the scaling efficiency
throughput_G / (G * throughput_1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reactbench.reactdiff.config import preset_config  # noqa: E402
from reactbench.reactdiff.dataset import StageLoss  # noqa: E402
from reactbench.reactdiff.network import ReactDiffNet  # noqa: E402
from reactdiff_gpu import WIDTHS, batch  # noqa: E402


def run_stage(cfg, stage, per_gpu, steps, rank, world):
    net = ReactDiffNet(cfg.model, WIDTHS).cuda()
    net.set_stage(stage)
    model = StageLoss(net, stage, cfg)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank])
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    bt = batch(cfg, per_gpu, 750, "cuda")

    def step():
        with torch.autocast("cuda", torch.bfloat16):
            loss, _ = model(bt, False)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    if world > 1:
        dist.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    if world > 1:
        dist.barrier()
    dt = time.perf_counter() - t0
    return {"stage": stage, "clips_per_s": round(per_gpu * world * steps / dt, 2),
            "step_ms": round(1000 * dt / steps, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-gpu", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--baseline", default=None, help="the 1-GPU result file")
    a = ap.parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(rank)
    if world > 1:
        dist.init_process_group("nccl")
    cfg = preset_config("paper")
    res = {"device": torch.cuda.get_device_name(), "gpus": world, "torch": torch.__version__,
           "per_gpu_batch": a.per_gpu, "precision": "bf16", "stages": []}
    for stage in (1, 2):
        res["stages"].append(run_stage(cfg, stage, a.per_gpu, a.steps, rank, world))
    if a.baseline and Path(a.baseline).is_file():
        base = {s["stage"]: s["clips_per_s"] for s in json.loads(Path(a.baseline).read_text())
                ["stages"]}
        for s in res["stages"]:
            s["scaling_efficiency"] = round(s["clips_per_s"] / (world * base[s["stage"]]), 3)
    if rank == 0:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1))
        print(json.dumps(res))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
