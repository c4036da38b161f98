"""Two-stage ReactDiff training (stage 1: MMT autoencoder; stage 2: frozen MMT + latent DDIM).

Single process or DDP under torchrun (one process per GPU, or several CPU processes with gloo):
``DistributedSampler`` shards every epoch, DDP averages the gradients, rank 0 alone writes
checkpoints, logs and plots. ``TrainConfig.batch_size`` is the GLOBAL batch (split evenly over the
processes), and every random draw (crop, diffusion step, noise, LRS Gumbel noise) is a function of
(seed, stage, epoch, sample index) and the online/offline choice a function of (seed, stage, epoch,
step), so G processes follow the same trajectory as one process up to floating-point rounding.

Per stage: AdamW (betas 0.9/0.999, weight decay 5e-4), linear warm-up then cosine decay, gradient
clipping, EMA of the weights (with warm-up), validation on the VAL split only every ``val_every``
epochs (EMA weights), bf16 autocast on CUDA. Outputs in ``out``: ``checkpoint.pt`` (resumable,
written atomically at every validation, so an interruption loses at most one validation
period), ``stage1_best.pt`` / ``stage2_best.pt`` (best EMA weights by validation loss),
``model.pt`` (the generation file), ``loss.csv`` (every save) and ``loss.png`` (drawn at the end
of each stage).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from reactbench.errors import ModelError, param

from . import checkpoint as ck
from .clip_data import (
    ClipArrays,
    all_frames,
    clip_arrays,
    clip_widths,
    crop_loaders,
    is_clip_split,
)
from .config import ReactDiffConfig
from .dataset import ClipDataset, StageLoss, sample_rng, split_arrays, to_device
from .diffusion import to_windows
from .distributed import DistInfo, init_distributed, resolve_device
from .network import ReactDiffNet
from .resume import STAGE1_FIELDS, STAGE1_PREFIXES, check_stage1_from, resume_differences
from .streams import stream_widths
from .trainlog import write_log

# ---- distributed ---------------------------------------------------------------------------


class Trainer:
    """Holds network, EMA copy, optimiser and log for one output folder."""

    def __init__(self, cfg: ReactDiffConfig, widths: dict, *, device: str = "cpu", seed: int = 0,
                 out: str | Path | None = None, precision: str = "auto",
                 compile: bool = False, dist_info: DistInfo | None = None,
                 progress: bool = True, identities: dict | None = None):
        self.cfg, self.widths, self.seed = cfg, dict(widths), seed
        self.device = resolve_device(device)
        self.dist = dist_info or DistInfo()
        self.out = Path(out) if out is not None else None
        self.amp = (precision == "bf16") or (precision == "auto" and self.device == "cuda")
        self.compile = compile
        self.progress = progress and self.dist.main
        self.identities = identities or {}
        torch.manual_seed(seed)
        self.net = ReactDiffNet(cfg.model, widths).to(self.device)
        self.ema = copy.deepcopy(self.net).requires_grad_(False).eval()
        self.stages_done: list[int] = []
        self.stage1_from: str | None = None  # model file stage 1 was taken from
        self.state = {"stage": 1, "epoch": 0, "step": 0, "best_val": math.inf}
        self.log: list[dict] = []
        self.opt = None
        self.sched = None

    # -- statistics ------------------------------------------------------------------------
    @torch.no_grad()
    def fit_input_statistics(self, arrays: dict | ClipArrays) -> None:
        if isinstance(arrays, ClipArrays):  # variable-length clips: over all their frames
            for name, norm in self.net.stream_norm.items():
                norm.fit(torch.from_numpy(all_frames(arrays, name)).to(self.device))
            self.net.target_norm.fit(
                torch.from_numpy(all_frames(arrays, "3dmm_target")).to(self.device))
            return
        for name, norm in self.net.stream_norm.items():
            norm.fit(torch.from_numpy(arrays["listener"][name]).to(self.device))
        self.net.target_norm.fit(torch.from_numpy(arrays["listener_3dmm"]).to(self.device))

    @torch.no_grad()
    def fit_latent_statistics(self, arrays: dict, batch: int = 16) -> None:
        """Min-max statistics of the training listener latents (offline and online modes)."""
        net = self.net.eval()
        windows = []
        clips = isinstance(arrays, ClipArrays)  # variable-length clips: one at a time
        n = arrays.n if clips else arrays["listener_emotion"].shape[0]
        for causal in (False, True):
            for i in range(0, n, 1 if clips else batch):
                streams = {k: torch.from_numpy(v[i][None] if clips else v[i:i + batch])
                           .to(self.device) for k, v in
                           (arrays.listener if clips else arrays["listener"]).items()}
                z = net.encode(streams, causal)
                w, _ = to_windows(z.float(), self.cfg.model.window)
                windows.append(w.reshape(-1, *w.shape[2:]))
        net.latent_norm.fit(torch.cat(windows))
        net.train()

    # -- optimisation ----------------------------------------------------------------------
    def _setup_stage(self, stage: int, steps_total: int) -> None:
        t = self.cfg.train
        self.net.set_stage(stage)
        params = [p for p in self.net.parameters() if p.requires_grad]
        fused = {"fused": True} if self.device == "cuda" else {"foreach": True}
        self.opt = torch.optim.AdamW(params, lr=t.lr1 if stage == 1 else t.lr2, betas=t.betas,
                                     weight_decay=t.weight_decay, **fused)
        # EMA pairs of the trained parameters (frozen ones and buffers are copied per stage)
        self._ema_pairs = [(pe, p) for pe, p in zip(self.ema.parameters(), self.net.parameters())
                           if p.requires_grad]
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.net.parameters()):
                if not p.requires_grad:
                    pe.copy_(p)
            for be, b in zip(self.ema.buffers(), self.net.buffers()):
                be.copy_(b)
        warm = max(1, min(t.warmup_steps, steps_total // 4))

        def lr_lambda(step):
            if step < warm:
                return (step + 1) / warm
            frac = (step - warm) / max(1, steps_total - warm)
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))

        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_lambda)
        self.model = StageLoss(self.net, stage, self.cfg)
        if self.dist.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.dist.local_rank] if self.device == "cuda" else None,
                find_unused_parameters=stage == 1 and t.modality_dropout > 0)
        if self.compile:
            self.model = torch.compile(self.model)

    @torch.no_grad()
    def _ema_update(self) -> None:
        step = self.state["step"]
        decay = min(self.cfg.train.ema, (1 + step) / (10 + step))
        if self._ema_pairs:
            ema, cur = zip(*self._ema_pairs)
            torch._foreach_lerp_(list(ema), [p.detach() for p in cur], 1 - decay)

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp and
                              self.device == "cuda")

    def causal_for(self, stage: int, epoch: int, step: int) -> bool:
        draw = sample_rng(self.seed, stage, epoch, step, 7).random()
        return bool(draw < self.cfg.train.causal_prob)

    def dropped_for(self, stage: int, epoch: int, step: int) -> str | None:
        """Stage-1 modality dropout: the video group is left out of this step's encoder with
        probability ``modality_dropout`` (only when the model has both groups), so the latent
        also has to carry what the audio says about the reaction."""
        p = self.cfg.train.modality_dropout
        if stage != 1 or p <= 0 or len(self.cfg.model.groups_used()) < 2 \
                or self.cfg.model.fusion != "cross":
            return None
        return "video" if sample_rng(self.seed, stage, epoch, step, 11).random() < p else None

    def train_step(self, batch: dict, causal: bool, drop: str | None = None) -> float:
        self.net.train()
        with self._autocast():
            loss, _ = self.model(batch, causal, drop)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.train.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in self.net.parameters() if p.requires_grad],
                                           self.cfg.train.grad_clip)
        self.opt.step()
        self.sched.step()
        self.state["step"] += 1
        self._ema_update()
        return float(loss.detach())

    @torch.no_grad()
    def validate(self, stage: int, loader) -> float:
        total = torch.zeros(2, dtype=torch.float64, device=self.device)
        for j, batch in enumerate(loader):
            batch = to_device(batch, self.device)
            with self._autocast():
                loss, _ = StageLoss(self.ema, stage, self.cfg)(batch, bool(j % 2))
            total += torch.tensor([float(loss) * len(batch["listener_emotion"]),
                                   len(batch["listener_emotion"])], device=self.device,
                                  dtype=torch.float64)
        if self.dist.world > 1:
            dist.all_reduce(total)
        return float(total[0] / total[1].clamp_min(1))

    def _loaders(self, stage, train_arrays, val_arrays):
        t = self.cfg.train
        if isinstance(train_arrays, ClipArrays):  # crops of variable-length clips
            return crop_loaders(self.cfg, stage, self.seed, train_arrays, val_arrays,
                                self.dist.rank, self.dist.world)
        tr = ClipDataset(train_arrays, self.cfg, stage, self.seed, train=True)
        if t.batch_size % self.dist.world:
            raise ModelError(f"batch size {t.batch_size} (global) is not divisible by the "
                             f"{self.dist.world} processes")
        batch = min(t.batch_size, len(tr) // self.dist.world * self.dist.world)
        per_rank = max(1, batch // self.dist.world)
        sampler = DistributedSampler(tr, num_replicas=self.dist.world, rank=self.dist.rank,
                                     shuffle=True, seed=self.seed, drop_last=True)
        train_loader = DataLoader(tr, batch_size=per_rank, sampler=sampler, drop_last=True,
                                  num_workers=t.num_workers,
                                  pin_memory=self.device == "cuda")
        val_loader = None
        if val_arrays is not None:
            va = ClipDataset(val_arrays, self.cfg, stage, self.seed, train=False)
            vs = DistributedSampler(va, num_replicas=self.dist.world, rank=self.dist.rank,
                                    shuffle=False, drop_last=False)
            val_loader = DataLoader(va, batch_size=per_rank, sampler=vs,
                                    num_workers=t.num_workers)
        return tr, sampler, train_loader, val_loader

    def run_stage(self, stage: int, train_arrays: dict, val_arrays: dict | None,
                  epochs: int | None = None, max_steps: int | None = None) -> None:
        """Train one stage from ``self.state`` (resumes mid-stage)."""
        t = self.cfg.train
        epochs = epochs if epochs is not None else (t.epochs1 if stage == 1 else t.epochs2)
        if self.state["stage"] != stage:
            self.state.update(stage=stage, epoch=0, step=0, best_val=math.inf)
        if self.state["epoch"] == 0:  # a stage's start (not a resume): fit its statistics
            if stage == 1:
                self.fit_input_statistics(train_arrays)
            else:
                self.fit_latent_statistics(train_arrays)
            self.ema.load_state_dict(self.net.state_dict())
        tr, sampler, loader, val_loader = self._loaders(stage, train_arrays, val_arrays)
        steps_total = max(1, len(loader) * epochs)
        resume_opt = getattr(self, "_pending_opt", None)
        self._setup_stage(stage, steps_total)
        if resume_opt is not None and resume_opt.get("stage") == stage:
            self.opt.load_state_dict(resume_opt["optimizer"])
            self.sched.load_state_dict(resume_opt["scheduler"])
        self._pending_opt = None
        bar = None
        if self.progress:
            bar = tqdm(total=epochs, initial=self.state["epoch"], desc=f"stage {stage}",
                       unit="epoch", dynamic_ncols=True,
                       disable=None)  # no bar when stderr is not a terminal
        steps_done = 0
        while self.state["epoch"] < epochs:
            epoch = self.state["epoch"]
            sampler.set_epoch(epoch)
            tr.epoch = epoch
            t0, losses = time.perf_counter(), []
            for j, batch in enumerate(loader):
                batch = to_device(batch, self.device)
                losses.append(self.train_step(batch, self.causal_for(stage, epoch, j),
                                              self.dropped_for(stage, epoch, j)))
                steps_done += 1
                if max_steps is not None and steps_done >= max_steps:
                    break
            train_loss = float(np.mean(losses)) if losses else float("nan")
            if self.dist.world > 1:
                tl = torch.tensor([train_loss], device=self.device, dtype=torch.float64)
                dist.all_reduce(tl)
                train_loss = float(tl) / self.dist.world
            if losses and not math.isfinite(train_loss):
                raise ModelError(
                    f"stage {stage}, epoch {epoch + 1}: the training loss is {train_loss} "
                    "(diverged, or non-finite input features); nothing of this epoch was saved. "
                    f"Check the inputs, or lower the learning rate ({param('config')}), then "
                    f"{param('resume')} from the last checkpoint")
            self.state["epoch"] = epoch + 1
            last = self.state["epoch"] >= epochs or (max_steps is not None
                                                     and steps_done >= max_steps)
            val = None
            if val_loader is not None and (self.state["epoch"] % t.val_every == 0 or last):
                val = self.validate(stage, val_loader)
            self.log.append({"stage": stage, "epoch": epoch + 1, "step": self.state["step"],
                             "train_loss": train_loss, "val_loss": val,
                             "lr": self.sched.get_last_lr()[0],
                             "seconds": time.perf_counter() - t0})
            if val is not None:
                if val < self.state["best_val"]:
                    self.state["best_val"] = val
                    self._save_best(stage)
                self.save()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{train_loss:.4f}",
                                val=f"{val:.4f}" if val is not None else "-")
            if last:
                break
        if bar is not None:
            bar.close()
        self._finish_stage(stage, val_loader is not None)

    def _save_best(self, stage: int) -> None:
        if self.out is not None and self.dist.main:
            ck.export_model(self._ckpt_dict(with_opt=False), self.out / f"stage{stage}_best.pt")

    def _finish_stage(self, stage: int, had_val: bool) -> None:
        """The stage's best EMA weights become the model (stage 2 starts from them)."""
        best = self.out / f"stage{stage}_best.pt" if self.out is not None else None
        if self.dist.world > 1:
            dist.barrier()
        if had_val and best is not None and best.exists():
            state = ck.load_file(best, self.device)["model"]
            self.ema.load_state_dict(state)
        self.net.load_state_dict(self.ema.state_dict())
        if stage not in self.stages_done:
            self.stages_done.append(stage)
        self.save(plot=True)

    # -- checkpoints -----------------------------------------------------------------------
    def _ckpt_dict(self, with_opt: bool = True) -> dict:
        d = ck.metadata(self.cfg, self.widths, self.identities)
        d.update({"ema": self.ema.state_dict(), "stages_done": list(self.stages_done),
                  "summary": {"log": self.log[-1] if self.log else None,
                              "best_val": self.state["best_val"],
                              "stage1_from": self.stage1_from}})
        if with_opt:
            d.update({"model": self.net.state_dict(), "state": dict(self.state),
                      "log": list(self.log), "seed": self.seed,
                      "optimizer": None if self.opt is None else self.opt.state_dict(),
                      "scheduler": None if self.sched is None else self.sched.state_dict()})
        return d

    def save(self, plot: bool = False) -> None:
        """checkpoint.pt and loss.csv; loss.png too if ``plot`` (at the end of a stage)."""
        if self.out is None or not self.dist.main:
            return
        ck.atomic_save(self._ckpt_dict(), self.out / "checkpoint.pt")
        write_log(self.log, self.out, plot=plot)

    def export(self, half: bool = False) -> Path | None:
        if self.out is None or not self.dist.main:
            return None
        return ck.export_model(self._ckpt_dict(with_opt=False), self.out / "model.pt", half=half)

    def load(self, path: str | Path) -> None:
        """Resume from a training checkpoint of the same run: the same config, stream widths
        and data (ModelError naming every difference otherwise)."""
        d = ck.load_file(path, self.device, what="the training checkpoint",
                         remedy=f"; remove it to start over, or choose another {param('out')}")
        if not isinstance(d, dict) or d.get("format") != ck.FORMAT or "model" not in d \
                or "state" not in d:
            raise ModelError(f"{path} is not a resumable ReactDiff training checkpoint")
        diffs = resume_differences(d, self.cfg, self.widths, self.identities)
        if diffs:
            raise ModelError(
                f"{path} belongs to another run, so it cannot be resumed with these settings: "
                + "; ".join(diffs) + ". Resume with the run's own settings (same "
                + ", ".join(param(name) for name in ("model", "preset", "config", "epochs", "data"))
                + f"), or choose another {param('out')}")
        self.net.load_state_dict(d["model"])
        self.ema.load_state_dict(d["ema"])
        self.state.update(d["state"])
        self.log = list(d.get("log", []))
        self.stages_done = list(d.get("stages_done", []))
        self.stage1_from = (d.get("summary") or {}).get("stage1_from")
        if d.get("optimizer") is not None:
            self._pending_opt = {"stage": self.state["stage"], "optimizer": d["optimizer"],
                                 "scheduler": d["scheduler"]}
        self.opt = None


