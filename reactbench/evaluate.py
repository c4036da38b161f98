"""The generation harness: model -> predictions (offline or causal online) -> metrics -> record.

Offline: ``model.generate`` receives whole clips, batch by batch.
Online: for every window [start, end) (``window`` frames, the last one may be shorter) the
harness calls ``model.generate_online`` with the speaker frames [0, end) ONLY -- fresh copies,
never views of the full arrays -- and keeps the returned frames [start, end). Causality is then
verified: on one sampled batch, the speaker frames after the end of a checked window are
perturbed and windows 0..k are generated again; if any of their reactions change, the run fails
naming the window. This catches models that learn future frames through state kept between
calls (e.g. memory of a clip seen in later windows) and models that are not reproducible for a
fixed seed (which makes online results unverifiable). It cannot catch a model that reads the
dataset files behind the harness's back, nor one that remembers clips across batches or seeds
(rows are mirrored: row r's listener is row r +- N/2's speaker, and one model instance serves
every batch and seed): that is against the rules, not detectable by input perturbation.

Predictions are cached under ``cache_dir()/predictions`` keyed by model name + version +
params, the model's code (class, hash of its source file, --model-arg options, and the
optional ``cache_identity`` of inputs it reads itself), dataset identity, split, task
(+ window), alpha, frames and seed: re-scoring never re-generates.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reactbench.constants import EMOTION_DIM, FACE_3DMM_DIM
from reactbench.errors import ModelError, ReactbenchError
from reactbench.models import (
    Reactions,
    SpeakerInput,
    display_fields,
    model_info,
    online_from_offline,
)
from reactbench.paths import cache_dir
from reactbench.predictions import Predictions, check_reactions
from reactbench.results import (
    SCHEMA_VERSION,
    check_distinct_targets,
    check_results_dir,
    json_default,
    json_problem,
    machine,
    metric_entry,
    now_iso,
    result_filename,
    software,
    write_result,
)

PREDICTIONS_CACHE_VERSION = "1"
NEIGHBOUR_METRICS = ("FRCorr", "FRDist", "FRRea")  # metrics that read the neighbour matrix
CAUSALITY_ATOL = {"cpu": 1e-5, "cuda": 1e-3}


class CausalityError(ModelError):
    """An online model's earlier reactions changed when future speaker frames changed."""


