"""ReactDiff and its variants through reactbench's plug-in protocol (reactbench.models).

Registered like any third-party model, under the entry-point group ``reactbench.models``
(pyproject.toml), as ``reactdiff``, ``reactdiff-no-mmt``, ``reactdiff-no-diffusion``,
``reactdiff-no-video``, ``reactdiff-no-audio`` and ``reactdiff-lrs``; the group
``reactdiff-ablation`` and the ``train`` / ``ablate`` commands come from :mod:`.hooks`.
Options (keyword only; the CLI passes strings: ``--model-arg checkpoint=PATH``):

- ``checkpoint``: a ``model.pt`` (or a training folder holding one). Default: the shipped small
  checkpoint for ``reactdiff`` (trained on the default synthetic dataset; under the
  REACT2025/2026 protocols the one trained on the synthetic MARS dataset), and
  ``runs/<variant>-small/model.pt`` (what ``reactbench train --model <variant> --preset small``
  writes) for the variants;
- ``ddim_steps``: sampling steps, evenly spaced over the schedule (default: the checkpoint's
  ``sampling.timesteps`` or ``sampling.ddim_steps``, chosen on the val split, as for the shipped
  checkpoint; else the schedule's T = 20);
- ``timesteps``: the sampling steps themselves, descending, comma-separated (``19,17,14,10,0``;
  instead of ``ddim_steps``);
- ``solver``: ``ddim`` (DDIM, eta 0) or ``dpm2m`` (DPM-Solver++(2M), second order; one network
  evaluation per step as DDIM) (default: the checkpoint's ``sampling.solver``, else ``ddim``);
- ``device``: ``cpu``, ``cuda`` or ``cuda:k`` (default: the harness's device);
- ``batch_rows``: speaker rows per generation batch (default 16);
- ``temperature``: scale of the initial DDIM noise (default: the checkpoint's
  ``sampling.temperature``, chosen on the val split; 1.0 when absent);
- ``streaming``: online caches: ``dynamic`` (default), ``static`` or ``graphs`` (CUDA only:
  the encoder/decoder steps and the DDIM loop of each window replayed from CUDA graphs);
- ``precision``: ``fp32`` (default) or ``bf16`` (CUDA only: parameters in bf16, bf16 autocast);
- ``compile``: ``false`` (default) or ``true`` (CUDA only: the UNet's convolutions as matrix
  products, merged where the function allows and fused by torch.compile; the first batch of
  each shape pays the compilation).
- ``kernels``: ``cpu`` (default on a CPU device: the UNet laid out for oneDNN,
  :mod:`.cpu_unet`, and offline decoding through SDPA; float32; about 1.4 times faster than
  the modules, rounding-level differences), ``torch`` (default on CUDA, and with ``compile``
  or bf16: the plain modules) or ``triton`` (CUDA only, needs the triton package; not with
  ``compile=true``): the UNet on reactbench's Triton kernels (GroupNorm, SiLU and skip/residual
  fused into the convolutions, 163 kernels per paper-preset step instead of 410).
  ``streaming=graphs precision=bf16 kernels=triton`` (or ``compile=true``) is the fast online
  path measured by ``benchmarks/reactdiff_gpu.py``;
- ``check_data``: ``true`` (default) refuses a checkpoint trained on another dataset or
  generator version, ``false`` skips that check.

Result files record the dataset identities the checkpoint was trained (and validated) on as
``model.trained_on`` (:attr:`reactbench.models.ModelInfo.trained_on`). With ``file:`` input
streams, the predictions cache key covers the contents of the speaker feature files read for
the evaluated split (:meth:`ReactDiff.cache_identity`), so regenerated features are not
answered with stale cached predictions; it always covers the sources of every module of this
package (sampling and decoding are not in this file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
from pathlib import Path

import numpy as np
import torch

from reactbench.errors import ModelError, param
from reactbench.metrics.validate import is_cuda_device
from reactbench.models import ModelInfo, Reactions, SpeakerInput
from reactbench.paths import cache_dir

from . import checkpoint as ck
from .config import ReactDiffConfig
from .diffusion import SOLVERS
from .distributed import resolve_device
from .sample import KERNELS, PRECISIONS, STREAMING, Sampler, default_kernels
from .streams import feature_files_identity, person_streams

CITATION = ("ReactDiff: Latent Diffusion for Facial Reaction Generation (Multi-Modality "
            "Transformer + conditional latent DDIM); reactbench re-implementation")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in _TRUE | _FALSE:
        return v in _TRUE
    raise ModelError(f"option {name}={value!r}: expected true or false")


def _positive(name: str, value, cast: type, what: str):
    """A positive ``cast`` (int or float) from a CLI string; None when unset."""
    if value is None or value == "":
        return None
    try:
        x = cast(value)
    except (TypeError, ValueError):
        raise ModelError(f"option {name}={value!r}: expected {what}") from None
    if not x > 0:
        raise ModelError(f"option {name}={value!r}: expected a positive {what.split()[-1]}")
    return x


def _choice(name: str, value, choices: tuple[str, ...]) -> str:
    if str(value) not in choices:
        raise ModelError(f"option {name}={value!r}: expected one of {', '.join(choices)}")
    return str(value)


def _int(name: str, value) -> int | None:
    return _positive(name, value, int, "an integer")


def _steps(name: str, value) -> tuple[int, ...] | None:
    """Sampling steps given as "19,17,14,10,0" (or a list) -> a tuple of ints; None stays
    None. The order and range are checked against the model's schedule when it loads."""
    if value is None or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        steps = tuple(int(str(v).strip()) for v in items)
    except ValueError:
        raise ModelError(f"option {name}={value!r}: expected comma-separated integers such as "
                         "19,17,14,10,0") from None
    return steps or None