# config fields used only after training (calibrate.py), so a run may resume with others


def adopt_stage1(trainer: Trainer, source: str | Path | dict, stage: str = "2") -> None:
    """Load the stage-1 modules of model file ``source`` (its path, or the dict
    :func:`check_stage1_from` returned for it, so the file is not read twice) into ``trainer``
    (net and EMA) and mark stage 1 done (``stage``: the run's stage, checked by
    :func:`check_stage1_from`)."""
    if isinstance(source, dict):
        src, path = source, source["path"]
    else:
        src, path = check_stage1_from(stage, source), source
    theirs, ours = src["config"]["model"], trainer.cfg.to_dict()["model"]
    diff = [f for f in STAGE1_FIELDS if theirs.get(f) != ours.get(f)]
    if diff or dict(src["widths"]) != dict(trainer.widths):
        what = diff or ["stream widths"]
        raise ModelError(f"{path}: its stage-1 architecture differs from this run's in {what}; "
                         "use a model trained with the same preset/stream settings")
    state = {k: v.float() if v.is_floating_point() else v
             for k, v in ck.dequantise(src["model"]).items() if k.startswith(STAGE1_PREFIXES)}
    for module in (trainer.net, trainer.ema):
        own = module.state_dict()
        own.update({k: v.to(own[k].device) for k, v in state.items()})
        module.load_state_dict(own)
    trainer.stages_done = [1]
    trainer.state.update(stage=1, epoch=0, step=0)
    trainer.stage1_from = str(path)


