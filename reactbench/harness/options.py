"""What defines one evaluation (:class:`RunOptions`) and the checks of those values, made
before any data is loaded.

Errors name the library parameter (``window=120``); the command line shows its flag instead
(:func:`reactbench.errors.param`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reactbench.data.targets import GT_ALIGN
from reactbench.errors import ReactbenchError, param
from reactbench.metrics.constants import MAX_BOOTSTRAP
from reactbench.metrics.spec import METRIC_NAMES
from reactbench.metrics.validate import is_cuda_device
from reactbench.protocols import OFFICIAL, Protocol, get_protocol

TASKS = ("offline", "online")


@dataclass
class RunOptions:
    """Everything that defines one evaluation (``reactbench run`` maps its flags here).

    protocol: a protocol name or alias (:mod:`reactbench.protocols`); alpha: reactions
    generated per speaker; seeds: generation seeds (values are means over them); window: online
    window length in frames; frames: frames per clip to load; causality_windows: windows
    re-checked on the sampled batch (online); realism_3dmm: feed predicted and real 3DMM to
    FRRea-feat; model_args: model spec -> constructor options. Under a ``"targets"`` protocol
    (REACT2025/2026, variable-length clips): ``frames`` is not used, the online window is the
    protocol's, gt_align: how targets of another length are aligned (``"linear"`` or
    ``"emotionvae"``, which needs gt_align_checkpoint, an EmotionVAE state dict)."""

    split: str = "test"
    data: str | Path | None = None
    task: str = "offline"  # or "online"
    protocol: str = OFFICIAL.name
    alpha: int = OFFICIAL.alpha
    seeds: tuple[int, ...] = (0,)
    bootstrap: int = 0
    device: str = "cpu"
    batch_size: int = 32
    window: int = OFFICIAL.window
    frames: int = 750
    n_jobs: int = -1
    realism_3dmm: bool = False
    check_range: bool = True
    causality_windows: int = 2
    metrics: list[str] | None = None
    progress: bool = True
    cache: bool = True
    model_args: dict[str, dict[str, str]] = field(default_factory=dict)
    gt_align: str = "linear"
    gt_align_checkpoint: str | Path | None = None

    @property
    def scoring_protocol(self) -> Protocol:
        """The :class:`Protocol` that ``protocol`` names."""
        return check_protocol(self.protocol)

    def validate(self) -> None:
        """Raise ReactbenchError (naming the parameter) for any value no run can use."""
        if self.task not in TASKS:
            raise ReactbenchError(f"{param('task')} must be offline or online, not "
                                  f"{self.task!r}")
        check_protocol(self.protocol)
        if self.alpha < 1:
            raise ReactbenchError(f"{param('alpha')} must be >= 1 (got {self.alpha})")
        if self.batch_size < 1:
            raise ReactbenchError(f"{param('batch_size')} must be >= 1 (got {self.batch_size})")
        if self.window < 1:
            raise ReactbenchError(f"{param('window')} must be >= 1 frame (got {self.window})")
        if not self.seeds:
            raise ReactbenchError(f"{param('seeds')} needs at least one seed")
        negative = [s for s in self.seeds if s < 0]
        if negative:
            raise ReactbenchError(f"{param('seeds', negative[0])}: generation seeds must be "
                                  "integers >= 0 (numpy's random generators refuse negative "
                                  "seeds)")
        dup = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
        if dup:
            raise ReactbenchError(f"{param('seeds')} names {dup} more than once; values are "
                                  "means over seeds, so a repeated seed would be counted twice")
        check_common(frames=self.frames, bootstrap=self.bootstrap, device=self.device,
                     metrics=self.metrics, n_jobs=self.n_jobs)
        check_gt_align(self.gt_align, self.gt_align_checkpoint)


def check_gt_align(gt_align: str, checkpoint) -> None:
    """``gt_align`` one of the alignments; ``gt_align_checkpoint`` given for (and only for)
    ``"emotionvae"``."""
    if gt_align not in GT_ALIGN:
        raise ReactbenchError(f"{param('gt_align', gt_align)}: expected one of "
                              f"{', '.join(GT_ALIGN)}")
    if gt_align == "emotionvae" and checkpoint is None:
        raise ReactbenchError(f"{param('gt_align', 'emotionvae')} needs "
                              f"{param('gt_align_checkpoint', 'PATH')}: an EmotionVAE checkpoint "
                              "(the official post-processor is not distributed with reactbench)")
    if gt_align != "emotionvae" and checkpoint is not None:
        raise ReactbenchError(f"{param('gt_align_checkpoint')} applies to "
                              f"{param('gt_align', 'emotionvae')} only (got "
                              f"{param('gt_align', gt_align)})")


def check_protocol(protocol: str | Protocol) -> Protocol:
    """The protocol ``protocol`` names; a ReactbenchError naming the parameter otherwise."""
    try:
        return get_protocol(protocol)
    except ValueError as exc:
        raise ReactbenchError(f"{param('protocol')}: {str(exc).split(': ', 1)[-1]}") from None


def check_common(*, frames: int, bootstrap: int, device: str, metrics: list[str] | None,
                 n_jobs: int) -> None:
    """Validate the options a run and the scoring of saved predictions share, before any data
    is loaded."""
    if frames < 1:
        raise ReactbenchError(f"{param('frames')} must be >= 1 (got {frames})")
    if bootstrap < 0 or bootstrap == 1:
        raise ReactbenchError(f"{param('bootstrap')} must be 0 (no intervals) or >= 2 resamples "
                              f"(got {bootstrap})")
    if bootstrap > MAX_BOOTSTRAP:
        raise ReactbenchError(f"{param('bootstrap', bootstrap)}: at most {MAX_BOOTSTRAP} "
                              "resamples (1000 give a stable 95% interval)")
    if n_jobs == 0 or n_jobs < -1:
        raise ReactbenchError(f"{param('n_jobs')} must be -1 (all cores) or >= 1 (got {n_jobs})")
    if str(device) != "cpu" and not is_cuda_device(device):
        raise ReactbenchError(f"{param('device')} must be cpu, cuda or cuda:N (got {device!r})")
    if metrics is not None:
        if not metrics:
            raise ReactbenchError(f"{param('metrics')} names no metric; e.g. "
                                  f"{param('metrics', 'FRCorr,FRDist')}")
        check_metric_names(metrics)
        dup = sorted({m for m in metrics if metrics.count(m) > 1})
        if dup:
            raise ReactbenchError(f"{param('metrics')} names {dup} more than once")


def check_metric_names(metrics: list[str]) -> None:
    """Refuse metric names the metric table does not hold."""
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ReactbenchError(f"{param('metrics')}: unknown metric(s) {unknown}; choose from "
                              f"{', '.join(METRIC_NAMES)}")


def check_window_fits(window: int, frames: int, split: str, remedy: str) -> None:
    """Refuse an online window that is not shorter than the clips (``frames``): one window
    would see the whole clip, which is the offline task; ``remedy`` says what to do."""
    if window >= frames:
        raise ReactbenchError(
            f"{param('window', window)}: the clips of {split} hold T = {frames} frames, so one "
            f"window would see the whole clip (that is the offline task); {remedy}")


def check_score_options(*, task: str, window: int | None, seed: int, name: str | None) -> None:
    """The options of scoring saved predictions: ``window`` required (>= 1) online and refused
    offline; ``seed`` (the bootstrap's) an integer >= 0; ``name`` None or some text."""
    if task == "online" and window is None:
        raise ReactbenchError(f"score {param('task', 'online')} needs {param('window', 'W')}: "
                              "the window length (frames) the predictions were generated with; "
                              "it is recorded in the result and tables refuse to mix windows")
    if task == "online" and (isinstance(window, bool) or not isinstance(window, int)
                             or window < 1):
        raise ReactbenchError(f"{param('window')} must be an integer >= 1 frame "
                              f"(got {window!r})")
    if task != "online" and window is not None:
        raise ReactbenchError(f"{param('window', window)} applies to {param('task', 'online')} "
                              f"only (got {param('task', task)})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ReactbenchError(f"{param('seed', repr(seed))}: the bootstrap seed must be an "
                              "integer >= 0")
    if name is not None and not name.strip():
        raise ReactbenchError(f"{param('name', repr(name))}: expected a model name with some "
                              f"text, or no {param('name')} for the predictions file's name")
