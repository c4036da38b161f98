"""ReactDiff configuration: input streams, architecture, training, presets and variants.

Everything that defines a trained model lives in one JSON-able :class:`ReactDiffConfig`
(stored in every checkpoint), so a checkpoint rebuilds its network without outside help.

Input streams (:class:`StreamSpec`) are per-frame features of ONE person (speaker or listener),
grouped into the visual modality (``group="video"``) and the acoustic one (``group="audio"``).
A stream's ``source`` is one of

- ``"emotion:au"`` (15), ``"emotion:va"`` (2), ``"emotion:fe"`` (8): columns of the REACT
  emotion CSV; ``"3dmm"`` (58): the FaceVerse coefficients;
- ``"audio:<name>"``: an audio feature of the data layer (``"audio:mfcc"`` 26-d,
  ``"audio:logmel"``); its width is read from the data;
- ``"file:<dir>"``: per-clip feature files ``<dir>/<clip id>.npy`` of shape (T, width) (any width:
  the paper's 64-d ELIM VA, 25088-d ME-GraphAU AU, 1408-d FE, 1536-d wav2vec2 AFR). A relative
  ``<dir>`` is taken relative to the dataset root.

Within a group the FIRST stream is the query stream of the intra-cross attention (the paper:
AU for video, AFR for audio); the others are attended in order.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from reactbench.errors import ModelError, param

SOURCE_WIDTHS = {"emotion:au": 15, "emotion:va": 2, "emotion:fe": 8, "3dmm": 58}
GROUPS = ("video", "audio")
WINDOW = 50  # ws: frames per diffusion window (paper)
DIFFUSION_STEPS = 20  # T (paper)


@dataclass
class StreamSpec:
    """One per-frame input stream of a person: name, source (see module doc), modality group,
    width (0 = read from the data, for audio features)."""

    name: str
    source: str
    group: str = "video"
    width: int = 0

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ModelError(f"stream {self.name!r}: group must be one of {GROUPS}, not "
                             f"{self.group!r}")
        if self.source in SOURCE_WIDTHS:
            self.width = SOURCE_WIDTHS[self.source]
        elif self.source.startswith("file:"):
            if self.width <= 0:
                raise ModelError(f"stream {self.name!r}: a feature-file stream needs its width "
                                 "(e.g. {\"source\": \"file:feats/afr\", \"width\": 1536})")
        elif not self.source.startswith("audio:"):
            raise ModelError(
                f"stream {self.name!r}: unknown source {self.source!r}; use one of "
                f"{sorted(SOURCE_WIDTHS)}, 'audio:<feature>' or 'file:<dir>'")


def default_streams() -> list[StreamSpec]:
    """Attributes every REACT-format dataset has: AU, FE, VA, 3DMM (video); log-mel, MFCC."""
    return [
        StreamSpec("au", "emotion:au", "video"),
        StreamSpec("fe", "emotion:fe", "video"),
        StreamSpec("va", "emotion:va", "video"),
        StreamSpec("3dmm", "3dmm", "video"),
        StreamSpec("logmel", "audio:logmel", "audio"),
        StreamSpec("mfcc", "audio:mfcc", "audio"),
    ]


@dataclass
class ModelConfig:
    """Architecture. Widths follow the paper for the ``paper`` preset."""

    streams: list[StreamSpec] = field(default_factory=default_streams)
    d_model: int = 1024  # attention width of the MMT encoder
    heads: int = 4
    intra_blocks: int = 2  # video: blocks of (cross-attend each further stream)
    inter_layers: int = 2  # video state queries attend audio state
    latent_dim: int = 128  # per-frame latent width (paper 128)
    dec_d_model: int = 512
    dec_layers: int = 4
    dec_heads: int = 8
    window: int = WINDOW
    cond_dim: int = 1024  # z_bc width
    cond_groups: int = 32
    unet_width: int = 256
    unet_mults: tuple[int, ...] = (1, 2, 4, 8)
    unet_res_blocks: int = 2
    unet_attn_levels: tuple[int, ...] = (0, 1, 2)  # levels with attention (0 = finest)
    unet_heads: int = 4
    diffusion_steps: int = DIFFUSION_STEPS
    dropout: float = 0.0
    frame_skip: bool = False  # cross-attention units also add the context's own frame
    # condition context (reactbench extension; the paper: current window only, no summary)
    cond_windows: int = 1  # speaker windows k-c+1..k flattened into z_bc's input
    cond_summary: bool = False  # also the running mean of the speaker's windows 0..k
    cond_position: int = 0  # width of a sinusoidal code of the window's index k (0 = none)
    # variants (ablations of the paper's Table 4 and LRS)
    fusion: str = "cross"  # "cross" (MMT) | "concat" (w/o MMT: concatenation + linear)
    diffusion: bool = True  # False: deterministic latent from the condition (w/o diffusion)
    lrs: bool = False  # Listener Reaction Shifts
    lrs_styles: int = 8
    lrs_rank: int = 4

    def groups_used(self) -> list[str]:
        return [g for g in GROUPS if any(s.group == g for s in self.streams)]


@dataclass
class TrainConfig:
    """Optimisation (AdamW (0.9, 0.999), weight decay 5e-4, batch 16, EMA as in the code)."""

    batch_size: int = 16
    lr1: float = 1e-4
    lr2: float = 5e-5
    epochs1: int = 200
    epochs2: int = 200
    weight_decay: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    ema: float = 0.999
    warmup_steps: int = 100
    grad_clip: float = 1.0
    crop: int = 0  # frames per training crop (multiple of the window); 0 = whole clips
    crop2: int = -1  # stage 2's crop (-1: the same as ``crop``)
    causal_prob: float = 0.5  # share of batches trained in online (causal) mode
    modality_dropout: float = 0.0  # stage 1: share of batches encoded without the video group
    val_every: int = 5  # epochs between validations (and resumable checkpoints)
    w_3dmm: float = 10.0
    w_emotion: float = 10.0
    w_au_bce: float = 0.0  # stage 1: + BCE on the AU columns (0 = the paper's loss)
    w_eps: float = 10.0
    w_lrs: float = 1.0
    num_workers: int = 0
    # sampling temperatures to choose from on the val split after stage 2 (calibrate.py);
    # empty: none chosen, x_T ~ N(0, I) as in the paper
    temperatures: tuple[float, ...] = ()


@dataclass
class ReactDiffConfig:
    preset: str = "paper"
    variant: str = "reactdiff"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReactDiffConfig:
        if not isinstance(d, dict):
            raise ModelError(f"a ReactDiff config is a JSON object with 'model' and 'train' "
                             f"sections; got {type(d).__name__}")
        m = dict(d.get("model", {}))
        if "streams" in m:
            if not isinstance(m["streams"], list) or not m["streams"] or not all(
                    isinstance(s, dict) for s in m["streams"]):
                raise ModelError("model.streams must be a non-empty list of objects like "
                                 '{"name": "au", "source": "emotion:au", "group": "video"}')
            try:
                m["streams"] = [StreamSpec(**s) for s in m["streams"]]
            except TypeError as exc:
                raise ModelError(f"model.streams: {exc}") from None
        else:
            m["streams"] = default_streams()
        for key in ("unet_mults", "unet_attn_levels"):
            if key in m:
                m[key] = tuple(m[key])
        t = dict(d.get("train", {}))
        for key in ("betas", "temperatures"):
            if key in t:
                t[key] = tuple(t[key])
        cfg = cls(preset=d.get("preset", "paper"), variant=d.get("variant", "reactdiff"),
                  model=_build(ModelConfig, m), train=_build(TrainConfig, t))
        validate_config(cfg)
        return cfg


# fields that must be >= 1 (sizes, counts, periods) and those that may be 0
_POSITIVE = {"d_model", "heads", "intra_blocks", "inter_layers", "latent_dim", "dec_d_model",
             "dec_layers", "dec_heads", "window", "cond_dim", "cond_groups", "unet_width",
             "unet_res_blocks", "unet_heads", "diffusion_steps", "cond_windows", "lrs_styles",
             "lrs_rank", "batch_size", "epochs1", "epochs2", "val_every"}
_UNIT = {"dropout", "causal_prob", "modality_dropout", "ema"}  # in [0, 1]


def _type_problem(name: str, value: Any, default: Any) -> str | None:
    """Why ``value`` does not have the type of the field's default (None: it does)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple):
        ok = isinstance(value, (tuple, list)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    else:
        return None
    return None if ok else (f"{name} must be {type(default).__name__} like {default!r}; got "
                            f"{value!r}")


def validate_config(cfg: ReactDiffConfig) -> None:
    """Raise ModelError naming every field of ``cfg`` with a wrong type or an impossible value
    (before any network is built)."""
    problems = []
    for section, obj in (("model", cfg.model), ("train", cfg.train)):
        default = type(obj)()
        for f in fields(obj):
            value = getattr(obj, f.name)
            where = f"{section}.{f.name}"
            problem = _type_problem(where, value, getattr(default, f.name))
            if problem:
                problems.append(problem)
            elif f.name in _POSITIVE and value < 1:
                problems.append(f"{where} must be >= 1; got {value!r}")
            elif f.name in _UNIT and not 0 <= value <= 1:
                problems.append(f"{where} must lie in [0, 1]; got {value!r}")
    m, t = cfg.model, cfg.train
    if not problems:
        for a, b in (("d_model", "heads"), ("dec_d_model", "dec_heads"),
                     ("cond_dim", "cond_groups")):
            if getattr(m, a) % getattr(m, b):
                problems.append(f"model.{a} ({getattr(m, a)}) must be a multiple of model.{b} "
                                f"({getattr(m, b)})")
        if m.fusion not in ("cross", "concat"):
            problems.append(f"model.fusion must be 'cross' or 'concat'; got {m.fusion!r}")
        if not m.unet_mults or any(v < 1 for v in m.unet_mults):
            problems.append(f"model.unet_mults must be positive multipliers; got {m.unet_mults}")
        if any(v < 0 or v >= len(m.unet_mults) for v in m.unet_attn_levels):
            problems.append(f"model.unet_attn_levels must index the {len(m.unet_mults)} UNet "
                            f"levels; got {m.unet_attn_levels}")
        for name in ("lr1", "lr2"):
            if not getattr(t, name) > 0:
                problems.append(f"train.{name} must be > 0; got {getattr(t, name)!r}")
        if any(not v > 0 for v in t.temperatures):
            problems.append(f"train.temperatures must be > 0; got {list(t.temperatures)}")
        if t.crop < 0 or (t.crop and t.crop % m.window):
            problems.append(f"train.crop must be 0 (whole clips) or a multiple of model.window "
                            f"({m.window}); got {t.crop}")
    if not m.streams:
        problems.append("model.streams is empty")
    if problems:
        raise ModelError("invalid ReactDiff config: " + "; ".join(problems))


def _build(kind, values: dict[str, Any]):
    names = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ModelError(f"unknown {kind.__name__} option(s) {unknown}; known: {sorted(names)}")
    return kind(**values)


PRESETS = ("paper", "small")
VARIANTS = ("reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion", "reactdiff-no-video",
            "reactdiff-no-audio", "reactdiff-lrs")


def preset_config(preset: str = "paper", variant: str = "reactdiff") -> ReactDiffConfig:
    """The named preset with the named variant applied.

    ``paper``: the paper's widths (attention 1024, latent 128, UNet 256 x (1, 2, 4, 8); 558 M
    parameters), the public code's optimiser settings, for GPUs. ``small`` (7.7 M parameters):
    the shipped checkpoint's recipe (300 + 600 epochs at batch 32: about 4 minutes on one
    H100, tens of minutes on a CPU); it adds the frame-synchronous skip path in the attention
    units (``frame_skip``, see mmt.py), without which the small MMT autoencoder converged far
    more slowly, and its condition sees speaker windows k-2..k plus the running mean of
    the conversation so far (``cond_windows=3, cond_summary=True``; chosen on the val split:
    FRDist 105.0 -> 95.0 and FRCorr 0.383 -> 0.409 against the paper's one-window condition)
    and a code of the window's position in the clip (``cond_position=16``; val FRDist 102.7 ->
    95.0-98.1 with a 64-wide UNet, no clear effect with the 128-wide one), stage 1 adds a BCE
    term on the AU columns (``w_au_bce=1``): with the paper's L1 alone the autoencoder never
    reconstructed the sparse AUs (output ~0 for AUs active in 6 % of frames), so no generated
    reaction ever moved them (val FRCorr 0.409 -> 0.549, FRDiv 0.014 -> 0.025), and its UNet is
    128 wide with widths (1, 1, 2) (stage 2 on one MMT, val FRCorr: 64-wide (1, 2, 2) UNet
    0.47-0.49, 128-wide (1, 1, 2) 0.70-0.78 over three seeds; every score is in
    leaderboards/synthetic/reactdiff_device_scores.json). After stage 2 it chooses the
    sampling temperature among 0.15, 0.3 and 0.6 on the val split (calibrate.py), as for the
    shipped checkpoint."""
    if preset not in PRESETS:
        raise ModelError(f"unknown preset {preset!r}; choose one of {PRESETS}")
    cfg = ReactDiffConfig(preset=preset)
    if preset == "small":
        cfg.model = ModelConfig(
            d_model=64, heads=4, intra_blocks=1, inter_layers=1, latent_dim=32, dec_d_model=64,
            dec_layers=2, dec_heads=4, cond_dim=64, cond_groups=8, unet_width=128,
            unet_mults=(1, 1, 2), unet_res_blocks=1, unet_attn_levels=(1,), unet_heads=2,
            frame_skip=True, cond_windows=3, cond_summary=True, cond_position=16)
        cfg.train = TrainConfig(batch_size=32, lr1=2e-3, lr2=1e-3, epochs1=300, epochs2=600,
                                ema=0.995, warmup_steps=50, crop=250, val_every=10,
                                modality_dropout=0.0, w_au_bce=1.0,
                                temperatures=(0.15, 0.3, 0.6))
    cfg = apply_variant(cfg, variant)
    validate_config(cfg)
    return cfg


def apply_variant(cfg: ReactDiffConfig, variant: str) -> ReactDiffConfig:
    """Switch an ablation / LRS on (the base streams stay; -no-video/-no-audio drop a group)."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown ReactDiff variant {variant!r}; choose one of {VARIANTS}")
    cfg = copy.deepcopy(cfg)
    cfg.variant = variant
    m = cfg.model
    if variant == "reactdiff-no-mmt":
        m.fusion = "concat"
    elif variant == "reactdiff-no-diffusion":
        m.diffusion = False
    elif variant == "reactdiff-no-video":
        m.streams = [s for s in m.streams if s.group != "video"]
    elif variant == "reactdiff-no-audio":
        m.streams = [s for s in m.streams if s.group != "audio"]
    elif variant == "reactdiff-lrs":
        m.lrs = True
    if not m.streams:
        raise ModelError(f"variant {variant} leaves no input stream")
    return cfg


LAYOUTS = ("react2024", "mars")
MARS_WINDOW = 30  # frames per diffusion window on MARS data: the protocol's online window
MARS_CROP = 240  # training crop on MARS data (8 windows, 8 s at 30 fps)
# small preset on MARS data: epochs of stage 1 and 2 (78 crops in 7 batches per epoch on the
# default synthetic MARS set: 420 and 140 steps, minutes on a CPU; pass --epochs for larger data)
MARS_SMALL_EPOCHS = (60, 20)


def mars_streams() -> list[StreamSpec]:
    """Streams of the MARS layout: AU, FE, VA and the 3DMM coefficients (video) and the 768-d
    audio features of the ``audio-features`` folder (``audio:wav2vec``, 30 fps)."""
    return [StreamSpec("au", "emotion:au", "video"), StreamSpec("fe", "emotion:fe", "video"),
            StreamSpec("va", "emotion:va", "video"), StreamSpec("3dmm", "3dmm", "video"),
            StreamSpec("wav2vec", "audio:wav2vec", "audio")]


def for_layout(cfg: ReactDiffConfig, layout: str) -> ReactDiffConfig:
    """``cfg`` for data of ``layout``: ``react2024`` leaves it as it is; ``mars`` (REACT2025/
    2026) reads the MARS streams (:func:`mars_streams`, the groups the variant keeps), uses
    windows of ``MARS_WINDOW`` frames (the protocol's online window: its 60 frames of speaker
    context are two windows and its 750-frame offline chunks 25) and crops of ``MARS_CROP``
    frames, and drops the window-position code (``cond_position``): the harness sends every
    chunk and window as a sequence that starts at frame 0, so a window's place in its clip
    is unknown when generating. The small preset trains ``MARS_SMALL_EPOCHS`` epochs."""
    if layout not in LAYOUTS:
        raise ModelError(f"unknown data layout {layout!r}; expected one of {LAYOUTS}")
    if layout == "react2024":
        return cfg
    cfg = copy.deepcopy(cfg)
    groups = {s.group for s in cfg.model.streams}
    cfg.model.streams = [s for s in mars_streams() if s.group in groups]
    cfg.model.window = MARS_WINDOW
    cfg.model.cond_position = 0
    cfg.train.crop = MARS_CROP
    cfg.train.crop2 = -1
    if cfg.preset == "small":  # sized for the synthetic MARS set on a CPU (module doc)
        cfg.train.epochs1, cfg.train.epochs2 = MARS_SMALL_EPOCHS
    validate_config(cfg)
    return cfg


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON file with any of {"model": {...}, "train": {...}} overriding a preset."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"config file {p} does not exist") from None
    except IsADirectoryError:
        raise ModelError(f"config file {p} is a directory; expected a JSON file like "
                         '{"model": {...}, "train": {...}}') from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"config file {p} is not UTF-8 text ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"config file {p} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise ModelError(f"config file {p} cannot be read ({exc})") from None


def merge_overrides(cfg: ReactDiffConfig, overrides: dict[str, Any]) -> ReactDiffConfig:
    """Apply {"model": {...}, "train": {...}} overrides (e.g. from a ``config`` file)."""
    if not isinstance(overrides, dict):
        raise ModelError(f"a {param('config')} file holds a JSON object like {{\"model\": {{...}}, "
                         f"\"train\": {{...}}}}; got {type(overrides).__name__}")
    d = cfg.to_dict()
    for section in ("model", "train"):
        extra = overrides.get(section, {})
        if not isinstance(extra, dict):
            raise ModelError(f"config section {section!r} must be an object")
        d[section].update(extra)
    unknown = sorted(set(overrides) - {"model", "train"})
    if unknown:
        raise ModelError(f"unknown config section(s) {unknown}; use 'model' and 'train'")
    return ReactDiffConfig.from_dict(d)
