"""The training job behind ``reactbench train``: dataset folder -> train/val splits -> training.

:func:`train_job` resolves the dataset (default: the embedded synthetic one), loads the TRAIN
split for fitting and the VAL split for validation (the test split is never read: the public
code's bug 3), records both dataset identities in the checkpoint, runs
:func:`reactbench.reactdiff.train.train_reactdiff` and then chooses the sampling temperature on val
(:mod:`reactbench.reactdiff.calibrate`; presets with ``train.temperatures``). Under ``torchrun``
every process runs this same function (the data layer's cache makes the repeated loading
cheap); only rank 0, which gets the model file, calibrates.
"""

from __future__ import annotations

from pathlib import Path

from reactbench.atomic import check_writable, nearest_existing
from reactbench.data import dataset_identity, load_split, resolve_data
from reactbench.data import mars_layout as ml
from reactbench.data.layout import split_csv_path
from reactbench.errors import DataError, ModelError, message_template, param

from .calibrate import calibrate
from .clip_data import describe_crops
from .clip_job import PROTOCOLS as CLIP_PROTOCOLS
from .clip_job import calibrate_clips, load_clip_training_splits
from .config import (
    VARIANTS,
    ReactDiffConfig,
    for_layout,
    load_config_file,
    merge_overrides,
    preset_config,
)
from .distributed import resolve_device
from .resume import check_stage1_from
from .train import train_reactdiff
from .trainlog import can_plot


def default_out(variant: str, preset: str, layout: str = "react2024") -> Path:
    """``runs/<variant>-<preset>``: where the plug-in looks for a variant's checkpoint
    (``runs/<variant>-<preset>-mars`` for MARS data)."""
    return Path("runs") / (f"{variant}-{preset}" + ("-mars" if layout == "mars" else ""))


TRAIN_PROTOCOLS = ("react2024", *CLIP_PROTOCOLS)


def layout_of(protocol: str) -> str:
    """The data layout a protocol's models train on: ``react2024`` or ``mars``."""
    if protocol not in TRAIN_PROTOCOLS:
        raise ModelError(f"{param('protocol', protocol)}: expected one of "
                         f"{', '.join(TRAIN_PROTOCOLS)}")
    return "react2024" if protocol == "react2024" else "mars"


def build_config(model: str = "reactdiff", preset: str = "small", config: str | None = None,
                 epochs: int | None = None, layout: str = "react2024") -> ReactDiffConfig:
    """The preset for ``model`` (a ReactDiff variant name) on data of ``layout``
    (:func:`.config.for_layout`), with a JSON override file and an epoch count (both stages)
    applied."""
    if model not in VARIANTS:
        raise ModelError(f"`reactbench train` trains the ReactDiff models {list(VARIANTS)}, not "
                         f"{model!r} (baselines need no training)")
    cfg = for_layout(preset_config(preset, model), layout)
    if config:
        cfg = merge_overrides(cfg, load_config_file(config))
    if epochs is not None:
        if epochs < 1:
            raise ModelError(f"{param('epochs')} must be >= 1 (got {epochs})")
        cfg.train.epochs1 = cfg.train.epochs2 = int(epochs)
    return cfg


def load_training_splits(cfg: ReactDiffConfig, data=None, frames: int | None = 750,
                         progress: bool = True):
    """(root, train SplitData, val SplitData or None, identities) for training."""

    root = Path(resolve_data(data))
    audio = any(s.group == "audio" and s.source.startswith("audio:") for s in cfg.model.streams)
    splits = {}
    for name in ("train", "val"):
        if name == "val" and not split_csv_path(root, "val").is_file():
            splits[name] = None
            continue
        try:
            # val with its neighbour matrix (when the dataset has one): calibrate.py scores on it
            splits[name] = load_split(root, name, frames=frames, audio=audio,
                                      neighbours=name == "val", progress=progress)
        except DataError as exc:
            if audio and "wav" in str(exc).lower():
                raise ModelError(
                    f"{cfg.variant} is configured with audio streams but the dataset has no "
                    f"usable audio ({message_template(exc)}). Add the wav files, or train a "
                    "model without audio: `reactbench train --model reactdiff-no-audio ...` (or "
                    f"a {param('config')} whose streams have no audio group)") from None
            raise
    if splits["train"] is None:
        raise DataError(f"{root}: no train split")
    ids = {name: dataset_identity(root, name) for name, s in splits.items() if s is not None}
    return root, splits["train"], splits["val"], ids