def _float(name: str, value) -> float | None:
    return _positive(name, value, float, "a number")


def default_checkpoint(variant: str) -> Path:
    if variant == "reactdiff":
        return ck.SHIPPED
    return Path("runs") / f"{variant}-small" / "model.pt"


def train_command(variant: str, data: str | Path | None = None) -> str:
    """The ``reactbench train`` command that makes a checkpoint for ``variant`` on ``data``
    (a dataset root; None: unknown, shown as ``[--data DIR]``; the embedded synthetic dataset
    needs no ``--data``)."""
    if data is None:
        flag = " [--data DIR]"
    else:

        synthetic = Path(data).resolve().is_relative_to(cache_dir().resolve())
        flag = "" if synthetic else f" --data {shlex.quote(str(data))}"
    return (f"reactbench train --model {variant} --preset small --stage all "
            f"--out runs/{variant}-small{flag}")


def _sha(path: Path) -> str:
    if not path.is_file():
        return ""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class ReactDiff:
    """ReactDiff (MMT + conditional latent DDIM): alpha diverse listener reactions per speaker."""

    variant = "reactdiff"
    # table row labels and order (ModelInfo): after the official baselines (0-5)
    display = "ReactDiff"
    ablation_label = ""  # "(w/o) MMT" for an ablated variant; empty: the display name
    table_order = 10
    needs_train = True  # fit checks the checkpoint against the training split's identity
    needs_audio = True
    OPTIONS = ("checkpoint", "ddim_steps", "timesteps", "solver", "device", "batch_rows",
               "check_data", "temperature", "streaming", "precision", "compile", "kernels")

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ModelError(f"{self.variant}: unknown option(s) {unknown}; known options: "
                             f"{list(self.OPTIONS)}")
        given = options.get("checkpoint")
        self.checkpoint = Path(given).expanduser() if given else default_checkpoint(self.variant)
        if self.checkpoint.is_dir():
            self.checkpoint = self.checkpoint / "model.pt"
        self.ddim_steps = _int("ddim_steps", options.get("ddim_steps"))
        self.device = options.get("device") or None
        self.batch_rows = _int("batch_rows", options.get("batch_rows")) or 16
        self.check_data = _flag("check_data", options.get("check_data", True))
        self.temperature = _float("temperature", options.get("temperature"))

        self.streaming = _choice("streaming", options.get("streaming") or "dynamic", STREAMING)
        self.precision = _choice("precision", options.get("precision") or "fp32", PRECISIONS)
        self.compile = _flag("compile", options.get("compile", False))
        if self.device not in (None, "cpu") and not is_cuda_device(self.device):
            raise ModelError(f"option device={self.device!r}: expected cpu, cuda or cuda:k")
        # unset: the device's default (fit() follows the device it is given, when not this one)
        self._default_kernels = not options.get("kernels")
        self.kernels = (_choice("kernels", options["kernels"], KERNELS) if options.get("kernels")
                        else default_kernels(self.device or "cpu", self.compile, self.precision))
        # metadata only (no weights); None when unreadable: fit() then says why
        self._meta = ck.read_metadata(self.checkpoint)
        self.timesteps = _steps("timesteps", options.get("timesteps"))
        if self.timesteps is not None and self.ddim_steps is not None:
            raise ModelError(f"{self.variant}: give ddim_steps or timesteps, not both")
        chosen = (self._meta or {}).get("sampling") or {}  # the sampling chosen on val, if any
        if self.ddim_steps is None and self.timesteps is None:
            self.timesteps = _steps("timesteps", chosen.get("timesteps"))
            self.ddim_steps = _int("ddim_steps", chosen.get("ddim_steps"))
        if self.timesteps is not None:
            self.ddim_steps = len(self.timesteps)
        self.solver = _choice("solver", options.get("solver") or chosen.get("solver") or "ddim",
                              SOLVERS)
        self.info = ModelInfo(
            name=self.variant, version="1", params=self._params(),
            citation=CITATION,
            trained_on=ck.trained_on(self._meta) if self._meta else None,
            display=self.display, ablation_label=self.ablation_label,
            table_order=self.table_order)
        self._sampler = None
        self._cfg = None
        self._root = None

    @classmethod
    def harness_options(cls, *, protocol: str, device: str) -> dict[str, str]:
        """Constructor defaults of a run under ``protocol`` on ``device`` (the harness applies
        them under the user's options): the device (so that the UNet's kernels and the
        recorded parameters follow it), and the shipped checkpoint trained on the synthetic
        MARS dataset for ``reactdiff`` under the REACT2025/2026 protocols."""
        out = {"device": str(device)}
        if cls.variant == "reactdiff" and protocol.startswith(("react2025", "react2026")) \
                and ck.SHIPPED_MARS.is_file():
            out["checkpoint"] = str(ck.SHIPPED_MARS)
        return out

    def _params(self) -> dict:
        return {"checkpoint": str(self.checkpoint), "checkpoint_sha256": _sha(self.checkpoint),
                "ddim_steps": self.ddim_steps, "temperature": self.temperature,
                "precision": self.precision,
                # the sampler, where not DDIM at evenly spaced steps
                **({"timesteps": list(self.timesteps)} if self.timesteps is not None else {}),
                **({"solver": self.solver} if self.solver != "ddim" else {}),
                # how the UNet ran, where not as modules (rounding-level differences)
                **({"compile": True} if self.compile else {}),
                **({"kernels": self.kernels} if self.kernels != "torch" else {})}

    @property
    def metadata(self) -> dict | None:
        """The checkpoint's metadata (config, dataset identities, ...; no weights), read once
        when the model was created; None when it is not a readable checkpoint."""
        return self._meta

    # -- protocol --------------------------------------------------------------------------
    def cache_identity(self, data) -> dict | None:
        """What the predictions depend on beyond the parameters and the package's sources:
        with ``file:`` streams, the contents of the speaker feature files the checkpoint reads
        for ``data`` (the evaluated split): ``{"feature_files": stream -> {source, files,
        sha256}}`` (see :func:`.streams.feature_files_identity` for why a content digest
        memoised by file stats); None without such streams. Called before :meth:`fit`;
        relative feature folders are resolved against ``data.root``, the dataset root that
        fit uses too."""
        if not self._meta or "config" not in self._meta:
            return None
        try:
            streams = ReactDiffConfig.from_dict(self._meta["config"]).model.streams
        except (ModelError, TypeError, KeyError, ValueError):
            return None  # fit() reports the bad config
        files = feature_files_identity(streams, data.speaker_ids, getattr(data, "root", None))
        return {"feature_files": files} if files else None

    def fit(self, train, *, seed: int = 0, device: str = "cpu") -> None:
        """Load the checkpoint (no training here: `reactbench train` trains) and check that it
        matches the data."""

        if not self.checkpoint.exists():
            what = ("the shipped checkpoint is missing from this installation"
                    if self.checkpoint == ck.SHIPPED else f"no checkpoint at {self.checkpoint}")
            raise ModelError(
                f"{self.variant}: {what}. Make one with `{train_command(self.variant)}`"
                f" and pass `--model-arg checkpoint=runs/{self.variant}-small/model.pt`"
            )
        ckpt = ck.read_checkpoint(self.checkpoint)
        trained_variant = ckpt.get("variant", "reactdiff")
        if trained_variant != self.variant:
            raise ModelError(f"{self.checkpoint} holds a {trained_variant} model, not "
                             f"{self.variant}: run it with `--model {trained_variant}`")
        if 2 not in ckpt.get("stages_done", []):
            raise ModelError(
                f"{self.checkpoint} is not a finished model (stages done: "
                f"{ckpt.get('stages_done', [])}; generation needs stage 2, the latent diffusion): "
                f"finish it with `reactbench train --model {self.variant} --stage 2 --out "
                f"{self.checkpoint.parent}` (same {param('preset')}/{param('config')}), then "
                "pass the model.pt written there")
        if "ema" in ckpt and "optimizer" in ckpt:
            raise ModelError(f"{self.checkpoint} is a training checkpoint; pass the model.pt "
                             "written beside it (EMA weights)")
        if self.check_data and getattr(train, "identity", None):
            ck.check_dataset(ckpt, train.identity,
                             train_command(self.variant, getattr(train, "root", None)))
        cfg, net = ck.build_network(ckpt)
        if self.ddim_steps is not None and self.ddim_steps > cfg.model.diffusion_steps:
            raise ModelError(f"{self.variant}: ddim_steps={self.ddim_steps} exceeds the "
                             f"model's {cfg.model.diffusion_steps} diffusion steps; use 1.."
                             f"{cfg.model.diffusion_steps}")
        self._check_inputs(cfg, train)
        dev = resolve_device(self.device or device, indexed=True)
        if dev.startswith("cuda:"):  # graphs and Triton kernels run on the current device

            torch.cuda.set_device(torch.device(dev))
        kernels = default_kernels(dev, self.compile, self.precision)
        if self._default_kernels and self.kernels != kernels:
            self.kernels = kernels  # created without the device it runs on
            self.info = dataclasses.replace(self.info, params=self._params())
        temperature = self.temperature
        if temperature is None:
            temperature = float(ckpt.get("sampling", {}).get("temperature", 1.0))
        steps = self.timesteps if self.timesteps is not None else self.ddim_steps
        self._sampler = Sampler(net, dev, steps, temperature=temperature,
                                streaming=self.streaming, precision=self.precision,
                                compile=self.compile, kernels=self.kernels, solver=self.solver)
        self._cfg = cfg
        self._root = getattr(train, "root", None)

    def _check_inputs(self, cfg, train) -> None:
        """Fail before generation if the data lacks a configured stream (e.g. audio). A split
        of variable-length clips (lists; the REACT2025/2026 harness loads it without audio)
        has its other streams checked on its first clip."""
        clips = isinstance(train.speaker_emotion, list)
        specs = [s for s in cfg.model.streams if not (clips and s.source.startswith("audio:"))]
        first = (lambda x: np.asarray(x[0])[None, :1]) if clips else (lambda x: x[:1, :1])
        ids = train.sample_ids if clips else train.speaker_ids
        if specs:
            person_streams(specs, first(train.speaker_emotion), first(train.speaker_3dmm),
                           {k: first(v) for k, v in train.speaker_audio.items()},
                           ids[:1], getattr(train, "root", None), "speaker")

    def _streams(self, speaker: SpeakerInput) -> dict[str, np.ndarray]:
        if self._sampler is None:
            raise ModelError(f"{self.variant}: call fit() before generating")
        return person_streams(self._cfg.model.streams, speaker.emotion, speaker.face_3dmm,
                              speaker.audio, speaker.clip_ids, self._root, "speaker")

    def _batched(self, speaker: SpeakerInput, fn, progress=None) -> Reactions:
        """``fn(streams, rows, report, starts)`` per ``batch_rows`` slice; ``report(done,
        total)`` (windows) reaches ``progress`` as the fraction of all slices' work done;
        ``starts``: the slice's segment starts in their clips (``speaker.spans``) or None."""
        streams = self._streams(speaker)
        rows = np.asarray(speaker.rows)
        spans = getattr(speaker, "spans", None)
        clip_starts = None if spans is None else np.asarray(spans)[:, 0]
        emo, face = [], []
        starts = range(0, len(rows), self.batch_rows)
        for n, i in enumerate(starts):
            sl = slice(i, i + self.batch_rows)

            def report(done: int, total: int, n=n) -> None:
                if progress is not None:
                    progress((n + done / max(total, 1)) / len(starts))

            e, f = fn({k: v[sl] for k, v in streams.items()}, rows[sl], report,
                      None if clip_starts is None else clip_starts[sl])
            emo.append(e)
            face.append(f)
        return Reactions(emotion=np.concatenate(emo), face_3dmm=np.concatenate(face))

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int,
                 progress=None) -> Reactions:
        """Offline: (B, alpha, T, 25) emotion + (B, alpha, T, 58) 3DMM. ``progress``: called
        with the fraction of this call's work done (0..1) after each chunk of windows (the
        harness's progress bar)."""
        return self._batched(speaker,
                             lambda s, r, rep, st: self._sampler.offline(s, r, alpha, seed,
                                                                         rep, st),
                             progress)

    def generate_online(self, speaker: SpeakerInput, *, start: int, alpha: int,
                        seed: int) -> Reactions:
        """Online: frames [start, end) from the speaker prefix [0, end), causal."""
        return self._batched(speaker,
                             lambda s, r, _, __: self._sampler.online(s, r, alpha, seed, start))