def train_reactdiff(cfg: ReactDiffConfig, train_split, val_split, *, out: str | Path,
                    stage: str = "all", device: str = "cpu", seed: int = 0, resume: bool = False,
                    precision: str = "auto", compile: bool = False, progress: bool = True,
                    identities: dict | None = None, half_export: bool = False,
                    max_steps: int | None = None,
                    stage1_from: str | Path | dict | None = None) -> Path | None:
    """Train stage 1, 2 or both into ``out``; returns the path of ``model.pt`` (rank 0).

    ``stage1_from``: a model file (its path, or its dict as :func:`check_stage1_from` read
    it) whose trained MMT (encoder, decoder, input and target statistics) becomes this run's
    stage 1, so only stage 2 is trained (stage-2 ablations against one fixed autoencoder);
    its stage-1 architecture must equal this config's."""
    device = resolve_device(device)
    info = init_distributed(device)
    out = Path(out)
    clips = is_clip_split(train_split)  # a MARS ClipSplit: crops of variable-length clips
    arrays = clip_arrays if clips else split_arrays
    train_arrays = arrays(train_split, cfg)
    val_arrays = arrays(val_split, cfg) if val_split is not None else None
    widths = (clip_widths(cfg.model.streams, train_arrays) if clips
              else stream_widths(cfg.model.streams, train_arrays["listener"]))
    for s in cfg.model.streams:
        s.width = widths[s.name]
    trainer = Trainer(cfg, widths, device=device, seed=seed, out=out, precision=precision,
                      compile=compile, dist_info=info, progress=progress, identities=identities)
    ckpt_path = out / "checkpoint.pt"
    stages = {"1": [1], "2": [2], "all": [1, 2]}[stage]
    if ckpt_path.exists():
        trainer.load(ckpt_path)
        starting_stage2 = stages == [2] and trainer.stages_done == [1] \
            and trainer.state["stage"] == 1
        if not resume and not starting_stage2:
            raise ModelError(f"{ckpt_path} exists: pass {param('resume')} to continue that run, "
                             f"or choose another {param('out')}")
    if stage1_from is not None and not ckpt_path.exists():
        adopt_stage1(trainer, stage1_from, stage)
    if stages == [2] and 1 not in trainer.stages_done:
        raise ModelError(f"stage 2 needs a finished stage 1 in {out}: run "
                         f"`reactbench train --model {cfg.variant} --stage 1 --out {out}` first")
    for s in stages:
        if s not in trainer.stages_done:
            trainer.run_stage(s, train_arrays, val_arrays, max_steps=max_steps)
    path = trainer.export(half=half_export) if 2 in trainer.stages_done else None
    if info.world > 1:
        dist.barrier()
    return path
