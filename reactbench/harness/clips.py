"""Generation on variable-length clips (the ``"targets"`` protocols: REACT2025/2026).

A model keeps its one ``generate(SpeakerInput, alpha, seed)``; the harness cuts every clip into
fixed-length segments, so each call receives a batch of equal-length inputs, and the segments
of all clips share batches:

* offline: a clip of L frames is zero-padded at its end to ``b * chunk`` frames (b =
  ceil(L / chunk), ``chunk`` = the protocol's ``offline_chunk``, 750) and cut into b chunks;
  each chunk is generated independently and keeps its first ``min(chunk, L - start)`` output
  frames;
* online: window i (``window`` = 30 frames) predicts clip frames [30i, min(30i + 30, L)) from
  the ``speaker_context`` (60) speaker frames ending at the window's end, clip frames
  [30i + 30 - 60, 30i + 30), zero where they lie before the clip's start or after its end;
  the model returns 60 frames, of which output frames [30, 30 + kept) are the window's (kept =
  min(30, L - 30i)). Windows are generated independently: no output is fed back.

The kept frames of the segments are concatenated in time order (cropped to L). The
``SpeakerInput.spans`` of a call say which clip frames each row covers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from reactbench.clip_predictions import RaggedPredictions
from reactbench.constants import AU, EMOTION_DIM, FACE_3DMM_DIM
from reactbench.errors import ModelError, ReactbenchError, param
from reactbench.harness.generate import call_model, progress_bar
from reactbench.models import SpeakerInput
from reactbench.predictions import check_reactions
from reactbench.protocols import Protocol


@dataclass(frozen=True)
class Segment:
    """One model input of a clip: sample ``row``, input clip frames [in_start, in_start + size)
    (zero outside the clip), kept output clip frames [out_start, out_end)."""

    row: int
    in_start: int
    size: int
    out_start: int
    out_end: int

    @property
    def offset(self) -> int:
        """Index of the first kept frame in the model's output of ``size`` frames."""
        return self.out_start - self.in_start


def segment_spans(length: int, *, step: int, size: int, before: int = 0
                  ) -> list[tuple[int, int, int]]:
    """(in_start, out_start, out_end) of every segment of a clip of ``length`` frames.

    Segment i keeps clip frames [i * step, min((i + 1) * step, length)) and sees input frames
    [i * step - before, i * step - before + size). Offline: step = size = chunk, before = 0;
    online: step = window, size = speaker context, before = context - window."""
    if length < 1:
        raise ReactbenchError(f"a clip of {length} frames has no segments; expected >= 1 frame")
    if step < 1 or size < step + before or before < 0:
        raise ReactbenchError(f"segments of step {step}, size {size}, context before {before}: "
                              "expected step >= 1, before >= 0 and size >= step + before")
    n = math.ceil(length / step)
    return [(i * step - before, i * step, min((i + 1) * step, length)) for i in range(n)]


def generation_plan(protocol: Protocol, task: str) -> dict[str, int]:
    """The segment arithmetic of ``task`` under ``protocol``: {step, size, before}."""
    if task == "offline":
        chunk = protocol.offline_chunk
        if chunk is None:
            raise ReactbenchError(f"protocol {protocol.name!r} defines no offline chunk")
        return {"step": chunk, "size": chunk, "before": 0}
    context = protocol.speaker_context or protocol.window
    return {"step": protocol.window, "size": context, "before": context - protocol.window}


def plan_segments(lengths, *, step: int, size: int, before: int) -> list[Segment]:
    """Every segment of every clip, in sample order then time order."""
    return [Segment(k, s, size, a, b) for k, n in enumerate(lengths)
            for s, a, b in segment_spans(int(n), step=step, size=size, before=before)]


def cut(x: np.ndarray, start: int, size: int) -> np.ndarray:
    """Clip frames [start, start + size) of x (L, D) as a fresh float32 array, zero outside
    the clip."""
    out = np.zeros((size, x.shape[1]), dtype=np.float32)
    lo, hi = max(start, 0), min(start + size, len(x))
    if hi > lo:
        out[lo - start:hi - start] = x[lo:hi]
    return out


def _speaker_arrays(data, row: int, override: dict | None) -> dict:
    """The speaker arrays of sample ``row`` (or its replacement from ``override``)."""
    if override is not None and row in override:
        return override[row]
    return {"emotion": data.speaker_emotion[row],
            "face_3dmm": data.speaker_3dmm[row] if data.speaker_3dmm else None,
            "audio": {k: v[row] for k, v in data.speaker_audio.items()}}


def segment_input(data, segs: list[Segment], *, with_listener: bool = False,
                  override: dict | None = None) -> SpeakerInput:
    """SpeakerInput of a batch of segments: (B, size, ...) copies, zero outside each clip."""
    size = segs[0].size
    src = [_speaker_arrays(data, s.row, override) for s in segs]
    emotion = np.stack([cut(a["emotion"], s.in_start, size) for a, s in zip(src, segs)])
    face = np.stack([cut(a["face_3dmm"], s.in_start, size) if a["face_3dmm"] is not None
                     else np.zeros((size, FACE_3DMM_DIM), dtype=np.float32)
                     for a, s in zip(src, segs)])
    audio = {k: np.stack([cut(a["audio"][k], s.in_start, size) for a, s in zip(src, segs)])
             for k in data.speaker_audio}
    rows = np.array([s.row for s in segs], dtype=np.int64)
    listener = listener_face = None
    if with_listener:
        listener = np.stack([cut(data.listener_emotion[s.row], s.in_start, size) for s in segs])
        if data.listener_3dmm:
            listener_face = np.stack([cut(data.listener_3dmm[s.row], s.in_start, size)
                                      for s in segs])
    spans = np.array([[s.in_start, s.in_start + size] for s in segs], dtype=np.int64)
    return SpeakerInput(emotion=emotion, face_3dmm=face, audio=audio, rows=rows,
                        clip_ids=[data.sample_ids[s.row] for s in segs], fps=data.fps,
                        listener_emotion=listener, listener_3dmm=listener_face, spans=spans)


