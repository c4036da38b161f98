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
``react2024-corrected`` are accepted as aliases. A protocol's ``version`` is bumped when any
value it defines changes for the same input.
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
    # FRCorr: added to the CCC denominator (official code only)
    ccc_eps: float = 1e-8
    # FRDist: weighted sum of one DTW per column group, added in this order
    dtw_groups: tuple[DtwGroup, ...] = (
        DtwGroup(0, 15, 1.0 / 15.0), DtwGroup(15, 17, 1.0), DtwGroup(17, 25, 1.0 / 8.0))
    # FRSyn: lags -tlcc_max_lag .. +tlcc_max_lag frames (2 s at 25 fps, minus one frame)
    tlcc_max_lag: int = 49
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

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (OFFICIAL, CORRECTED)}
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
