"""Resuming a run: which configuration fields may differ from the checkpoint's, and reading the
model file a stage 2 takes its stage 1 from."""

from __future__ import annotations

from pathlib import Path

from reactbench.errors import ModelError, param

from . import checkpoint as ck
from .config import ReactDiffConfig

AFTER_TRAINING = {("train", "temperatures")}


def resume_differences(ckpt: dict, cfg: ReactDiffConfig, widths: dict,
                       identities: dict) -> list[str]:
    """How a training checkpoint's run differs from the run asked for (config fields, stream
    widths, dataset identities); empty when it may be resumed."""
    out = []
    stored, asked = ckpt.get("config", {}), cfg.to_dict()
    for section in ("model", "train"):
        a, b = stored.get(section, {}), asked.get(section, {})
        for key in sorted(set(a) | set(b)):
            if (section, key) in AFTER_TRAINING:
                continue
            if _plain(a.get(key)) != _plain(b.get(key)):
                out.append(f"{section}.{key}: run {a.get(key)!r}, asked {b.get(key)!r}")
    if stored.get("variant", cfg.variant) != cfg.variant:
        out.append(f"variant: run {stored.get('variant')!r}, asked {cfg.variant!r}")
    if dict(ckpt.get("widths", {})) != dict(widths):
        out.append(f"stream widths: run {ckpt.get('widths')}, asked {dict(widths)}")
    for split in ("train", "val"):
        a = ck.identity_key((ckpt.get("dataset") or {}).get(split) or {})
        b = ck.identity_key((identities or {}).get(split) or {})
        if a and b and a != b:
            out.append(f"{split} data: run {a}, asked {b}")
    return out


def _plain(value):
    """Tuples as lists, so a config read back from a checkpoint compares equal."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


STAGE1_PREFIXES = ("encoder.", "decoder.", "stream_norm.", "target_norm.")
STAGE1_FIELDS = ("streams", "d_model", "heads", "intra_blocks", "inter_layers", "latent_dim",
                 "dec_d_model", "dec_layers", "dec_heads", "window", "dropout", "frame_skip",
                 "fusion")


def check_stage1_from(stage: str, path: str | Path) -> dict:
    """``stage1_from`` needs ``stage`` "2" and a readable model file; returns its dict."""
    if stage != "2":
        raise ModelError(f"{param('stage1_from')} takes stage 1 from a model file: use it with "
                         f"{param('stage', 2)}")
    return ck.read_checkpoint(path)
