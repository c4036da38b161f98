"""Variable-length training data (MARS layout, REACT2025/2026): per-clip streams, crops that
cover every clip, and batches of equal-length crops.

A :class:`reactbench.data.mars.ClipSplit` holds one array per clip instead of one (N, T, D)
array. :func:`clip_arrays` turns it into :class:`ClipArrays` (per clip: the input streams of
speaker and listener, the listener's 25 attributes and 58 coefficients as targets). Crops:

- the crop length C is ``train.crop`` (stage 2: ``train.crop2`` when >= 0), a multiple of the
  window ws; C = 0 means whole clips;
- a clip of T >= C frames gives ceil(T / C) crops of C frames per epoch. They tile the clip
  from a random phase and are moved back inside it at its end, so in every epoch they cover
  every frame of the clip (neighbouring crops overlap by the phase);
- a clip of ws <= T < C frames (or any clip when C = 0) gives one crop of its whole windows,
  floor(T / ws) * ws frames, at a random start (the fewer than ws frames left out change from
  epoch to epoch);
- a clip shorter than one window gives no crop. It is counted (:attr:`CropPlan.skipped`) and
  the count is logged; nothing is left out silently.

A batch holds crops of one length (one length group is shuffled and cut into batches of at
most ``batch_size``; the batch order is shuffled), so no frame is padded. Every crop is a
sequence of its own: frame positions restart at 0 in each crop, as in the protocol's chunks and
windows. Every random draw is a function of (seed, stage, epoch, clip, crop start).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from reactbench.errors import ModelError

from .config import ReactDiffConfig, StreamSpec
from .streams import person_streams

VAL_EPOCH = 10**6  # the epoch key of validation crops (fixed: the same crops every time)


@dataclass
class ClipArrays:
    """Per-clip training arrays of N samples (sample k has T_k frames).

    speaker, listener: stream name -> N arrays (T_k, width) float32; listener_emotion: N arrays
    (T_k, 25); listener_3dmm: N arrays (T_k, 58); ids: (N,) input clip ids; lengths: (N,)."""

    speaker: dict[str, list[np.ndarray]]
    listener: dict[str, list[np.ndarray]]
    listener_emotion: list[np.ndarray]
    listener_3dmm: list[np.ndarray]
    ids: list[str]
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.ids)


def is_clip_split(split) -> bool:
    """Whether ``split`` holds variable-length clips (a ClipSplit) rather than (N, T, D) rows."""
    return isinstance(getattr(split, "speaker_emotion", None), list)


def _person(specs: list[StreamSpec], split, k: int, who: str) -> dict[str, np.ndarray]:
    emo = getattr(split, f"{who}_emotion")[k]
    faces = getattr(split, f"{who}_3dmm")
    cid = split.sample_ids[k] if who == "speaker" else split.listener_ids[k]
    if not faces:
        raise ModelError(f"clip {cid}: the split was loaded without its coefficients; ReactDiff "
                         "trains on the listener's 58 coefficients (load it with "
                         "coefficients=True)")
    audio = {name: arrs[k][None] for name, arrs in getattr(split, f"{who}_audio").items()}
    streams = person_streams(specs, emo[None], faces[k][None], audio, [cid],
                             getattr(split, "root", None), who)
    out = {}
    for name, arr in streams.items():
        if arr.shape[1] != len(emo):
            raise ModelError(f"clip {cid}: stream {name!r} has {arr.shape[1]} frames; expected "
                             f"{len(emo)}, the clip's facial attributes")
        out[name] = arr[0]
    return out


def clip_arrays(split, cfg: ReactDiffConfig) -> ClipArrays:
    """The training arrays of a ClipSplit (see the module doc); ModelError naming the clip when
    a configured stream is missing or has another length or width."""
    specs = cfg.model.streams
    per = {"speaker": [], "listener": []}
    for k in range(split.n):
        for who in per:
            per[who].append(_person(specs, split, k, who))
    names = [s.name for s in specs]
    return ClipArrays(
        speaker={n: [p[n] for p in per["speaker"]] for n in names},
        listener={n: [p[n] for p in per["listener"]] for n in names},
        listener_emotion=[np.asarray(x, dtype=np.float32) for x in split.listener_emotion],
        listener_3dmm=[np.asarray(x, dtype=np.float32) for x in split.listener_3dmm],
        ids=list(split.sample_ids), lengths=np.asarray(split.lengths, dtype=np.int64))


def clip_widths(specs: list[StreamSpec], arrays: ClipArrays) -> dict[str, int]:
    """Stream name -> width, read from the first clip."""
    return {s.name: int(arrays.listener[s.name][0].shape[-1]) for s in specs}


def all_frames(arrays: ClipArrays, name: str) -> np.ndarray:
    """(sum T_k, width): the listener stream ``name`` of every clip (``"3dmm_target"``: the
    58 target coefficients), for the input statistics."""
    items = arrays.listener_3dmm if name == "3dmm_target" else arrays.listener[name]
    return np.concatenate(items, axis=0)


# ----------------------------------------------------------------------------- crops
def crop_rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0x7FFFFFFF for k in key])


@dataclass(frozen=True)
class Crop:
    """Frames [start, start + size) of sample ``clip``."""

    clip: int
    start: int
    size: int


@dataclass
class CropPlan:
    """The crops of one epoch (:func:`plan_crops`) and the clips too short for any crop."""

    crops: list[Crop]
    skipped: list[int]


def crop_length(length: int, crop: int, window: int) -> int:
    """Frames of each crop of a clip of ``length`` frames: ``crop`` when the clip holds it,
    else its whole windows (0: shorter than one window)."""
    if crop and length >= crop:
        return crop
    return length // window * window


def plan_crops(lengths, crop: int, window: int, rng: np.random.Generator) -> CropPlan:
    """The crops of one epoch over clips of ``lengths`` frames (rule: module doc)."""
    if window < 1 or crop < 0 or crop % window:
        raise ModelError(f"training crop {crop} with window {window}: expected a window >= 1 "
                         "and a crop that is 0 or a multiple of the window")
    crops, skipped = [], []
    for k, t in enumerate(int(x) for x in lengths):
        size = crop_length(t, crop, window)
        if size == 0:
            skipped.append(k)
            continue
        if size < t and size == crop:
            n = math.ceil(t / size)
            phase = int(rng.integers(0, n * size - t + 1))
            starts = [min(max(j * size - phase, 0), t - size) for j in range(n)]
        else:
            starts = [int(rng.integers(0, t - size + 1))]
        crops += [Crop(k, s, size) for s in starts]
    return CropPlan(crops, skipped)


def length_batches(crops: list[Crop], batch: int, rng: np.random.Generator) -> list[list[Crop]]:
    """Crops grouped by length, each group shuffled and cut into batches of at most ``batch``
    crops, in a shuffled order."""
    groups: dict[int, list[Crop]] = {}
    for c in crops:
        groups.setdefault(c.size, []).append(c)
    out = []
    for size in sorted(groups):
        g = groups[size]
        order = rng.permutation(len(g))
        g = [g[i] for i in order]
        out += [g[i:i + batch] for i in range(0, len(g), batch)]
    return [out[i] for i in rng.permutation(len(out))]


class CropBatches:
    """Batch sampler of one process: the epoch's length batches (:func:`length_batches`), each
    cut into ``world`` parts of which this process takes part ``rank``; batches with fewer crops
    than processes are left out (counted in :attr:`dropped`)."""

    def __init__(self, lengths, crop: int, window: int, batch: int, seed: int, stage: int,
                 train: bool = True, rank: int = 0, world: int = 1):
        self.lengths, self.crop, self.window, self.batch = lengths, crop, window, batch
        self.seed, self.stage, self.train = seed, stage, train
        self.rank, self.world = rank, world
        self.epoch = 0
        self.plan = self._plan()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.plan = self._plan()

    def _key(self) -> int:
        return self.epoch if self.train else VAL_EPOCH

    def _plan(self) -> CropPlan:
        return plan_crops(self.lengths, self.crop, self.window,
                          crop_rng(self.seed, self.stage, self._key(), 1))

    def _batches(self) -> list[list[Crop]]:
        rng = crop_rng(self.seed, self.stage, self._key(), 2)
        return [b for b in length_batches(self.plan.crops, self.batch, rng)
                if len(b) >= self.world]

    @property
    def dropped(self) -> int:
        """Crops of this epoch in batches too small to give every process one."""
        return len(self.plan.crops) - sum(len(b) for b in self._batches())

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for b in self._batches():
            yield [(c.clip, c.start, c.size) for c in b[self.rank::self.world]]

    def __len__(self) -> int:
        return len(self._batches())


class ClipCropDataset(Dataset):
    """Training items of variable-length clips, indexed by (clip, start, size) triples (from
    :class:`CropBatches`); item keys as in :class:`.dataset.ClipDataset`, without offsets."""

    def __init__(self, arrays: ClipArrays, cfg: ReactDiffConfig, stage: int, seed: int,
                 train: bool = True):
        self.a, self.cfg, self.stage, self.seed, self.train = arrays, cfg, stage, seed, train
        self.epoch = 0

    def __len__(self) -> int:
        return self.a.n

    def __getitem__(self, index: tuple[int, int, int]) -> dict:
        k, start, size = index
        m, ws = self.cfg.model, self.cfg.model.window
        sl = slice(start, start + size)
        item = {"listener": {n: v[k][sl] for n, v in self.a.listener.items()},
                "listener_emotion": self.a.listener_emotion[k][sl],
                "listener_3dmm": self.a.listener_3dmm[k][sl]}
        if self.stage == 2:
            windows = size // ws
            rng = crop_rng(self.seed, self.stage, self.epoch if self.train else VAL_EPOCH, k,
                           start)
            item["speaker"] = {n: v[k][sl] for n, v in self.a.speaker.items()}
            item["t"] = rng.integers(0, m.diffusion_steps, windows)
            item["noise"] = rng.standard_normal((windows, ws, m.latent_dim), dtype=np.float32)
            item["gumbel"] = rng.gumbel(size=m.lrs_styles).astype(np.float32)
        return item


def stage_crop(cfg: ReactDiffConfig, stage: int) -> int:
    """The crop length of ``stage`` (0: whole clips)."""
    t = cfg.train
    return t.crop if stage == 1 or t.crop2 < 0 else t.crop2


def crop_loaders(cfg: ReactDiffConfig, stage: int, seed: int, train: ClipArrays,
                 val: ClipArrays | None, rank: int = 0, world: int = 1):
    """(dataset, batch sampler, train loader, val loader or None) over crops of clips, shaped
    like :meth:`.train.Trainer._loaders`' (the sampler has ``set_epoch``)."""
    crop, ws, batch = stage_crop(cfg, stage), cfg.model.window, cfg.train.batch_size
    ds = ClipCropDataset(train, cfg, stage, seed, train=True)
    sampler = CropBatches(train.lengths, crop, ws, batch, seed, stage, True, rank, world)
    if not len(sampler):
        raise ModelError(f"no training crop: the {train.n} training clips are all shorter than "
                         f"one window ({ws} frames)")
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler,
                                         num_workers=cfg.train.num_workers)
    val_loader = None
    if val is not None:
        vs = CropBatches(val.lengths, crop, ws, batch, seed, stage, False, rank, world)
        if len(vs):
            val_loader = torch.utils.data.DataLoader(
                ClipCropDataset(val, cfg, stage, seed, train=False), batch_sampler=vs,
                num_workers=cfg.train.num_workers)
    return ds, sampler, loader, val_loader


def describe_crops(lengths, ids: list[str], cfg: ReactDiffConfig, stage: int,
                   seed: int = 0) -> str:
    """One log line: crops per epoch of clips of ``lengths`` frames (``ids``: their names),
    the crop lengths, and the clips too short for a crop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    crop, ws = stage_crop(cfg, stage), cfg.model.window
    plan = plan_crops(lengths, crop, ws, crop_rng(seed, stage, 0, 1))
    sizes = sorted({c.size for c in plan.crops})
    text = (f"stage {stage}: {len(plan.crops)} crops per epoch from {len(lengths)} clips "
            f"({lengths.min()}-{lengths.max()} frames; crop "
            f"{crop or 'whole clips'}, window {ws}; crop lengths {sizes[0]}-{sizes[-1]})"
            if plan.crops else f"stage {stage}: no crops")
    if plan.skipped:
        names = ", ".join(ids[k] for k in plan.skipped[:3])
        more = "" if len(plan.skipped) <= 3 else f", ... ({len(plan.skipped) - 3} more)"
        text += (f"; {len(plan.skipped)} clip(s) shorter than one window ({ws} frames) "
                 f"not used: {names}{more}")
    return text
