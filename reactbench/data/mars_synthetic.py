"""The embedded synthetic MARS-layout dataset (REACT2025/2026): variable-length dyads, 30 fps.

Design: each session is one latent conversation context of
:mod:`reactbench.data.synthetic_model` (turn schedule, expressive events, tone, listener
styles), drawn at the longest clip length. A session holds several dyads; a dyad replays a
window of its session's context, starting at its own offset, with individual jitter (as the
REACT2024-style generator does per pair), so the listeners of one session react alike and are
appropriate for each other's speakers: the session pool of the REACT2025 rule is the truth.
The latent model's timings are in frames, so at 30 fps its turns and lags are 5/6 as long as at
25 fps.

Clip lengths of a split spread geometrically from ``min_frames`` to ``max_frames`` (default 90
to 600: more than 6x) in a seeded order. Per person (role ``speaker`` = person 0, ``listener``
= person 1 of the dyad; same session and stem):

* ``facial-attributes`` (T, 25) float32, ``coefficients`` (T, 1, 58) float32;
* ``audio`` 16 kHz 16-bit mono wav of T/30 s (the voice is synthesised at the latent model's
  25 fps control rate from controls resampled in time, then cut or zero-padded to the exact
  sample count);
* ``audio-features`` (T, 768) float16: a fixed seeded projection of the voice controls and
  attributes through tanh, plus noise (a stand-in for wav2vec2 features at the frame count).

Deterministic per seed (every dyad draws from ``SeedSequence([seed, split, session, dyad])``).
Written atomically: a temporary sibling folder renamed at the end, under the folder's lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from reactbench.constants import EMOTION_DIM
from reactbench.constants import FPS as LATENT_FPS
from reactbench.data import mars_layout as ml
from reactbench.data.mars import META_FILE
from reactbench.data.synthetic import claim_folder, staged_folder
from reactbench.data.synthetic_model import (
    SAMPLE_RATE,
    STYLES_PER_CONTEXT,
    Context,
    jitter_events,
    make_contexts,
    person,
    voice,
)
from reactbench.errors import DataError, param

GENERATOR_VERSION = "mars-synth-1"
DEFAULT_SESSIONS = 6
DEFAULT_DYADS = {"train": 4, "val": 2, "test": 4}  # dyads per session
DEFAULT_MIN_FRAMES = 90
DEFAULT_MAX_FRAMES = 600
MAX_FRAMES = 60 * 60 * ml.FPS  # one hour per clip: a bound that catches typos
MAX_DYADS = 10_000  # per session and split
_SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}
_CONTROLS = ("voiced", "fric", "loud", "pitch", "vowel")


def _stem(split: str, session: int, dyad: int) -> str:
    return f"Synthetic-{split}-{session:02d}{dyad:03d}"


def clip_lengths(n: int, min_frames: int, max_frames: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """(n,) int lengths spread geometrically over [min_frames, max_frames] (both reached when
    n >= 2), in a seeded order."""
    if n == 1:
        return np.array([min_frames])
    return rng.permutation(np.round(np.geomspace(min_frames, max_frames, n)).astype(int))


def _resample(x: np.ndarray, n: int) -> np.ndarray:
    """A per-frame signal at 30 fps -> ``n`` frames at the latent model's rate (linear)."""
    src = (np.arange(len(x)) + 0.5) / ml.FPS
    dst = (np.arange(n) + 0.5) / LATENT_FPS
    return np.interp(dst, src, x)


def _wav(rng: np.random.Generator, controls: dict, f0: float, T: int) -> np.ndarray:
    """16 kHz float32 waveform lasting exactly T/30 s."""
    n25 = max(1, int(round(T * LATENT_FPS / ml.FPS)))
    y = voice(rng, {k: _resample(v, n25) for k, v in controls.items()}, f0, n25)
    n = int(round(T * SAMPLE_RATE / ml.FPS))
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def _features(rng: np.random.Generator, controls: dict, emotion: np.ndarray,
              W: np.ndarray) -> np.ndarray:
    """(T, 768) float16 audio features at the frame count."""
    x = np.column_stack([controls[k] for k in _CONTROLS] + [emotion])
    f = np.tanh(x @ W) + 0.05 * rng.standard_normal((len(x), W.shape[1]))
    return f.astype(np.float16)