@dataclass
class RunOptions:
    """Everything that defines one evaluation (``reactbench run`` maps its flags here)."""

    split: str = "test"
    data: str | Path | None = None
    task: str = "offline"  # or "online"
    protocol: str = "official"  # or "corrected"
    alpha: int = 10
    seeds: tuple[int, ...] = (0,)
    bootstrap: int = 0
    device: str = "cpu"
    batch_size: int = 32
    window: int = 50
    frames: int = 750
    n_jobs: int = -1
    realism_3dmm: bool = False  # feed predicted/real 3DMM to FRRea-feat
    check_range: bool = True
    causality_windows: int = 2  # windows re-checked on the sampled batch (online)
    metrics: list[str] | None = None
    progress: bool = True
    cache: bool = True
    model_args: dict[str, dict[str, str]] = field(default_factory=dict)

    def validate(self) -> None:
        if self.task not in ("offline", "online"):
            raise ReactbenchError(f"--task must be offline or online, not {self.task!r}")
        if self.alpha < 1:
            raise ReactbenchError(f"--samples must be >= 1 (got {self.alpha})")
        if self.batch_size < 1:
            raise ReactbenchError(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.window < 1:
            raise ReactbenchError(f"--window must be >= 1 frame (got {self.window})")
        if not self.seeds:
            raise ReactbenchError("--seed needs at least one seed")
        negative = [s for s in self.seeds if s < 0]
        if negative:
            raise ReactbenchError(f"--seed {negative[0]}: generation seeds must be integers >= 0 "
                                  "(numpy's random generators refuse negative seeds)")
        dup = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
        if dup:
            raise ReactbenchError(f"--seed names {dup} more than once; values are means over "
                                  "seeds, so a repeated seed would be counted twice")
        check_common(frames=self.frames, bootstrap=self.bootstrap, device=self.device,
                     metrics=self.metrics, n_jobs=self.n_jobs)


def check_common(*, frames: int, bootstrap: int, device: str, metrics: list[str] | None,
                 n_jobs: int) -> None:
    """Validate the flags ``run`` and ``score`` share, before any data is loaded."""
    from reactbench.metrics import METRIC_NAMES
    from reactbench.metrics.constants import MAX_BOOTSTRAP
    from reactbench.metrics.validate import is_cuda_device

    if frames < 1:
        raise ReactbenchError(f"--frames must be >= 1 (got {frames})")
    if bootstrap < 0 or bootstrap == 1:
        raise ReactbenchError(f"--bootstrap must be 0 (no intervals) or >= 2 resamples (got "
                              f"{bootstrap})")
    if bootstrap > MAX_BOOTSTRAP:
        raise ReactbenchError(f"--bootstrap {bootstrap}: at most {MAX_BOOTSTRAP} resamples "
                              "(1000 give a stable 95% interval)")
    if n_jobs == 0 or n_jobs < -1:
        raise ReactbenchError(f"--jobs must be -1 (all cores) or >= 1 (got {n_jobs})")
    if str(device) != "cpu" and not is_cuda_device(device):
        raise ReactbenchError(f"--device must be cpu, cuda or cuda:N (got {device!r})")
    if metrics is not None:
        if not metrics:
            raise ReactbenchError("--metrics names no metric; e.g. --metrics FRCorr,FRDist")
        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if unknown:
            raise ReactbenchError(f"--metrics: unknown metric(s) {unknown}; choose from "
                                  f"{', '.join(METRIC_NAMES)}")
        dup = sorted({m for m in metrics if metrics.count(m) > 1})
        if dup:
            raise ReactbenchError(f"--metrics names {dup} more than once")


# ----------------------------------------------------------------------------- helpers
def _progress(iterable, *, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True,
                disable=None)  # no bar when stderr is not a terminal (logs, pipes)


def batches(n: int, batch_size: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def windows(frames: int, window: int) -> list[tuple[int, int]]:
    return [(s, min(s + window, frames)) for s in range(0, frames, window)]


def _copy(x: np.ndarray, rows: np.ndarray, end: int) -> np.ndarray:
    """Fresh contiguous float32 copy of x[rows, :end] (never a view of the full array)."""
    return np.array(x[rows, :end], dtype=np.float32, copy=True, order="C")


def speaker_input(
    data, rows: np.ndarray, end: int, *, with_listener: bool = False, source=None
) -> SpeakerInput:
    """SpeakerInput for ``rows`` with frames [0, end) only (copies).

    ``source`` optionally replaces the speaker arrays of these rows: a dict with "emotion",
    "face_3dmm" and "audio" (name -> array) holding (B, T, ...) arrays aligned with ``rows``
    (used by the causality check's perturbed copy).
    """
    if source is None:
        src, idx = {"emotion": data.speaker_emotion, "face_3dmm": data.speaker_3dmm,
                    "audio": data.speaker_audio}, rows
    else:
        src, idx = source, np.arange(len(rows))
    return SpeakerInput(
        emotion=_copy(src["emotion"], idx, end),
        face_3dmm=_copy(src["face_3dmm"], idx, end),
        audio={k: _copy(v, idx, end) for k, v in src["audio"].items()},
        rows=rows.copy(),
        clip_ids=[data.speaker_ids[i] for i in rows],
        fps=data.fps,
        listener_emotion=_copy(data.listener_emotion, rows, end) if with_listener else None,
        listener_3dmm=_copy(data.listener_3dmm, rows, end) if with_listener else None,
    )


def _call(model, name: str, what: str, rows, fn: Callable[[], Reactions]) -> Reactions:
    """``fn()``, its exceptions turned into a ModelError naming the model, the call, the
    speaker rows it was given (``rows``; None for calls not made per row, e.g. fit) and the
    line that raised."""
    try:
        return fn()
    except ReactbenchError:
        raise
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = what if rows is None else f"{what} for rows {int(rows[0])}..{int(rows[-1])}"
        raise ModelError(
            f"model {name!r} raised {type(exc).__name__}: {exc} (in {where}; at "
            f"{Path(frame.filename).name}:{frame.lineno})"
        ) from exc


def _online_call(model, inp: SpeakerInput, start: int, alpha: int, seed: int) -> Reactions:
    if callable(getattr(model, "generate_online", None)):
        return model.generate_online(inp, start=start, alpha=alpha, seed=seed)
    return online_from_offline(model, inp, start=start, alpha=alpha, seed=seed)


# ----------------------------------------------------------------------------- generation
def _physical_memory() -> int | None:
    """Bytes of physical memory of this machine (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_prediction_memory(n: int, alpha: int, frames: int) -> None:
    """Refuse (before any model work) an alpha whose predictions, (N, alpha, T, 25) float32,
    cannot fit in this machine's physical memory."""
    need = n * alpha * frames * EMOTION_DIM * 4
    have = _physical_memory()
    if have is not None and need > have:
        raise ReactbenchError(
            f"--samples {alpha}: the predictions (N, alpha, T, 25) = ({n}, {alpha}, {frames}, "
            f"{EMOTION_DIM}) float32 need {need / 2**30:.1f} GiB, more than this machine's "
            f"{have / 2**30:.1f} GiB of memory; use fewer --samples (the protocol uses 10)")


def generate_offline(model, data, *, alpha: int, seed: int, batch_size: int = 32,
                     check_range: bool = True, progress: bool = False, name: str = "model",
                     keep_face: bool = True) -> Predictions:
    """Offline predictions (N, alpha, T, 25) for every row of ``data`` (plus the model's 3DMM
    (N, alpha, T, 58) when it returns them and ``keep_face``)."""
    n, t = data.n, data.frames
    emotion = np.empty((n, alpha, t, EMOTION_DIM), dtype=np.float32)
    face: np.ndarray | None = None
    listener = bool(getattr(model, "needs_listener", False))
    todo = batches(n, batch_size)
    for rows in _progress(todo, total=len(todo), desc=f"{name} offline", enabled=progress):
        inp = speaker_input(data, rows, t, with_listener=listener)
        out = _call(model, name, "generate", rows,
                    lambda inp=inp: model.generate(inp, alpha=alpha, seed=seed))
        emo, fc = check_reactions(out, model=name, batch=len(rows), alpha=alpha, frames=t,
                                  rows=rows, clip_ids=inp.clip_ids, check_range=check_range)
        emotion[rows] = emo
        if keep_face:
            face = _store_face(face, fc, rows, (n, alpha, t, FACE_3DMM_DIM), rows[0] == 0, name)
    return Predictions(emotion=emotion, face_3dmm=face, speaker_ids=list(data.speaker_ids))


def _store_face(face, fc, rows, shape, first: bool, name: str, start: int = 0, end=None):
    """Collect optional 3DMM outputs; a model must return them always or never."""
    if fc is None:
        if face is not None:
            raise ModelError(f"model {name!r} returned 3DMM for some batches but not for rows "
                             f"{int(rows[0])}..{int(rows[-1])}")
        return None
    if face is None:
        if not (first and start == 0):
            raise ModelError(f"model {name!r} returned 3DMM for rows {int(rows[0])}.. only")
        face = np.empty(shape, dtype=np.float32)
    face[rows, :, start:end] = fc
    return face


def _online_rows(model, data, rows, *, alpha, seed, window, check_range, name, source=None,
                 upto: int | None = None, emotion=None, face=None, face_shape=None):
    """Run windows 0..upto (all when None) for ``rows``; returns per-window outputs."""
    t = data.frames
    listener = bool(getattr(model, "needs_listener", False))
    outs = []
    for k, (start, end) in enumerate(windows(t, window)):
        if upto is not None and k > upto:
            break
        inp = speaker_input(data, rows, end, with_listener=listener, source=source)
        out = _call(model, name, f"generate_online(start={start}, end={end})", rows,
                    lambda inp=inp, start=start: _online_call(model, inp, start, alpha, seed))
        emo, fc = check_reactions(out, model=name, batch=len(rows), alpha=alpha, frames=end,
                                  rows=rows, clip_ids=inp.clip_ids, start=start,
                                  check_range=check_range)
        emo, fc = emo.copy(), None if fc is None else fc.copy()  # the model may reuse buffers
        outs.append((start, end, emo, fc))
        if emotion is not None:
            emotion[rows, :, start:end] = emo
        if face_shape is not None:
            face = _store_face(face, fc, rows, face_shape, rows[0] == 0, name, start, end)
    return outs, face


def generate_online(model, data, *, alpha: int, seed: int, window: int = 50,
                    batch_size: int = 32, check_range: bool = True, progress: bool = False,
                    name: str = "model", keep_face: bool = True) -> Predictions:
    """Online predictions, window by window, each call seeing speaker frames [0, end) only."""
    n, t = data.n, data.frames
    emotion = np.empty((n, alpha, t, EMOTION_DIM), dtype=np.float32)
    face = None
    todo = batches(n, batch_size)
    for rows in _progress(todo, total=len(todo), desc=f"{name} online", enabled=progress):
        _, face = _online_rows(model, data, rows, alpha=alpha, seed=seed, window=window,
                               check_range=check_range, name=name, emotion=emotion, face=face,
                               face_shape=(n, alpha, t, FACE_3DMM_DIM) if keep_face else None)
    return Predictions(emotion=emotion, face_3dmm=face, speaker_ids=list(data.speaker_ids))


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
        outs, _ = _online_rows(model, data, rows, alpha=alpha, seed=seed, window=window,
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


# ----------------------------------------------------------------------------- cache
def model_code(model, args: dict[str, str], data=None) -> dict:
    """What identifies a model's code beyond its ModelInfo: its class, the sha256 of the file
    that defines the class (None when it has no source file) and its --model-arg options.
    Part of the predictions cache key, so that two plug-ins sharing a name and version, an
    edited plug-in file, or an option the model forgot to put into ``params`` never share
    cached reactions. With ``data`` (the evaluated split), a model's optional
    ``cache_identity(data)`` (reactbench.models) is added as ``inputs`` when it is not None:
    inputs the model reads itself, e.g. feature files (absent otherwise, so keys stay as
    they were for models without it)."""
    import inspect

    cls = type(model)
    digest = None
    try:
        source = inspect.getsourcefile(cls)
        if source:
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except (OSError, TypeError):
        pass
    code = {"class": f"{cls.__module__}.{cls.__qualname__}", "source_sha256": digest,
            "args": dict(sorted(args.items()))}
    hook = getattr(model, "cache_identity", None) if data is not None else None
    if callable(hook):
        name = getattr(getattr(model, "info", None), "name", cls.__name__)
        inputs = _call(model, name, "cache_identity", None, lambda: hook(data))
        if inputs is not None:
            problem = json_problem(inputs, "cache_identity()")
            if problem:
                raise ModelError(f"model {name!r}: {problem}; cache_identity must return None "
                                 "or JSON values")
            code["inputs"] = json.loads(json.dumps(inputs, default=_json_default))
    return code


def predictions_key(info, identity: dict, *, split: str, task: str, window: int | None,
                    alpha: int, seed: int, frames: int, keep_face: bool = True,
                    code: dict | None = None) -> str:
    payload = {
        "code": code,
        "face": keep_face,
        "cache": PREDICTIONS_CACHE_VERSION,
        "model": info.name,
        "version": info.version,
        "params": info.params,
        "dataset": {k: v for k, v in identity.items() if k not in ("root", "rows")},
        "split": split,
        "task": task,
        "window": window,
        "alpha": alpha,
        "seed": seed,
        "frames": frames,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def predictions_path(name: str, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return cache_dir() / "predictions" / f"{safe}-{key[:20]}.npz"


def load_cached(path: Path, n: int, alpha: int, frames: int) -> tuple[Predictions, dict] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            emo = npz["emotion"]
            face = npz["face_3dmm"] if "face_3dmm" in npz.files else None
            ids = npz["speaker_ids"].tolist() if "speaker_ids" in npz.files else None
            meta = json.loads(str(npz["meta"])) if "meta" in npz.files else {}
    except Exception:
        return None  # unreadable cache entry: regenerate
    if emo.shape != (n, alpha, frames, EMOTION_DIM) or not np.isfinite(emo).all():
        return None
    return Predictions(emotion=emo, face_3dmm=face, speaker_ids=ids), meta


# ----------------------------------------------------------------------------- scoring
def score(preds: Predictions, data, *, protocol: str, bootstrap: int, seed: int, n_jobs: int,
          device: str, realism_3dmm: bool, metrics: list[str] | None, progress: bool,
          log=print):
    """compute_metrics on the split's ground truth; returns its MetricScores.

    With ``realism_3dmm`` FRRea-feat sees emotion + 3DMM features; predictions without 3DMM
    then get no FRRea (a value in another feature space would not be comparable).
    """
    from reactbench.metrics import METRIC_NAMES, compute_metrics

    preflight(data, metrics=metrics, alpha=preds.alpha)
    use_face = realism_3dmm and preds.face_3dmm is not None
    if realism_3dmm and not use_face:
        wanted = list(metrics) if metrics else list(METRIC_NAMES)
        if "FRRea" in wanted:
            log("  (no 3DMM reactions: FRRea-feat with --realism-3dmm is skipped)")
            metrics = [m for m in wanted if m != "FRRea"]
    try:
        return compute_metrics(
            preds.emotion, data.listener_emotion, data.speaker_emotion, data.neighbours,
            protocol=protocol, metrics=metrics, n_jobs=n_jobs, device=device,
            bootstrap=bootstrap, seed=seed, pred_3dmm=preds.face_3dmm if use_face else None,
            listener_3dmm=data.listener_3dmm if use_face else None, progress=progress,
        )
    except ReactbenchError:
        raise
    except ValueError as exc:  # the metrics' input checks: report them as clean CLI errors
        raise ReactbenchError(f"scoring failed: {exc}") from exc


def preflight(data, *, metrics: list[str] | None, alpha: int,
              alpha_source: str = "--samples") -> None:
    """Fail BEFORE generating when the requested metrics cannot be computed on this split
    (``alpha_source``: what sets alpha, named in the error)."""
    from reactbench.metrics import METRIC_NAMES

    names = list(metrics) if metrics else list(METRIC_NAMES)
    unknown = [m for m in names if m not in METRIC_NAMES]
    if unknown:
        raise ReactbenchError(f"--metrics: unknown metric(s) {unknown}; choose from "
                              f"{', '.join(METRIC_NAMES)}")
    need_nb = [m for m in names if m in NEIGHBOUR_METRICS]
    if need_nb and data.neighbours is None:
        raise ReactbenchError(
            f"split {data.split!r} of {data.root} has no neighbour matrix "
            f"(neighbour_emotion_{data.split}.npy), which {', '.join(need_nb)} need: build it "
            f"with `reactbench appropriate --data {data.root} --split {data.split}`, or pass "
            "--metrics without them"
        )
    if "FRDiv" in names and alpha < 2:
        raise ReactbenchError(f"FRDiv compares reactions of one speaker: it needs {alpha_source} "
                              f">= 2 (got {alpha}); or pass --metrics without FRDiv")
    if "FRDvs" in names and data.n < 2:
        raise ReactbenchError(f"FRDvs compares speakers: the split has N = {data.n} row")


def aggregate(per_seed: list[tuple[int, Any]]) -> tuple[dict, dict, list | None, dict]:
    """Per-seed MetricScores -> (metrics entries, extra, per_seed list, metric timings).

    Values are means over seeds, ``std`` the spread over seeds (several seeds only), ``ci`` the
    bootstrap interval (with several seeds: the mean of the per-seed interval bounds).
    """
    from reactbench.metrics import DIRECTIONS, METRIC_NAMES

    first = per_seed[0][1]
    names = [m for m in METRIC_NAMES if m in first] + [m for m in first if m not in METRIC_NAMES]
    entries = {}
    for m in names:
        vals = np.array([float(s[m]) for _, s in per_seed])
        cis = [s.ci.get(m) for _, s in per_seed if getattr(s, "ci", None)]
        ci = None
        if cis and all(c is not None for c in cis) and len(cis) == len(per_seed):
            ci = (float(np.mean([c[0] for c in cis])), float(np.mean([c[1] for c in cis])))
        entries[m] = metric_entry(
            vals.mean(), direction=DIRECTIONS.get(m, "higher"),
            version=getattr(first, "versions", {}).get(m), ci=ci,
            std=vals.std(ddof=1) if len(vals) > 1 else None,
        )
    extra_keys = sorted({k for _, s in per_seed for k in getattr(s, "extra", {})})
    extra = {k: float(np.mean([float(s.extra[k]) for _, s in per_seed if k in s.extra]))
             for k in extra_keys}
    seeds = None
    if len(per_seed) > 1:
        seeds = [{"seed": sd, "metrics": {m: float(s[m]) for m in names}} for sd, s in per_seed]
    timings: dict[str, float] = {}
    for _, s in per_seed:
        for k, v in getattr(s, "timings", {}).items():
            timings[k] = timings.get(k, 0.0) + float(v)
    return entries, extra, seeds, timings


# ----------------------------------------------------------------------------- one model
@dataclass
class DataBundle:
    """The evaluated split (loaded once per run) and a lazily loaded training split."""

    root: Path
    test: Any
    identity: dict
    options: RunOptions
    _train: Any = None
    _train_audio: bool = False

    def train_identity(self) -> dict | None:
        """Identity of the training split (part of the cache key of models that fit on it)."""
        from reactbench.data import dataset_identity

        try:
            ident = dataset_identity(self.root, "train")
        except ReactbenchError:
            return None
        ident.pop("root", None)
        return ident

    def train(self, audio: bool):
        if self._train is None or (audio and not self._train_audio):
            from reactbench.data import load_split

            self._train = load_split(self.root, "train", frames=self.options.frames, audio=audio,
                                     neighbours=False, progress=self.options.progress)
            self._train_audio = audio
        return self._train


def evaluate_model(spec: str, bundle: DataBundle, *, model=None, log=print) -> dict:
    """Generate (or reuse cached) predictions for every seed, check causality online, score,
    and return the result record (not yet written)."""
    from reactbench import registry

    opt = bundle.options
    data = bundle.test
    timings: dict[str, float] = {"fit": 0.0, "generate": 0.0, "causality": 0.0, "score": 0.0}
    if model is None:
        model = registry.create_model(spec, **opt.model_args.get(spec, {}))
    info = model_info(model)
    name = info.name
    online = opt.task == "online"
    window = opt.window if online else None
    fitted = False
    per_seed = []
    pred_files = []
    causality = None
    identity = dict(bundle.identity)
    if getattr(model, "needs_train", True):
        identity["train"] = bundle.train_identity()
    # inputs a model reads itself only matter for the cache (hashing them can be slow)
    code = model_code(model, opt.model_args.get(spec, {}), data if opt.cache else None)
    for seed in opt.seeds:
        key = predictions_key(info, identity, split=opt.split, task=opt.task,
                              window=window, alpha=opt.alpha, seed=seed, frames=data.frames,
                              keep_face=opt.realism_3dmm, code=code)
        path = predictions_path(name, key)
        cached = load_cached(path, data.n, opt.alpha, data.frames) if opt.cache else None
        if cached is not None and online and not cached[1].get("causality", {}).get("passed"):
            cached = None
        if cached is not None:
            preds, meta = cached
            causality = meta.get("causality", causality)
            log(f"[{name}] seed {seed}: reusing cached predictions {path}")
        else:
            if not fitted:
                t0 = time.perf_counter()
                train = None
                if getattr(model, "needs_train", True):
                    train = bundle.train(audio=bool(getattr(model, "needs_audio", True)))
                if callable(getattr(model, "fit", None)):  # fit is optional
                    _call(model, name, "fit", None,
                          lambda train=train, seed=seed: model.fit(train, seed=seed,
                                                                   device=opt.device))
                timings["fit"] += time.perf_counter() - t0
                fitted = True
            t0 = time.perf_counter()
            kw = dict(alpha=opt.alpha, seed=seed, batch_size=opt.batch_size,
                      check_range=opt.check_range, progress=opt.progress, name=name,
                      keep_face=opt.realism_3dmm)
            if online:
                preds = generate_online(model, data, window=opt.window, **kw)
            else:
                preds = generate_offline(model, data, **kw)
            timings["generate"] += time.perf_counter() - t0
            meta = {"model": name, "version": info.version, "key": key}
            if online:
                t0 = time.perf_counter()
                causality = check_causality(
                    model, data, preds, alpha=opt.alpha, seed=seed, window=opt.window,
                    batch_size=opt.batch_size, n_windows=opt.causality_windows,
                    check_range=opt.check_range, device=opt.device, name=name)
                timings["causality"] += time.perf_counter() - t0
                meta["causality"] = causality
            if opt.cache:
                from reactbench.predictions import save_predictions

                save_predictions(path, preds, meta)
        t0 = time.perf_counter()
        scores = score(preds, data, protocol=opt.protocol, bootstrap=opt.bootstrap, seed=seed,
                       n_jobs=opt.n_jobs, device=opt.device, realism_3dmm=opt.realism_3dmm,
                       log=log,
                       metrics=opt.metrics, progress=opt.progress)
        timings["score"] += time.perf_counter() - t0
        per_seed.append((seed, scores))
        pred_files.append({"seed": seed, "path": str(path) if opt.cache else None, "key": key,
                           "reused": cached is not None})
    model_meta = {
        "spec": spec,
        "name": name,
        "version": info.version,
        "params": info.params,
        "citation": info.citation,
        "reference": bool(getattr(model, "needs_listener", False)),
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        **display_fields(info),  # table row labels and order (ModelInfo.display, ...)
        # what a trained model was fitted on (ModelInfo.trained_on); absent when unknown
        **({"trained_on": info.trained_on} if info.trained_on is not None else {}),
    }
    return make_record(
        kind="run", opt=opt, per_seed=per_seed, model=model_meta,
        dataset={**bundle.identity, "n": data.n, "frames": data.frames},
        predictions=pred_files, causality=causality, timings=timings,
    )


def make_record(*, kind: str, opt: RunOptions, per_seed, model: dict, dataset: dict,
                predictions: list, causality, timings: dict,
                bootstrap_seed: int | None = None) -> dict:
    """Assemble a result record (schema: reactbench.results) from per-seed MetricScores;
    ``bootstrap_seed``: the bootstrap's seed when it is not the generation seed (score)."""
    entries, extra, seeds, metric_timings = aggregate(per_seed)
    record = {
        "schema": SCHEMA_VERSION,
        "created": now_iso(),
        "kind": kind,
        "task": opt.task,
        "window": opt.window if opt.task == "online" else None,
        "split": opt.split,
        "alpha": opt.alpha,
        "seeds": list(opt.seeds),
        "protocol": getattr(per_seed[0][1], "protocol", opt.protocol),
        "bootstrap": opt.bootstrap,
        "bootstrap_seed": bootstrap_seed,
        # what FRRea-feat saw; None when FRRea was not computed
        "realism_features": getattr(per_seed[0][1], "realism_features", None),
        "metrics": entries,
        "extra": extra,
        "per_seed": seeds,
        "model": model,
        "dataset": dataset,
        "predictions": predictions,
        "causality": causality,
        "software": software(),
        "machine": machine(opt.device),
        "timings": {**timings, "metrics": metric_timings},
    }
    return json.loads(json.dumps(record, default=_json_default))


def _json_default(obj):
    """``results.json_default`` (numpy values, paths), and text for anything else."""
    try:
        return json_default(obj)
    except TypeError:
        return str(obj)


# ----------------------------------------------------------------------------- a whole run
def load_bundle(opt: RunOptions, need_audio: bool) -> DataBundle:
    from reactbench.data import dataset_identity, load_split, resolve_data

    root = Path(resolve_data(opt.data))
    test = load_split(root, opt.split, frames=opt.frames, audio=need_audio, neighbours=True,
                      progress=opt.progress)
    check_prediction_memory(test.n, opt.alpha, test.frames)
    if opt.task == "online":
        check_window_fits(opt.window, test.frames, opt.split, "choose a window shorter than "
                          f"{test.frames} frames or --task offline")
    return DataBundle(root=root, test=test, identity=dataset_identity(root, opt.split),
                      options=opt)


def run(
    specs: list[str], opt: RunOptions, out: str | Path, *, skip_existing: bool = False,
    models: dict[str, Any] | None = None, log=print
) -> list[tuple[dict, Path]]:
    """Evaluate every model spec, writing one result JSON per model into ``out``.

    ``models``: spec -> a model the caller already created from ``opt.model_args[spec]``
    (e.g. to inspect it first); the other specs are created here.

    All target files are checked BEFORE any work: a results directory that already holds one
    of these runs is an error (nothing is overwritten) unless ``skip_existing``, which keeps
    the existing result, skips that model and returns the stored record instead. A model that
    fails stops the run with a ModelError; results already written for earlier models stay
    (each is complete). Returns (record, path) per model, in ``specs`` order.
    """
    from reactbench import registry
    from reactbench.errors import ResultsError
    from reactbench.results import read_result

    opt.validate()
    out = check_results_dir(out)
    given, models = models or {}, {}
    for s in specs:
        models[s] = given[s] if s in given else registry.create_model(
            s, **opt.model_args.get(s, {}))
    targets, infos = {}, {s: model_info(m) for s, m in models.items()}
    for s, info in infos.items():
        taken = registry.BUILTIN_MODELS.get(info.name)  # tables print them as GT, B_Mime, ...
        if taken and taken not in (s, registry.BUILTIN_MODELS.get(s)):
            raise ModelError(f"model {s!r} calls itself {info.name!r}, the name of the "
                             f"built-in model {taken}; choose another ModelInfo.name")
        stub = {"model": {"name": info.name}, "task": opt.task, "split": opt.split,
                "protocol": opt.protocol, "alpha": opt.alpha, "seeds": list(opt.seeds)}
        targets[s] = out / result_filename(stub)
    check_distinct_targets(targets, {s: info.name for s, info in infos.items()})
    clash = [s for s, p in targets.items() if p.exists()]
    if clash and not skip_existing:
        raise ResultsError(
            f"results directory {out} already holds these runs: "
            f"{', '.join(str(targets[s]) for s in clash)}; nothing was run or overwritten "
            "(remove them, choose another --out, or pass --skip-existing)"
        )
    existing = {s: (read_result(targets[s]), targets[s]) for s in clash}
    todo = {s: m for s, m in models.items() if s not in existing}
    need_audio = any(getattr(m, "needs_audio", True) for m in todo.values())
    t0 = time.perf_counter()
    bundle = load_bundle(opt, need_audio)  # also what a kept result is checked against
    load_s = time.perf_counter() - t0
    for s, (rec, path) in existing.items():
        stale = stale_fields(rec, spec=s, info=infos[s], identity=bundle.identity,
                             frames=bundle.test.frames, opt=opt)
        if stale:
            raise ResultsError(
                f"--skip-existing: {path} is not the run asked for ({'; '.join(stale)}); "
                "nothing was run or overwritten (remove it or choose another --out)")
        log(f"[{s}] keeping existing result {path}")
    if todo:
        log(f"data: {bundle.root} split {opt.split}: N = {bundle.test.n} rows, "
            f"T = {bundle.test.frames} frames ({load_s:.1f} s)")
        preflight(bundle.test, metrics=opt.metrics, alpha=opt.alpha)
    written = {}
    for s, m in todo.items():
        t1 = time.perf_counter()
        record = evaluate_model(s, bundle, model=m, log=log)
        record["timings"]["load"] = round(load_s, 4)
        record["timings"]["total"] = round(time.perf_counter() - t1 + load_s, 4)
        path = write_result(record, targets[s])
        log(f"[{record['model']['name']}] wrote {path}")
        written[s] = (record, path)
    return [existing[s] if s in existing else written[s] for s in specs]


def stale_fields(record: dict, *, spec: str, info, identity: dict, frames: int,
                 opt: RunOptions) -> list[str]:
    """How a stored result differs from the run ``opt`` would make for model ``spec``
    on a split loaded with ``frames`` frames (empty: the same run). Paths in model params
    compare by file name, so a moved checkout keeps its results."""
    from reactbench.metrics import METRIC_NAMES

    def same(a, b) -> bool:
        if isinstance(a, str) and isinstance(b, str) and ("/" in a or "/" in b):
            return Path(a).name == Path(b).name
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return a == b

    model, data = record.get("model") or {}, record.get("dataset") or {}
    params = json.loads(json.dumps(info.params, default=_json_default))
    wanted = set(opt.metrics or METRIC_NAMES)
    if opt.realism_3dmm and record.get("realism_features") is None:
        wanted.discard("FRRea")  # the model returned no 3DMM: FRRea was skipped
    feats = "emotion+3dmm" if opt.realism_3dmm else "emotion"
    window = opt.window if opt.task == "online" else None
    stored = record.get("metrics", {})
    checks = [  # (what, stored, asked, same)
        ("model spec", model.get("spec"), spec, model.get("spec") == spec),
        ("model version", model.get("version"), info.version,
         model.get("version") == info.version),
        ("model params", model.get("params"), params, same(model.get("params"), params)),
        ("dataset content", data.get("content_hash"), identity.get("content_hash"),
         data.get("content_hash") == identity.get("content_hash")),
        ("frames", data.get("frames"), frames, data.get("frames") == frames),
        ("window", record.get("window"), window, record.get("window") == window),
        ("bootstrap", record.get("bootstrap"), opt.bootstrap,
         record.get("bootstrap") == opt.bootstrap),
        ("metrics", sorted(stored), sorted(wanted), set(stored) == wanted),
        ("realism features", record.get("realism_features"), feats,
         record.get("realism_features") in (None, feats)),
    ]
    return [f"{what}: stored {got!r}, asked {want!r}" for what, got, want, ok in checks
            if not ok]


# ----------------------------------------------------------------------------- saved predictions
def score_predictions(source, *, split: str = "test", data=None, frames: int = 750,
                      protocol: str = "official", bootstrap: int = 0, metrics=None,
                      device: str = "cpu", n_jobs: int = -1, task: str = "offline",
                      name: str | None = None, seed: int = 0, out: str | Path = "runs",
                      realism_3dmm: bool = False, check_range: bool = True,
                      progress: bool = False, window: int | None = None) -> tuple[dict, Path]:
    """Validate saved predictions against the split (before any metric), score them and
    write a result file (kind "score") into ``out``; returns (record, path).

    ``window``: online only, and required there: the window length (frames) the predictions
    were generated with, as declared (recorded; tables refuse to mix windows). ``seed``: the
    bootstrap's seed (recorded as ``bootstrap_seed``)."""
    from reactbench.data import dataset_identity, load_split, resolve_data
    from reactbench.errors import ResultsError
    from reactbench.predictions import check_predictions, load_predictions

    check_common(frames=frames, bootstrap=bootstrap, device=device, metrics=metrics,
                 n_jobs=n_jobs)
    check_score_window(task, window)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ReactbenchError(f"--seed {seed!r}: the bootstrap seed must be an integer >= 0")
    if name is not None and not name.strip():
        raise ReactbenchError(f"--name {name!r}: expected a model name with some text, or no "
                              "--name for the predictions file's name")
    out = check_results_dir(out)
    source = Path(source)
    root = Path(resolve_data(data))
    t0 = time.perf_counter()
    split_data = load_split(root, split, frames=frames, audio=False, neighbours=True,
                            progress=progress)
    load_s = time.perf_counter() - t0
    if task == "online":
        check_window_fits(window, split_data.frames, split, "give the window the predictions "
                          "were made with, or --task offline")
    preds = load_predictions(source, speaker_ids=split_data.speaker_ids)
    check_predictions(preds, n=split_data.n, frames=split_data.frames,
                      speaker_ids=split_data.speaker_ids, check_range=check_range,
                      source=str(source))
    preds.emotion = np.asarray(preds.emotion, dtype=np.float32)
    preflight(split_data, metrics=metrics, alpha=preds.alpha,
              alpha_source="predictions with alpha (the second axis)")
    opt = RunOptions(split=split, data=root, task=task, protocol=protocol, window=window or 0,
                     alpha=preds.alpha, seeds=(), bootstrap=bootstrap, device=device,
                     frames=split_data.frames, n_jobs=n_jobs, realism_3dmm=realism_3dmm,
                     metrics=metrics)
    name = name or (source.stem if source.is_file() else source.name)
    stub = {"model": {"name": name}, "task": task, "split": split, "protocol": protocol,
            "alpha": preds.alpha, "seeds": []}
    target = Path(out) / result_filename(stub)
    if target.exists():
        raise ResultsError(f"{target} already holds a result{_holder(target, name)}; nothing "
                           "was scored or overwritten (remove it or choose another --out)")
    t0 = time.perf_counter()
    scores = score(preds, split_data, protocol=protocol, bootstrap=bootstrap, seed=seed,
                   n_jobs=n_jobs, device=device, realism_3dmm=realism_3dmm, metrics=metrics,
                   progress=progress)
    score_s = time.perf_counter() - t0
    model_meta = {"spec": str(source), "name": name, "version": "file", "params": {},
                  "citation": "", "reference": False, "class": None}
    record = make_record(
        kind="score", opt=opt, per_seed=[(seed, scores)], model=model_meta,
        dataset={**dataset_identity(root, split), "n": split_data.n, "frames": split_data.frames},
        predictions=[{"seed": None, "path": str(source.resolve()), "key": None, "reused": True}],
        causality=None, timings={"load": load_s, "score": score_s}, bootstrap_seed=seed,
    )
    return record, write_result(record, target)


def check_window_fits(window: int, frames: int, split: str, remedy: str) -> None:
    """Refuse an online window that is not shorter than the clips (``frames``): one window
    would see the whole clip, which is the offline task; ``remedy`` says what to do."""
    if window >= frames:
        raise ReactbenchError(
            f"--window {window}: the clips of {split} hold T = {frames} frames, so one window "
            f"would see the whole clip (that is the offline task); {remedy}")


def check_score_window(task: str, window: int | None) -> None:
    """``score --window``: required (>= 1) with ``--task online``, refused offline."""
    if task == "online" and window is None:
        raise ReactbenchError("score --task online needs --window W: the window length "
                              "(frames) the predictions were generated with; it is recorded "
                              "in the result and tables refuse to mix windows")
    if task == "online" and (isinstance(window, bool) or not isinstance(window, int)
                             or window < 1):
        raise ReactbenchError(f"--window must be an integer >= 1 frame (got {window!r})")
    if task != "online" and window is not None:
        raise ReactbenchError(f"--window {window} applies to --task online only (got --task "
                              f"{task})")


def _holder(path: Path, name: str) -> str:
    """`` (of model 'x')`` when ``path`` holds another model name than ``name``."""
    from reactbench.results import read_result

    try:
        other = read_result(path)["model"]["name"]
    except ReactbenchError:
        return ""
    if other == name:
        return ""
    return (f" of model {other!r}, whose name maps to the same file name as {name!r} "
            "(file names keep only letters, digits and ._-)")