def segment_batches(segs: list[Segment], batch_size: int) -> list[list[Segment]]:
    """Consecutive batches of at most ``batch_size`` segments."""
    return [segs[i:i + batch_size] for i in range(0, len(segs), batch_size)]


def run_segments(model, data, batches: list[list[Segment]], *, alpha: int, seed: int,
                 check_range: bool, name: str, override: dict | None = None,
                 progress: bool = False, desc: str = ""
                 ) -> Iterator[tuple[Segment, np.ndarray, np.ndarray | None]]:
    """(segment, kept emotion (alpha, out_end - out_start, 25), kept 3DMM or None) for every
    segment of ``batches``, one ``model.generate`` call per batch."""
    listener = bool(getattr(model, "needs_listener", False))
    for segs in progress_bar(batches, total=len(batches), desc=desc, enabled=progress):
        inp = segment_input(data, segs, with_listener=listener, override=override)
        rows = inp.rows
        span = f"clip frames [{segs[0].in_start}, {segs[0].in_start + segs[0].size})"
        out = call_model(model, name, f"generate ({span} of the first row)", rows,
                         lambda inp=inp: model.generate(inp, alpha=alpha, seed=seed))
        emo, face = check_reactions(out, model=name, batch=len(segs), alpha=alpha,
                                    frames=segs[0].size, rows=rows, clip_ids=inp.clip_ids,
                                    check_range=check_range)
        for b, s in enumerate(segs):
            keep = slice(s.offset, s.offset + s.out_end - s.out_start)
            yield s, emo[b, :, keep].copy(), None if face is None else face[b, :, keep].copy()


def generate_clips(model, data, *, protocol: Protocol, task: str, alpha: int, seed: int,
                   batch_size: int = 32, check_range: bool = True, progress: bool = False,
                   name: str = "model", keep_face: bool = False) -> RaggedPredictions:
    """Predictions for every sample of ``data`` (a :class:`reactbench.data.mars.ClipSplit`):
    N arrays (alpha, T_k, 25), offline in independent chunks, online in independent windows
    (see the module doc)."""
    plan = generation_plan(protocol, task)
    segs = plan_segments(data.lengths, **plan)
    emotion = [np.empty((alpha, int(n), EMOTION_DIM), dtype=np.float32) for n in data.lengths]
    face: list[np.ndarray] | None = None
    seen_face: bool | None = None
    for s, emo, fc in run_segments(model, data, segment_batches(segs, batch_size), alpha=alpha,
                                   seed=seed, check_range=check_range, name=name,
                                   progress=progress, desc=f"{name} {task}"):
        emotion[s.row][:, s.out_start:s.out_end] = emo
        if seen_face is None:
            seen_face = fc is not None
        elif seen_face != (fc is not None):
            raise ModelError(f"model {name!r} returned 3DMM for some batches but not for "
                             f"sample {data.sample_ids[s.row]!r}; return them always or never")
        if keep_face and fc is not None:
            if face is None:
                face = [np.empty((alpha, int(n), FACE_3DMM_DIM), dtype=np.float32)
                        for n in data.lengths]
            face[s.row][:, s.out_start:s.out_end] = fc
    return RaggedPredictions(emotion=emotion, face_3dmm=face, sample_ids=list(data.sample_ids))


def round_aus(emotion: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Predicted AU columns 0-14 rounded half to even, not clipped (the challenge code's
    ``data_clamp``): copies, and the number of rounded AU values outside {0, 1}."""
    out, outside = [], 0
    for x in emotion:
        y = np.array(x, dtype=np.float32, copy=True)
        y[..., AU] = np.round(y[..., AU])
        outside += int(np.count_nonzero((y[..., AU] != 0) & (y[..., AU] != 1)))
        out.append(y)
    return out, outside


def check_task(model, name: str, task: str, protocol: Protocol, window: int) -> None:
    """Refuse what a ``"targets"`` protocol cannot run: an online window other than the
    protocol's, and whole-sample reference models online."""
    if task == "online" and window != protocol.window:
        raise ReactbenchError(
            f"{param('window', window)}: protocol {protocol.name!r} generates online in windows "
            f"of {protocol.window} frames with {protocol.speaker_context} frames of speaker "
            f"context; leave {param('window')} out or pass {param('window', protocol.window)}")
    if task == "online" and callable(getattr(model, "generate_samples", None)):
        raise ReactbenchError(
            f"model {name!r} is computed on whole samples, as the challenge's naive-baselines "
            f"script computes it, not window by window; run it with {param('task', 'offline')}")


__all__ = ["Segment", "segment_spans", "generation_plan", "plan_segments", "cut",
           "segment_input", "segment_batches", "run_segments", "generate_clips", "round_aus",
           "check_task"]
