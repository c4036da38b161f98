"""Evaluation protocols as data: every number that defines how a run is scored, in one place.

A :class:`Protocol` names what a result means: the clip-length rule and frame rate of the data,
where appropriate real reactions come from (an N x N neighbour matrix, or a list of target
reactions per speaker), the metric set and the variant of each metric's definition, the number
of generations per speaker (alpha), and the online window with the speaker context a window
sees. Result files record a protocol's ``name`` and ``version``; tables refuse to mix protocols.

REACT2024 has two protocols:

* ``official``: the challenge code's numbers, every quirk included (FRSyn scores generation 0
  only, a constant column counts as CCC 0, ``+1e-8`` in the CCC denominator, FRDiv = 0.0 at
  alpha = 1).
* ``corrected``: the paper's formulas without the code's accidents (FRSyn over all generations,
  constant columns left out of the CCC and TLCC column means, FRDiv undefined at alpha = 1).

Their names are the ones result files have always carried; ``react2024-official`` and
``react2024-corrected`` are accepted as aliases.

REACT2025 and REACT2026 (MARS data: variable-length clips at 30 fps, each sample scored against
its own list of K = 10 appropriate reactions, target 0 the paired listener) have:

* ``react2025``: the 2025 challenge code's numbers (FRCorr, FRDist, FRSyn, FRDiv, FRVar; MAE on
  request, defined but not run by that code). FRSyn keeps the code's 25 fps lag window
  (+-49 frames, +-1.63 s at 30 fps) and scores generation 0 only; FRDiv refuses alpha = 1.
* ``react2025-corrected``: as ``react2025`` with the corrected FRCorr and FRSyn of REACT2024
  (all generations, constant columns left out).
* ``react2026``: the 2026 code's numbers: the 2025 metrics plus MAE, which its naive-baselines
  script reports; only speaker clips are inputs (no role mirroring).

A protocol's ``version`` is bumped when any value it defines changes for the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

APPROPRIATENESS_SOURCES = ("neighbours", "targets")
VARIANTS = ("official", "corrected")


@dataclass(frozen=True)
class DtwGroup:
    """A block of columns scored by one multivariate DTW: columns [start, stop), weight."""

    start: int
    stop: int
    weight: float


@dataclass(frozen=True)
class Protocol:
    """One named, versioned evaluation protocol.

    clip_frames: frames per clip when clips have one fixed length (loaded clips are cut to it),
    None for variable-length clips; fps: video frame rate of the data; appropriateness:
    ``"neighbours"`` (an (N, N) 0/1 matrix over the split's rows) or ``"targets"`` (a list of
    appropriate reactions per speaker); metrics: the metric set, in report order; variant:
    ``"official"`` (the challenge code's definitions) or ``"corrected"``; alpha: generations per
    speaker; window: online window length in frames; speaker_context: speaker frames an online
    window sees, ending at the window's end (None: every frame up to the window's end).
    optional_metrics: metrics computed only when requested (not in the default set);
    offline_chunk: offline generation runs on independent chunks of this many frames (None: one
    chunk per clip); round_aus: predicted AU columns 0-14 are rounded half to even (not clipped)
    before scoring, as the challenge code does; targets_per_sample: K, the appropriate reactions
    listed per sample (``"targets"`` protocols); target_rule / target_seed: how those lists are
    drawn; bidirectional: whether both roles of a pair are inputs (mirroring).
    The remaining fields are the metrics' constants (see docs/metrics.md).
    """

    name: str
    version: str
    challenge: str
    title: str
    variant: str
    fps: int
    clip_frames: int | None
    appropriateness: str
    metrics: tuple[str, ...]
    alpha: int = 10
    window: int = 50
    speaker_context: int | None = None
    aliases: tuple[str, ...] = ()
    optional_metrics: tuple[str, ...] = ()
    offline_chunk: int | None = None
    round_aus: bool = False
    targets_per_sample: int | None = None
    target_rule: str | None = None
    target_seed: int | None = None
    bidirectional: bool = True
    # FRCorr: added to the CCC denominator (official code only)
    ccc_eps: float = 1e-8
    # FRDist: weighted sum of one DTW per column group, added in this order
    dtw_groups: tuple[DtwGroup, ...] = (
        DtwGroup(0, 15, 1.0 / 15.0), DtwGroup(15, 17, 1.0), DtwGroup(17, 25, 1.0 / 8.0))
    # FRSyn: lags -tlcc_max_lag .. +tlcc_max_lag frames (2 s at 25 fps, minus one frame; the
    # REACT2025/2026 code keeps this 25 fps window on 30 fps data)
    tlcc_max_lag: int = 49
    # FRDiv with alpha = 1: "zero" (the REACT2024 code returns 0.0) or "error"
    div_single: str = "zero"
    # MAE: columns [start, stop) compared (valence, arousal and the 8 expression probabilities)
    mae_columns: tuple[int, int] = (15, 25)
    # FRRea-feat: feature windows of rea_window frames every rea_hop frames
    rea_window: int = 50
    rea_hop: int = 25
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def corrected(self) -> bool:
        """Whether the metrics use the corrected definitions."""
        return self.variant == "corrected"

    @property
    def tlcc_n_lags(self) -> int:
        """Number of lags FRSyn scans (99 for +-49)."""
        return 2 * self.tlcc_max_lag + 1

    @property
    def tlcc_generations(self) -> str:
        """Which generations FRSyn scores: ``"first"`` (official code) or ``"all"``."""
        return "all" if self.corrected else "first"

    @property
    def available_metrics(self) -> tuple[str, ...]:
        """The metric set and the metrics computed on request, in report order."""
        return self.metrics + tuple(m for m in self.optional_metrics if m not in self.metrics)

    def identity(self) -> dict[str, str]:
        """What a result file records: ``{"name": ..., "version": ...}``."""
        return {"name": self.name, "version": self.version}


REACT2024_METRICS = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn")

_REACT2024 = dict(challenge="REACT2024", fps=25, clip_frames=750, appropriateness="neighbours",
                  metrics=REACT2024_METRICS, alpha=10, window=50, speaker_context=None)

OFFICIAL = Protocol(
    name="official", version="1", variant="official", aliases=("react2024-official",),
    title="REACT2024, official challenge code", **_REACT2024)
CORRECTED = Protocol(
    name="corrected", version="1", variant="corrected", aliases=("react2024-corrected",),
    title="REACT2024, corrected definitions", **_REACT2024)

REACT2025_METRICS = ("FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar")

_MARS = dict(fps=30, clip_frames=None, appropriateness="targets", alpha=10, window=30,
             speaker_context=60, offline_chunk=750, round_aus=True, targets_per_sample=10,
             target_rule="session-pool", target_seed=1234, tlcc_max_lag=49, div_single="error")

REACT2025 = Protocol(
    name="react2025", version="1", challenge="REACT2025", variant="official",
    title="REACT2025, official challenge code", metrics=REACT2025_METRICS,
    optional_metrics=("MAE",), bidirectional=True,
    notes=("FRSyn lags stay at the code's 25 fps window (+-49 frames = +-1.63 s at 30 fps)",
           "MAE is defined by the 2025 code but not run; computed on request"),
    **_MARS)
REACT2025_CORRECTED = Protocol(
    name="react2025-corrected", version="1", challenge="REACT2025", variant="corrected",
    title="REACT2025, corrected definitions", metrics=REACT2025_METRICS,
    optional_metrics=("MAE",), bidirectional=True,
    notes=("FRSyn over all generations; constant columns left out of CCC and TLCC means",),
    **_MARS)
REACT2026 = Protocol(
    name="react2026", version="1", challenge="REACT2026", variant="official",
    title="REACT2026, official challenge code", metrics=REACT2025_METRICS + ("MAE",),
    bidirectional=False,
    notes=("FRSyn lags stay at the code's 25 fps window (+-49 frames = +-1.63 s at 30 fps)",
           "MAE as the naive-baselines script reports it: mean over the first alpha targets"),
    **_MARS)

PROTOCOLS: dict[str, Protocol] = {
    p.name: p for p in (OFFICIAL, CORRECTED, REACT2025, REACT2025_CORRECTED, REACT2026)}
_BY_NAME: dict[str, Protocol] = {
    n: p for p in PROTOCOLS.values() for n in (p.name, *p.aliases)}


def protocol_names() -> tuple[str, ...]:
    """Canonical protocol names, in definition order."""
    return tuple(PROTOCOLS)


def get_protocol(protocol: str | Protocol) -> Protocol:
    """A protocol by name or alias (a :class:`Protocol` is returned as is).

    Raises ValueError naming ``protocol`` and the accepted names."""
    if isinstance(protocol, Protocol):
        return protocol
    found = _BY_NAME.get(protocol) if isinstance(protocol, str) else None
    if found is None:
        aliases = ", ".join(repr(a) for p in PROTOCOLS.values() for a in p.aliases)
        raise ValueError(f"protocol: expected one of {list(PROTOCOLS)} (aliases: {aliases}), "
                         f"got {protocol!r}")
    return found


def record_protocol(record: dict) -> tuple[str, str]:
    """(name, version) of the protocol a result record was scored under; records that carry
    no ``protocol_version`` were scored under version "1"."""
    return str(record["protocol"]), str(record.get("protocol_version", "1"))
