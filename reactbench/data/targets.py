"""Appropriate reactions of REACT2025/2026 as a per-sample target list (the session-pool rule).

Rule ``session-pool`` (the 2026 naive-baselines script's): for each sample, in sample order,
target 0 is the paired clip; the other ``k - 1`` targets are drawn from the *other* clips of
the opposite role in the same session (the input clip is never a candidate, it has the input's
role). One ``random.Random(seed)`` serves all samples, consumed in sample order:

* at least ``k - 1`` others: ``rng.sample(others, k - 1)`` (no repeats);
* 1 to ``k - 2`` others: ``rng.choices(others, k=k - 1)`` (with replacement);
* no others: the paired clip repeated (the generator is not consumed).

The pools list clips in sorted order (:func:`reactbench.data.mars_layout.session_pools`), so
the ids are bit-identical to the script's. Their SHA-256 (:func:`ids_sha256`) goes into the
result record so anyone can re-score against the same targets.

Targets whose length differs from the sample's are aligned to it:

* ``gt_align="linear"`` (a labelled deviation from the official code, which uses a learned
  post-processor whose checkpoint is not public): equal lengths pass through unchanged;
  otherwise every column is resampled linearly at align-corners positions
  ``t * (L' - 1) / (L - 1)`` in float64 and stored as float32, then the AUs (columns 0-14) are
  re-thresholded (``>= 0.5`` -> 1, else 0). FE rows stay probability vectors (convex
  combinations of two rows).
* ``gt_align="emotionvae"``: the official post-processor with a user-supplied checkpoint
  (:mod:`reactbench.data.emotionvae`); its SHA-256 and the torch seed are recorded. Its
  latent draws are seeded here, not as in the challenge run, so it is labelled a deviation too
  (:data:`DEVIATIONS`).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reactbench.constants import AU
from reactbench.data import mars_layout as ml
from reactbench.data.mars import ClipSplit
from reactbench.errors import DataError, param

RULE = "session-pool"
SEED = 1234  # the challenge scripts' seed
K = 10  # targets per sample (paired + 9)
GT_ALIGN = ("linear", "emotionvae")
POST_CLIP_LENGTH = 1000  # frames per EmotionVAE segment (the official post_clip_length)
# how each alignment departs from the challenge code (recorded as ``metadata["deviation"]``)
DEVIATIONS = {
    "linear": "linear resampling with AUs re-thresholded instead of the challenge's learned "
              "post-processor",
    "emotionvae": "the challenge's post-processor with a user-supplied checkpoint; its latent "
                  "draws follow torch.manual_seed(torch_seed) set just before the first target, "
                  "not the challenge run's random state",
}


def select_targets(sample_ids: list[str], pools: dict[str, list[str]], *, k: int = K,
                   seed: int = SEED) -> list[list[str]]:
    """Target clip ids per sample: ``k`` ids, the paired clip first (see the module doc).

    sample_ids: (N,) input ids ``"<role>/<session>/<stem>"`` in sample order; pools:
    ``"<role>/<session>"`` -> the sorted ids of that role and session."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataError(f"{param('k', repr(k))}: expected a whole number of targets per sample "
                        ">= 1")
    rng = random.Random(seed)
    extra = int(k) - 1
    out = []
    for cid in sample_ids:
        role, session, _ = ml.parse_id(cid)
        paired = ml.paired_id(cid)
        others = [c for c in pools.get(f"{ml.opposite(role)}/{session}", []) if c != paired]
        if extra == 0:
            drawn: list[str] = []
        elif len(others) >= extra:
            drawn = rng.sample(others, extra)
        elif others:
            drawn = rng.choices(others, k=extra)
        else:
            drawn = [paired] * extra
        out.append([paired, *drawn])
    return out


def ids_sha256(ids: list[list[str]]) -> str:
    """SHA-256 of the target id lists: UTF-8 of their compact JSON (``[["a","b"],...]``)."""
    return hashlib.sha256(json.dumps(ids, separators=(",", ":")).encode()).hexdigest()


def attributes_sha256(attributes: dict[str, np.ndarray], ids: list[str]) -> str:
    """SHA-256 of the facial attributes of clips ``ids`` (sorted, each repeated id once): per
    clip its id, its shape and its float32 C-order bytes. Equal for the same clips with the same
    values, whatever other modalities a loader read."""
    h = hashlib.sha256(b"reactbench.attributes/1")
    for cid in sorted(set(ids)):
        x = np.ascontiguousarray(attributes[cid], dtype=np.float32)
        h.update(json.dumps([cid, list(x.shape)]).encode())
        h.update(x.tobytes())
    return h.hexdigest()