class ReactDiffNoMMT(ReactDiff):
    """Ablation: fusion by concatenation + linear instead of intra/inter cross attention."""

    variant = "reactdiff-no-mmt"
    display = "ReactDiff (w/o MMT)"
    ablation_label = "(w/o) MMT"
    table_order = 12


class ReactDiffNoDiffusion(ReactDiff):
    """Ablation: deterministic latent regressed from the condition (no sampling; FRDiv = 0)."""

    variant = "reactdiff-no-diffusion"
    display = "ReactDiff (w/o Diffusion)"
    ablation_label = "(w/o) Diffusion"
    table_order = 13


class ReactDiffNoVideo(ReactDiff):
    """Ablation: acoustic streams only."""

    variant = "reactdiff-no-video"
    display = "ReactDiff (w/o Video)"
    ablation_label = "(w/o) Video"
    table_order = 14


class ReactDiffNoAudio(ReactDiff):
    """Ablation: visual streams only."""

    variant = "reactdiff-no-audio"
    display = "ReactDiff (w/o Audio)"
    ablation_label = "(w/o) Audio"
    table_order = 15
    needs_audio = False


class ReactDiffLRS(ReactDiff):
    """ReactDiff with Listener Reaction Shifts (personalised styles as low-rank weight edits)."""

    variant = "reactdiff-lrs"
    display = "ReactDiff (LRS)"
    table_order = 11


VARIANT_CLASSES = {c.variant: c for c in (ReactDiff, ReactDiffNoMMT, ReactDiffNoDiffusion,
                                          ReactDiffNoVideo, ReactDiffNoAudio, ReactDiffLRS)}