def _globals(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 104729]))
    w_exp = rng.normal(0.0, 1.5 / np.sqrt(EMOTION_DIM), (52, EMOTION_DIM))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 130363]))
    w_feat = rng.normal(0.0, 0.6, (len(_CONTROLS) + EMOTION_DIM, ml.AUDIO_FEATURE_DIM))
    return w_exp, w_feat


def _make_dyad(out: Path, split: str, session: int, dyad: int, ctx: Context, T: int,
               seed: int, w_exp: np.ndarray, w_feat: np.ndarray) -> dict:
    """Generate and write one dyad (both roles, all modalities); returns its metadata."""
    import soundfile as sf  # imported on use, as in the REACT2024-style generator

    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, 977, _SPLIT_INDEX[split], session, dyad]))
    span = max(e for _, e, _ in ctx.turns)
    offset = int(rng.integers(0, span - T + 1))
    speak_role = np.zeros(T, dtype=int)
    for s, e, who in ctx.turns:
        s = int(np.clip(s - offset + (rng.normal(0, 4) if s else 0), 0, T))
        speak_role[s:max(s, min(T, e - offset))] = who
    speak = [speak_role == 0, speak_role == 1]
    events = []
    for r in (0, 1):
        ev = ctx.events[r].copy()
        ev[:, 0] -= offset
        events.append(jitter_events(rng, ev[(ev[:, 0] >= 0) & (ev[:, 0] < T)], speak[r]))
    style_idx = rng.integers(0, len(ctx.styles), 2)
    stem = _stem(split, session, dyad)
    for r, role in enumerate(ml.ROLES):
        emo, face, controls = person(rng, T, ctx, r, speak[r], events[r], events[1 - r],
                                     ctx.styles[int(style_idx[r])], w_exp)
        wav = _wav(rng, controls, float(rng.uniform(95, 230)), T)
        feats = _features(rng, controls, emo, w_feat)
        cid = f"{role}/session{session}/{stem}"
        arrays = ((ml.ATTRIBUTES_DIR, emo.astype(np.float32)),
                  (ml.COEFFICIENTS_DIR, face.astype(np.float32)[:, None, :]),
                  (ml.AUDIO_FEATURES_DIR, feats))
        for modality, arr in arrays:
            p = ml.clip_path(out, split, modality, cid)
            p.parent.mkdir(parents=True, exist_ok=True)
            np.save(p, arr)
        p = ml.clip_path(out, split, ml.AUDIO_DIR, cid)
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, wav, SAMPLE_RATE, subtype="PCM_16")
    return {"stem": stem, "session": f"session{session}", "frames": int(T), "offset": offset,
            "styles": [int(s) for s in style_idx]}


def _check_args(sessions: int, dyads: dict[str, int] | None, min_frames: int,
                max_frames: int, seed: int) -> dict[str, int]:
    def whole(x: object) -> bool:
        return not isinstance(x, bool) and isinstance(x, (int, np.integer))

    if not whole(sessions) or not 1 <= sessions <= 1000:
        raise DataError(f"{param('sessions', repr(sessions))}: expected a whole number from 1 to "
                        "1000")
    dyads = dict(DEFAULT_DYADS) if dyads is None else dict(dyads)
    for k, v in dyads.items():
        if k not in ml.SPLITS:
            raise DataError(f"{param('dyads')}: unknown split {k!r}, expected train, val or test")
        if not whole(v) or not 0 <= v <= MAX_DYADS:
            raise DataError(f"{param('dyads')}: {k}={v!r}, expected 0 to {MAX_DYADS} dyads per "
                            "session")
    dyads = {k: int(v) for k, v in dyads.items() if v}
    if not dyads:
        raise DataError(f"{param('dyads')}: at least one split needs a positive number of dyads")
    if not (whole(min_frames) and whole(max_frames)) or not (
            ml.MIN_FRAMES <= min_frames <= max_frames <= MAX_FRAMES):
        raise DataError(f"{param('lengths', f'{min_frames}:{max_frames}')}: expected whole numbers "
                        f"{ml.MIN_FRAMES} <= MIN <= MAX <= {MAX_FRAMES} frames at {ml.FPS} fps "
                        f"({ml.MIN_FRAMES} is the shortest clip the protocol accepts)")
    if not whole(seed) or seed < 0:
        raise DataError(f"{param('seed', repr(seed))}: expected an integer >= 0")
    return dyads