def align_linear(target: np.ndarray, length: int) -> np.ndarray:
    """(L', 25) target -> (length, 25) float32 (see the module doc: ``gt_align="linear"``).

    Equal length: the values unchanged (as float32). A one-frame target is repeated."""
    x = np.asarray(target)
    if len(x) == length:
        return x.astype(np.float32, copy=True)
    if length < 1 or len(x) < 1:
        raise DataError(f"align_linear: cannot align {len(x)} frames to {length}; expected "
                        "at least one frame on both sides")
    if length == 1:
        pos = np.zeros(1)
    else:
        pos = np.arange(length, dtype=np.float64) * ((len(x) - 1) / (length - 1))
    i0 = np.minimum(np.floor(pos).astype(np.int64), len(x) - 1)
    i1 = np.minimum(i0 + 1, len(x) - 1)
    w = (pos - i0)[:, None]
    x64 = x.astype(np.float64)
    out = (1.0 - w) * x64[i0] + w * x64[i1]
    out[:, AU] = (out[:, AU] >= 0.5).astype(np.float64)
    return out.astype(np.float32)


@dataclass
class Targets:
    """Aligned targets of a split: ``targets[k]`` is (K, T_k, 25) float32, ``ids[k]`` its K
    clip ids (paired first), ``metadata`` what a result record carries."""

    targets: list[np.ndarray]
    ids: list[list[str]]
    metadata: dict = field(default_factory=dict)


def build_targets(split: ClipSplit, *, k: int = K, seed: int = SEED, gt_align: str = "linear",
                  checkpoint: str | Path | None = None, torch_seed: int = SEED,
                  post_clip_length: int = POST_CLIP_LENGTH, device: str = "cpu",
                  ids: list[list[str]] | None = None) -> Targets:
    """The session-pool targets of every sample of ``split``, aligned to the sample's length
    (``ids``: the target ids per sample to use instead of drawing them, e.g. read back from a
    result's targets file; ``k`` and ``seed`` are then only recorded).

    gt_align: ``"linear"`` or ``"emotionvae"`` (needs ``checkpoint``, an EmotionVAE state
    dict; ``torch_seed`` seeds its stochastic latent once before the first target is aligned,
    targets are aligned in sample order then target order; ``post_clip_length`` frames per
    segment; ``device`` where it runs). metadata: {rule, seed, k, gt_align, deviation,
    ids_sha256} plus, for emotionvae, {checkpoint_sha256, torch_seed, post_clip_length}.
    """
    if gt_align not in GT_ALIGN:
        raise DataError(f"{param('gt_align', repr(gt_align))}: expected one of "
                        f"{', '.join(GT_ALIGN)}")
    if ids is None:
        ids = select_targets(split.sample_ids, split.pools, k=k, seed=seed)
    meta: dict = {"rule": RULE, "seed": int(seed), "k": int(k), "gt_align": gt_align,
                  "deviation": DEVIATIONS[gt_align], "ids_sha256": ids_sha256(ids)}
    missing = [c for row in ids for c in row if c not in split.attributes]
    if missing:
        raise DataError(f"target clip {missing[0]} of split {split.split} was not loaded; "
                        "expected every facial-attributes file of the split in "
                        "ClipSplit.attributes")
    raw = [[split.attributes[c] for c in row] for row in ids]
    if gt_align == "linear":
        out = [np.stack([align_linear(t, int(n)) for t in row])
               for row, n in zip(raw, split.lengths)]
        return Targets(out, ids, meta)
    if checkpoint is None:
        raise DataError(f"{param('gt_align', repr(gt_align))} needs {param('checkpoint')}: the "
                        "path of an EmotionVAE checkpoint (the official post-processor is not "
                        "distributed with reactbench); or use the linear alignment")
    # imported on use: torch is heavy and only this alignment needs it
    from reactbench.data.emotionvae import EmotionVAEAligner

    aligner = EmotionVAEAligner.from_checkpoint(checkpoint, post_clip_length=post_clip_length,
                                                device=device)
    aligned = aligner.align_all(raw, [int(n) for n in split.lengths], seed=torch_seed)
    meta.update(checkpoint_sha256=aligner.checkpoint_sha256, torch_seed=int(torch_seed),
                post_clip_length=int(post_clip_length))
    return Targets([np.stack(row) for row in aligned], ids, meta)


__all__ = ["select_targets", "ids_sha256", "attributes_sha256", "align_linear", "build_targets",
           "Targets", "RULE", "SEED", "K", "GT_ALIGN", "POST_CLIP_LENGTH", "DEVIATIONS"]
