"""Generation: a model's reactions for every row of a split, offline or online.

Offline: ``model.generate`` receives whole clips, batch by batch.
Online: for every window [start, end) (``window`` frames, the last one may be shorter) the
harness calls ``model.generate_online`` with the speaker frames [0, end) ONLY -- fresh copies,
never views of the full arrays -- and keeps the returned frames [start, end).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from reactbench import memory
from reactbench.constants import EMOTION_DIM, FACE_3DMM_DIM
from reactbench.errors import ModelError, ReactbenchError, message_template, param
from reactbench.memory import physical_memory
from reactbench.models import Reactions, SpeakerInput, online_from_offline
from reactbench.predictions import Predictions, check_reactions
from reactbench.tracebacks import exception_location, model_sources


def progress_bar(iterable: Iterable | None, *, total: int, desc: str, enabled: bool,
                 unit: str = "it") -> Iterable:
    """``iterable`` with a progress bar when ``enabled`` and stderr is a terminal; with
    ``iterable`` None, a bar of ``total`` units advanced by its ``update(n)`` (fractions too;
    a silent one when not ``enabled``)."""
    if not enabled and iterable is not None:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, unit=unit,
                # no bar when stderr is not a terminal (logs, pipes)
                disable=None if enabled else True)


def _takes_progress(fn) -> bool:
    """Whether ``fn`` (a model's generate) accepts a ``progress`` keyword."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params


def batches(n: int, batch_size: int) -> list[np.ndarray]:
    """Row indices 0..n-1 in consecutive batches of at most ``batch_size``."""
    return [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def windows(frames: int, window: int) -> list[tuple[int, int]]:
    """Online windows [start, end) of ``window`` frames covering 0..frames (the last may be
    shorter)."""
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


def call_model(model, name: str, what: str, rows, fn: Callable[[], Any]) -> Any:
    """``fn()``, its exceptions turned into a ModelError naming the model, the call, the
    speaker rows it was given (``rows``; None for calls not made per row, e.g. fit) and where
    it happened: the last line of the model's own code and the line that raised
    (:func:`reactbench.tracebacks.exception_location`). The original exception is chained
    (``__cause__``) with its whole traceback."""
    try:
        return fn()
    except ReactbenchError:
        raise
    except Exception as exc:
        where = what if rows is None else f"{what} for rows {int(rows[0])}..{int(rows[-1])}"
        location = exception_location(exc, model_sources(model))
        raise ModelError(
            f"model {name!r} raised {type(exc).__name__}: {message_template(exc)} (in "
            f"{where}{'; ' + location if location else ''})"
        ) from exc


def _online_call(model, inp: SpeakerInput, start: int, alpha: int, seed: int) -> Reactions:
    if callable(getattr(model, "generate_online", None)):
        return model.generate_online(inp, start=start, alpha=alpha, seed=seed)
    return online_from_offline(model, inp, start=start, alpha=alpha, seed=seed)


def check_prediction_memory(n: int, alpha: int, frames: int, *, keep_face: bool = False,
                            batch_size: int = 0) -> None:
    """Refuse (before any model work) an alpha whose predictions, (N, alpha, T, 25) float32
    (plus (N, alpha, T, 58) 3DMM when ``keep_face``), and one batch of ``batch_size`` rows of
    model output cannot fit in the memory this process may use (physical memory, or the room
    left under its cgroup memory limit: :mod:`reactbench.memory`)."""
    dims = EMOTION_DIM + (FACE_3DMM_DIM if keep_face else 0)
    preds = n * alpha * frames * dims * 4
    buffers = min(batch_size, n) * alpha * frames * dims * 4
    limit = memory.limit_from(physical_memory(), memory.cgroup_memory())
    if limit is None or preds + buffers <= limit.available:
        return
    face = f" and 3DMM (N, alpha, T, {FACE_3DMM_DIM})" if keep_face else ""
    need = memory.gib(preds)
    if preds <= limit.available:
        need += f" plus {memory.gib(buffers)} for one batch of model output"
    raise ReactbenchError(
        f"{param('alpha', alpha)}: the predictions (N, alpha, T, 25) = ({n}, {alpha}, "
        f"{frames}, {EMOTION_DIM}){face} float32 need {need}, more than {limit.source}; use "
        f"fewer {param('alpha')} (the protocol uses 10)")


def generate_offline(model, data, *, alpha: int, seed: int, batch_size: int = 32,
                     check_range: bool = True, progress: bool = False, name: str = "model",
                     keep_face: bool = True) -> Predictions:
    """Offline predictions (N, alpha, T, 25) for every row of ``data`` (plus the model's 3DMM
    (N, alpha, T, 58) when it returns them and ``keep_face``). The progress bar counts rows;
    a model whose ``generate`` takes ``progress`` reports the fraction of each batch done."""
    n, t = data.n, data.frames
    emotion = np.empty((n, alpha, t, EMOTION_DIM), dtype=np.float32)
    face: np.ndarray | None = None
    listener = bool(getattr(model, "needs_listener", False))
    bar = progress_bar(None, total=n, desc=f"{name} offline", enabled=progress, unit="row")
    report = progress and _takes_progress(model.generate)
    for rows in batches(n, batch_size):
        inp = speaker_input(data, rows, t, with_listener=listener)

        def advance(fraction: float, done: int = int(rows[0]), size: int = len(rows)) -> None:
            step = done + min(max(float(fraction), 0.0), 1.0) * size - bar.n
            if step > 0:
                bar.update(step)

        kw = {"progress": advance} if report else {}
        out = call_model(model, name, "generate", rows,
                         lambda inp=inp, kw=kw: model.generate(inp, alpha=alpha, seed=seed, **kw))
        advance(1.0)
        emo, fc = check_reactions(out, model=name, batch=len(rows), alpha=alpha, frames=t,
                                  rows=rows, clip_ids=inp.clip_ids, check_range=check_range)
        emotion[rows] = emo
        if keep_face:
            face = _store_face(face, fc, rows, (n, alpha, t, FACE_3DMM_DIM), rows[0] == 0, name)
    bar.close()
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


def online_rows(model, data, rows, *, alpha, seed, window, check_range, name, source=None,
                upto: int | None = None, emotion=None, face=None, face_shape=None):
    """Run windows 0..upto (all when None) for ``rows``; returns (per-window outputs
    [(start, end, emotion (B, alpha, end - start, 25), 3DMM or None)], collected 3DMM).

    ``source``: replacement speaker arrays (see ``speaker_input``); ``emotion``/``face``:
    arrays to fill in place; ``face_shape``: collect 3DMM into an array of this shape."""
    t = data.frames
    listener = bool(getattr(model, "needs_listener", False))
    outs = []
    for k, (start, end) in enumerate(windows(t, window)):
        if upto is not None and k > upto:
            break
        inp = speaker_input(data, rows, end, with_listener=listener, source=source)
        out = call_model(model, name, f"generate_online(start={start}, end={end})", rows,
                         lambda inp=inp, start=start: _online_call(model, inp, start, alpha,
                                                                   seed))
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
    """Online predictions (N, alpha, T, 25), window by window, each call seeing speaker frames
    [0, end) only."""
    n, t = data.n, data.frames
    emotion = np.empty((n, alpha, t, EMOTION_DIM), dtype=np.float32)
    face = None
    todo = batches(n, batch_size)
    for rows in progress_bar(todo, total=len(todo), desc=f"{name} online", enabled=progress):
        _, face = online_rows(model, data, rows, alpha=alpha, seed=seed, window=window,
                              check_range=check_range, name=name, emotion=emotion, face=face,
                              face_shape=(n, alpha, t, FACE_3DMM_DIM) if keep_face else None)
    return Predictions(emotion=emotion, face_3dmm=face, speaker_ids=list(data.speaker_ids))