def parse_dyads(text: str) -> dict[str, int]:
    """``"train=4,val=2,test=4"`` -> dict (splits not named get none); each split once."""
    out: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, val = (x.strip() for x in item.partition("="))
        if not sep or key in out:
            raise DataError(f"{param('dyads', repr(text))}: expected split=COUNT items, each "
                            "split once, e.g. train=4,val=2,test=4")
        try:
            out[key] = int(val)
        except ValueError:
            raise DataError(f"{param('dyads')}: {item!r}: COUNT must be an integer") from None
    if not out:
        raise DataError(f"{param('dyads', repr(text))}: expected split=COUNT items, e.g. "
                        "train=4,val=2,test=4")
    return out


def parse_lengths(text: str) -> tuple[int, int]:
    """``"90:600"`` -> (90, 600)."""
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(lo), int(hi)
    except ValueError:
        raise DataError(f"{param('lengths', repr(text))}: expected MIN:MAX frames, e.g. 90:600"
                        ) from None


def generate(out: str | Path, *, sessions: int = DEFAULT_SESSIONS,
             dyads: dict[str, int] | None = None, min_frames: int = DEFAULT_MIN_FRAMES,
             max_frames: int = DEFAULT_MAX_FRAMES, seed: int = 0, progress: bool = False,
             lock: bool = True) -> Path:
    """Write a synthetic MARS-layout dataset to ``out`` (new or empty folder).

    sessions: sessions per split (folders ``session<K>``, K from 0); dyads: split -> dyads per
    session (default ``DEFAULT_DYADS``); min_frames, max_frames: the range of clip lengths at
    30 fps;
    seed (>= 0): everything is a function of it. lock: hold ``out``'s lock while writing
    (False: the caller holds it). Bad arguments raise DataError before anything is written; a
    folder that cannot be written is a DataError naming it, with nothing left behind.
    """
    if not str(out).strip():
        raise DataError(f"{param('out')} is empty; name a new directory to write the dataset into")
    out = Path(out)
    dyads = _check_args(sessions, dyads, min_frames, max_frames, seed)
    with claim_folder(out, lock=lock):
        return _write(out, int(sessions), dyads, int(min_frames), int(max_frames), int(seed),
                      progress)


def _write(out: Path, sessions: int, dyads: dict[str, int], min_frames: int, max_frames: int,
           seed: int, progress: bool) -> Path:
    ctxs = make_contexts(seed, sessions, max_frames)
    w_exp, w_feat = _globals(seed)
    with staged_folder(out) as tmp:
        jobs = []
        for split, per_session in dyads.items():
            rng = np.random.default_rng(np.random.SeedSequence([seed, 31, _SPLIT_INDEX[split]]))
            lengths = clip_lengths(sessions * per_session, min_frames, max_frames, rng)
            jobs += [(split, s, d, int(lengths[s * per_session + d]))
                     for s in range(sessions) for d in range(per_session)]
        work = iter(jobs)
        if progress:
            from tqdm import tqdm  # imported on use: only the CLI draws a bar

            work = tqdm(jobs, desc="synthetic MARS dataset", unit="dyad", disable=None)
        clips: dict[str, list] = {s: [] for s in dyads}
        for split, s, d, T in work:
            clips[split].append(_make_dyad(tmp, split, s, d, ctxs[s], T, seed, w_exp, w_feat))
        meta = {
            "generator": "reactbench.data.mars_synthetic", "version": GENERATOR_VERSION,
            "layout": "mars", "seed": seed, "fps": ml.FPS, "sample_rate": SAMPLE_RATE,
            "sessions": sessions, "dyads_per_session": dyads,
            "frames": [min_frames, max_frames], "styles_per_context": STYLES_PER_CONTEXT,
            "truth": "listeners of one session replay one latent context: the session pool",
            "clips": clips,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if progress:
        n = sum(len(v) for v in clips.values())
        print(f"{n} dyads in {sessions} sessions, {min_frames}-{max_frames} frames at "
              f"{ml.FPS} fps", file=sys.stderr)
    return out


__all__ = ["generate", "parse_lengths", "parse_dyads", "clip_lengths", "GENERATOR_VERSION",
           "DEFAULT_DYADS", "DEFAULT_SESSIONS", "DEFAULT_MIN_FRAMES", "DEFAULT_MAX_FRAMES"]