def check_layout(data, layout: str) -> None:
    """Refuse a MARS-layout ``data`` folder for REACT2024 training (it names the flag)."""
    if layout == "react2024" and data is not None and ml.is_mars_root(Path(data).expanduser()):
        raise ModelError(f"{param('data', data)} holds a MARS-layout dataset (REACT2025/2026); "
                         f"train on it with {param('protocol', 'react2025')}")


def check_output_dir(out: Path, resume: bool) -> None:
    """Refuse, before any data is loaded, an ``out`` that is a file or cannot be written
    (read-only, full), ``resume`` without a checkpoint to resume, and a folder holding a
    model.pt of another run (never replaced)."""
    p = nearest_existing(out)
    if p is not None and not p.is_dir():
        raise ModelError(f"{param('out', out)}: {p} is a file, not a directory")
    check_writable(out, what=param("out"), error=ModelError)
    ckpt = out / "checkpoint.pt"
    if resume and not ckpt.exists():
        raise ModelError(f"{param('resume')}: {out} holds no checkpoint.pt to resume; drop "
                         f"{param('resume')} to start a new run there")
    if not ckpt.exists() and (out / "model.pt").exists():
        raise ModelError(f"{out} holds a model.pt but no checkpoint.pt (not a run to continue); "
                         f"it is not replaced: choose another {param('out')} or remove it")


def train_job(model: str = "reactdiff", *, stage: str = "all", preset: str = "small",
              device: str = "cpu", data=None, out=None, resume: bool = False, seed: int = 0,
              config: str | None = None, epochs: int | None = None, precision: str = "auto",
              compile: bool = False, progress: bool = True, half_export: bool = False,
              max_steps: int | None = None, frames: int | None = 750,
              stage1_from: str | None = None, protocol: str = "react2024",
              log=print) -> Path | None:
    """Train ``model`` (a ReactDiff variant) into ``out`` on the data of ``protocol``
    (``react2024``: the REACT2024 layout, clips cut to ``frames``; ``react2025``/``react2026``:
    the MARS layout, variable-length clips, see :mod:`.clip_job`); returns ``out/model.pt``
    once stage 2 is done (None after stage 1 alone, and on ranks > 0)."""

    if stage not in ("1", "2", "all"):
        raise ModelError(f"{param('stage')} must be 1, 2 or all (got {stage!r})")
    resolve_device(device)
    stage1 = None
    if stage1_from is not None:  # fail before loading any data; read once, passed along
        stage1 = check_stage1_from(stage, stage1_from)
    if max_steps is not None and max_steps < 1:
        raise ModelError(f"{param('max_steps')} must be >= 1 (got {max_steps})")
    layout = layout_of(protocol)
    check_layout(data, layout)
    cfg = build_config(model, preset, config, epochs, layout)
    if out is not None and not str(out).strip():
        raise ModelError(f"{param('out', repr(out))}: expected a folder path (leave the flag "
                         f"out for {default_out(model, preset, layout)})")
    out = Path(out) if out is not None else default_out(model, preset, layout)
    check_output_dir(out, resume)
    clips = layout == "mars"
    if clips:
        root, train, val, ids = load_clip_training_splits(cfg, data, progress)
    else:
        root, train, val, ids = load_training_splits(cfg, data, frames, progress)
    if val is None:
        log(f"warning: {root} has no val split; training runs without validation")
    if not can_plot():
        log("note: loss.png is not drawn without matplotlib (pip install 'reactbench[plot]'); "
            "loss.csv holds the same numbers")
    frames_text = (f"{int(train.lengths.min())}-{int(train.lengths.max())} frames per clip"
                   if clips else f"T = {train.frames}")
    log(f"{cfg.variant} ({preset}) stage {stage} on {root}: train N = {train.n}, "
        f"val N = {val.n if val is not None else 0}, {frames_text}; output {out}")
    if clips:
        for s in {"1": (1,), "2": (2,), "all": (1, 2)}[stage]:
            log(describe_crops(train.lengths, train.sample_ids, cfg, s, seed))
    model = train_reactdiff(cfg, train, val, out=out, stage=stage, device=device, seed=seed,
                            resume=resume, precision=precision, compile=compile,
                            progress=progress, identities=ids, half_export=half_export,
                            max_steps=max_steps, stage1_from=stage1)
    if model is not None:  # a fresh export: it never holds a chosen temperature yet
        (calibrate_clips if clips else calibrate)(model, cfg, train, val, device, log=log)
    return model
