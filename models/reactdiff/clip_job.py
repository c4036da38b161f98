"""Training on a MARS-layout dataset (REACT2025/2026): the splits, their identities, and the
sampling temperature chosen on val under the protocol.

:func:`load_clip_training_splits` reads the train and val splits of a MARS root (default: the
embedded synthetic MARS dataset) as :class:`reactbench.data.mars.ClipSplit` with both roles as
inputs (each clip of a dyad is once the speaker and once the listener, so every recorded
reaction is a training target), the paired listener's attributes and coefficients as targets
and the 768-d audio features as the acoustic stream. The dataset identities recorded in the
checkpoint are those the REACT2025/2026 harness computes for the training split it hands to
``fit`` (attributes and coefficients of every clip), so :func:`.checkpoint.check_dataset`
compares like with like.

:func:`calibrate_clips` chooses the temperature as :mod:`.calibrate` does for REACT2024 data,
but scores the val split's speaker clips as the ``react2026`` protocol does: offline generation
in the harness's 750-frame chunks, the protocol's AU rounding, FRCorr and FRDist against the
session-pool targets (K = 10, seed 1234, linear alignment).
"""

from __future__ import annotations

import json
from pathlib import Path

from reactbench.atomic import atomic_path
from reactbench.data import mars_layout as ml
from reactbench.data.mars import clip_identity, load_clips
from reactbench.data.resolve import resolve_mars_data
from reactbench.data.targets import build_targets
from reactbench.errors import DataError, ModelError
from reactbench.harness.clips import generate_clips, round_aus
from reactbench.metrics.api import compute_metrics
from reactbench.protocols import get_protocol

from .calibrate import ALPHA, METRICS, SEED, choose, wants_temperature, write_sampling
from .config import ReactDiffConfig
from .plugin import VARIANT_CLASSES

PROTOCOLS = ("react2025", "react2026")  # the protocols whose data (MARS) trains this way
CALIBRATION_PROTOCOL = "react2026"  # speaker clips as inputs: half the generation of react2025


def harness_identity(root: Path, split: str) -> dict:
    """The identity of ``split`` as the REACT2025/2026 harness records the training split:
    a hash of every clip's attributes and coefficients (no audio)."""
    ids = [c for pool in ml.session_pools(root, split).values() for c in pool]
    return clip_identity(root, split, ids, audio=False)


def load_clip_training_splits(cfg: ReactDiffConfig, data=None, progress: bool = True):
    """(root, train ClipSplit, val ClipSplit or None, identities) of a MARS dataset."""
    root = Path(resolve_mars_data(data, progress=progress))
    features = any(s.source == f"audio:{ml.AUDIO_FEATURE_NAME}" for s in cfg.model.streams)
    splits = {}
    for name in ("train", "val"):
        if name == "val" and not (root / name / ml.ATTRIBUTES_DIR).is_dir():
            splits[name] = None
            continue
        try:
            splits[name] = load_clips(root, name, bidirectional=True, audio=False,
                                      audio_features=features, progress=progress)
        except DataError as exc:
            if features and ml.AUDIO_FEATURES_DIR in str(exc):
                raise ModelError(
                    f"{cfg.variant} reads the {ml.AUDIO_FEATURES_DIR} folder (768-d audio "
                    f"features per clip) but the dataset has none usable ({exc}). Add them, "
                    "or train a model without audio: `reactbench train --model "
                    "reactdiff-no-audio ...`") from None
            raise
    ids = {name: harness_identity(root, name) for name, s in splits.items() if s is not None}
    return root, splits["train"], splits["val"], ids


def score_clips(model_path: Path, variant: str, train, val, temperatures,
                device: str) -> list[dict]:
    """Offline val scores of ``model_path`` at each temperature under ``CALIBRATION_PROTOCOL``:
    [{temperature, FRCorr, FRDist}]."""
    protocol = get_protocol(CALIBRATION_PROTOCOL)
    targets = build_targets(val, k=protocol.targets_per_sample or 10,
                            seed=protocol.target_seed if protocol.target_seed is not None
                            else 1234)
    rows = []
    for t in temperatures:
        model = VARIANT_CLASSES[variant](checkpoint=str(model_path), check_data="false",
                                         temperature=str(t))
        model.fit(train, seed=SEED, device=device)
        pred = generate_clips(model, val, protocol=protocol, task="offline", alpha=ALPHA,
                              seed=SEED, name=variant).emotion
        pred, _ = round_aus(pred)
        s = compute_metrics(pred, None, val.speaker_emotion, None, targets=targets.targets,
                            protocol=protocol.name, metrics=list(METRICS))
        rows.append({"temperature": float(t), **{m: float(s[m]) for m in METRICS}})
    return rows


def calibrate_clips(model_path: Path, cfg: ReactDiffConfig, train, val, device: str,
                    log=print) -> dict | None:
    """Choose the temperature of ``cfg.train.temperatures`` on the MARS ``val`` split and write
    it into ``model_path`` and the scores into ``temperature.json``; None when there is nothing
    to choose or no val split."""
    if not wants_temperature(cfg.to_dict()):
        return None
    temperatures = tuple(cfg.train.temperatures)
    if val is None:
        log("warning: the dataset has no val split: the sampling temperature is not "
            "calibrated (1.0; --model-arg temperature=T sets one)")
        return None
    log(f"{cfg.variant}: choosing the sampling temperature on val under "
        f"{CALIBRATION_PROTOCOL} ({', '.join(map(str, temperatures))})")
    if val.bidirectional and not get_protocol(CALIBRATION_PROTOCOL).bidirectional:
        val = load_clips(val.root, val.split, bidirectional=False, audio=False,
                         audio_features=bool(val.speaker_audio))
    rows = score_clips(model_path, cfg.variant, train, val, temperatures, device)
    temp, how = choose(rows)
    how = how.replace("val split", f"val split ({CALIBRATION_PROTOCOL}, offline)", 1)
    for r in rows:
        log(f"  temperature {r['temperature']}: FRCorr {r['FRCorr']:.3f}, FRDist "
            f"{r['FRDist']:.2f}" + ("  <- chosen" if r["temperature"] == temp else ""))
    sampling = write_sampling(model_path, temp, how)
    with atomic_path(Path(model_path).with_name("temperature.json")) as tmp:
        tmp.write_text(json.dumps({"chosen": temp, "chosen_on": how, "alpha": ALPHA,
                                   "seed": SEED, "protocol": CALIBRATION_PROTOCOL,
                                   "scores": rows}, indent=1) + "\n")
    return sampling
