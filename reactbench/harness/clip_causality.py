"""The online causality check on variable-length clips (REACT2025/2026), at window level.

Windows are generated independently, each from the speaker frames it is given, and share
batches with other windows (of the same clip too). For one sampled clip and window k, the
clip's speaker frames after window k's end are perturbed and every batch that holds a window of
that clip is generated again, as in the run; the reactions of windows 0..k must not change.
This catches models that read other rows of a batch (a later window of the same clip), keep
state between calls, or are not reproducible for a fixed seed.
"""

from __future__ import annotations

import numpy as np

from reactbench.clip_predictions import RaggedPredictions
from reactbench.data.mars import ClipSplit
from reactbench.harness.causality import CAUSALITY_ATOL, CausalityError
from reactbench.harness.clips import generation_plan, plan_segments, run_segments, segment_batches
from reactbench.protocols import Protocol


def _perturbed(data: ClipSplit, row: int, end: int, seed: int) -> dict:
    """Copies of sample ``row``'s speaker arrays whose frames [end, T) are time-reversed and
    shifted by random noise, so every future value differs."""
    rng = np.random.default_rng([seed, end, row, 7])

    def perturb(arr: np.ndarray) -> np.ndarray:
        sub = np.array(arr, dtype=np.float32, copy=True)
        fut = sub[end:]
        sub[end:] = fut[::-1] + rng.uniform(0.05, 0.5, fut.shape).astype(np.float32)
        return sub

    return {"emotion": perturb(data.speaker_emotion[row]),
            "face_3dmm": perturb(data.speaker_3dmm[row]) if data.speaker_3dmm else None,
            "audio": {k: perturb(v[row]) for k, v in data.speaker_audio.items()}}


def check_clip_causality(model, data: ClipSplit, preds: RaggedPredictions, *,
                         protocol: Protocol, alpha: int, seed: int, batch_size: int,
                         n_windows: int = 2, check_range: bool = True, device: str = "cpu",
                         name: str = "model") -> dict:
    """Window-level causality of online generation: for one sampled clip and window k, the
    clip's speaker frames after window k's end are perturbed and every batch that holds a
    window of that clip is generated again (as in the run); the reactions of windows 0..k
    must not change. Catches models that read other rows of a batch (a later window of the
    same clip), keep state between calls, or are not reproducible for a fixed seed. Raises
    CausalityError; returns a summary (recorded in the result file)."""
    plan = generation_plan(protocol, "online")
    segs = plan_segments(data.lengths, **plan)
    rng = np.random.default_rng([seed, 2025])
    multi = [k for k in range(data.n) if int(data.lengths[k]) > plan["step"]]
    if not multi:
        return {"passed": True, "windows_checked": [], "rows_checked": [],
                "detail": "every clip fits in a single window: nothing lies in the future"}
    row = multi[int(rng.integers(len(multi)))]
    mine = [s for s in segs if s.row == row]
    later = list(range(1, len(mine) - 1))
    extra = rng.choice(later, size=min(len(later), max(0, n_windows - 1)), replace=False) \
        if later else []
    picks = sorted({0, *(int(k) for k in extra)})
    batches = segment_batches(segs, batch_size)
    touched = [b for b in batches if any(s.row == row for s in b)]
    atol = CAUSALITY_ATOL["cuda" if str(device).startswith("cuda") else "cpu"]
    for k in picks:
        end_k = mine[k].out_end
        override = {row: _perturbed(data, row, end_k, seed)}
        # perturbed inputs may give reactions out of range in later windows: only windows
        # 0..k are compared, so the range is not checked here
        for s, emo, _fc in run_segments(model, data, touched, alpha=alpha, seed=seed,
                                        check_range=False, name=name, override=override):
            if s.row != row or s.out_end > end_k:
                continue
            ref = preds.emotion[row][:, s.out_start:s.out_end]
            diff = np.abs(emo - ref)
            if diff.max() > atol + 1e-4 * np.abs(ref).max():
                j = mine.index(s)
                raise CausalityError(
                    f"online causality check failed for model {name!r}: the reactions for "
                    f"window {j} (frames [{s.out_start}, {s.out_end})) of clip "
                    f"{data.sample_ids[row]!r} changed by up to {diff.max():.4g} when the clip's "
                    f"speaker frames from {end_k} on were perturbed and its batches were "
                    "generated again. Each window may only use the speaker frames it is given "
                    "(its own row of the batch); it must not read other rows (later windows of "
                    "the same clip), keep state between calls, or differ between calls with the "
                    "same seed. The run was stopped; nothing was written.")
    return {"passed": True, "windows_checked": [[mine[k].out_start, mine[k].out_end]
                                                for k in picks],
            "rows_checked": [int(row)], "detail": "perturbed future speaker frames of one clip"}
