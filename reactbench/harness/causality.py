"""The online causality check: does an online model's output for earlier windows change when
only future speaker frames change?

On one sampled batch, the speaker frames after the end of a checked window are perturbed and
windows 0..k are generated again; if any of their reactions change, the run fails naming the
window. This catches models that learn future frames through state kept between calls (e.g.
memory of a clip seen in later windows) and models that are not reproducible for a fixed seed
(which makes online results unverifiable). It cannot catch a model that reads the dataset files
behind the harness's back, nor one that remembers clips across batches or seeds (rows are
mirrored: row r's listener is row r +- N/2's speaker, and one model instance serves every batch
and seed): that is against the rules, not detectable by input perturbation.
"""

from __future__ import annotations

import numpy as np

from reactbench.errors import ModelError
from reactbench.harness.generate import batches, online_rows, windows
from reactbench.predictions import Predictions

CAUSALITY_ATOL = {"cpu": 1e-5, "cuda": 1e-3}  # absolute tolerance per device kind


class CausalityError(ModelError):
    """An online model's earlier reactions changed when future speaker frames changed."""


def perturbed_speaker(data, rows: np.ndarray, end: int, seed: int) -> dict:
    """Copies of the speaker arrays of ``rows`` ((B, T, ...), aligned with ``rows``) whose frames
    [end, T) are time-reversed and shifted by random noise, so every future value differs."""
    rng = np.random.default_rng([seed, end, 7])

    def perturb(arr: np.ndarray) -> np.ndarray:
        sub = np.array(arr[rows], dtype=np.float32, copy=True)
        fut = sub[:, end:]
        sub[:, end:] = fut[:, ::-1] + rng.uniform(0.05, 0.5, fut.shape).astype(np.float32)
        return sub

    return {
        "emotion": perturb(data.speaker_emotion),
        "face_3dmm": perturb(data.speaker_3dmm),
        "audio": {k: perturb(v) for k, v in data.speaker_audio.items()},
    }


def check_causality(model, data, preds: Predictions, *, alpha: int, seed: int, window: int,
                    batch_size: int, n_windows: int = 2, check_range: bool = True,
                    device: str = "cpu", name: str = "model") -> dict:
    """Re-run windows 0..k of one sampled batch with speaker frames after window k perturbed;
    raise CausalityError if any reaction of windows 0..k differs from ``preds``.

    Returns a summary dict (recorded in the result file).
    """
    wins = windows(data.frames, window)
    if len(wins) < 2:
        return {"passed": True, "windows_checked": [], "rows_checked": [],
                "detail": "a single window: nothing lies in the future"}
    rng = np.random.default_rng([seed, 2024])
    all_batches = batches(data.n, batch_size)
    rows = all_batches[int(rng.integers(len(all_batches)))]
    # window 0 always (cheap; catches state remembered from the main run) plus seeded others;
    # the last window has no future frames
    later = list(range(1, len(wins) - 1))
    extra = rng.choice(later, size=min(len(later), max(0, n_windows - 1)), replace=False)
    picks = sorted({0, *(int(k) for k in extra)})
    atol = CAUSALITY_ATOL["cuda" if device.startswith("cuda") else "cpu"]
    for k in picks:
        end_k = wins[k][1]
        source = perturbed_speaker(data, rows, end_k, seed)
        outs, _ = online_rows(model, data, rows, alpha=alpha, seed=seed, window=window,
                              check_range=check_range, name=name, source=source, upto=k)
        for j, (start, end, emo, _fc) in enumerate(outs):
            ref = preds.emotion[rows, :, start:end]
            diff = np.abs(emo - ref)
            if diff.max() > atol + 1e-4 * np.abs(ref).max():
                b = int(np.argwhere(diff == diff.max())[0][0])
                raise CausalityError(
                    f"online causality check failed for model {name!r}: the reactions for window "
                    f"{j} (frames [{start}, {end})) of row {int(rows[b])} (speaker "
                    f"{data.speaker_ids[rows[b]]!r}) changed by up to {diff.max():.4g} when the "
                    f"speaker frames from {end_k} on were perturbed and windows 0..{k} were "
                    "generated again. An online model may only use speaker frames [0, end) of the "
                    "current call; it must not keep future frames seen in other calls (reset "
                    "per-row state when start == 0), and it must be reproducible for a fixed "
                    "seed. The run was stopped; nothing was written."
                )
    return {"passed": True, "windows_checked": [list(wins[k]) for k in picks],
            "rows_checked": [int(r) for r in rows], "detail": "perturbed future speaker frames"}
