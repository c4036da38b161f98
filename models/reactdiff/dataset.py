"""Training data: a split's streams as arrays, random crops per (seed, stage, epoch, sample),
and the loss of one stage on a batch."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from .config import ReactDiffConfig
from .network import ReactDiffNet
from .streams import person_streams


def split_arrays(split, cfg: ReactDiffConfig) -> dict:
    """Per-row arrays for training from a SplitData: speaker/listener streams and targets."""
    specs = cfg.model.streams
    root = getattr(split, "root", None)
    return {
        "speaker": person_streams(specs, split.speaker_emotion, split.speaker_3dmm,
                                  split.speaker_audio, split.speaker_ids, root, "speaker"),
        "listener": person_streams(specs, split.listener_emotion, split.listener_3dmm,
                                   split.listener_audio, split.listener_ids, root, "listener"),
        "listener_emotion": np.asarray(split.listener_emotion, dtype=np.float32),
        "listener_3dmm": np.asarray(split.listener_3dmm, dtype=np.float32),
    }


def sample_rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0x7FFFFFFF for k in key])


class ClipDataset(Dataset):
    """Rows of a split; sample i of epoch e is a function of (seed, stage, e, i) only."""

    def __init__(self, arrays: dict, cfg: ReactDiffConfig, stage: int, seed: int,
                 train: bool = True):
        self.a, self.cfg, self.stage, self.seed, self.train = arrays, cfg, stage, seed, train
        self.n, self.frames = arrays["listener_emotion"].shape[:2]
        ws = cfg.model.window
        crop = cfg.train.crop if stage == 1 or cfg.train.crop2 < 0 else cfg.train.crop2
        self.crop = crop if 0 < crop < self.frames else self.frames
        self.windows = math.ceil(self.crop / ws)
        self.epoch = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        m, ws = self.cfg.model, self.cfg.model.window
        rng = sample_rng(self.seed, self.stage, self.epoch if self.train else 10**6, i)
        start = 0
        if self.crop < self.frames:
            start = int(rng.integers(0, (self.frames - self.crop) // ws + 1)) * ws
            start = min(start, self.frames - self.crop)
        sl = slice(start, start + self.crop)
        item = {"offset": start,
                "listener": {k: v[i, sl] for k, v in self.a["listener"].items()},
                "listener_emotion": self.a["listener_emotion"][i, sl],
                "listener_3dmm": self.a["listener_3dmm"][i, sl]}
        if self.stage == 2:
            item["speaker"] = {k: v[i, sl] for k, v in self.a["speaker"].items()}
            item["t"] = rng.integers(0, m.diffusion_steps, self.windows)
            item["noise"] = rng.standard_normal((self.windows, ws, m.latent_dim),
                                                dtype=np.float32)
            item["gumbel"] = rng.gumbel(size=m.lrs_styles).astype(np.float32)
        return item


def to_device(batch, device):
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch.to(device, non_blocking=True) if torch.is_tensor(batch) else batch


# ---- the trainer ---------------------------------------------------------------------------


class StageLoss(torch.nn.Module):
    """Wraps the network so DDP sees one forward that returns the stage's loss."""

    def __init__(self, net: ReactDiffNet, stage: int, cfg: ReactDiffConfig):
        super().__init__()
        self.net, self.stage, self.t = net, stage, cfg.train

    def forward(self, batch, causal: bool, drop: str | None = None):
        if self.stage == 1:
            return self.net.stage1_loss(batch, causal, self.t.w_3dmm, self.t.w_emotion, drop,
                                        self.t.w_au_bce)
        return self.net.stage2_loss(batch, causal, self.t.w_eps, self.t.w_lrs)
