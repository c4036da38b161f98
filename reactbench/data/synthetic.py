"""The embedded synthetic REACT2024-style dataset: a deterministic generator of dyadic interactions.

Design (``spec/data.md``):

* **Contexts.** A pool of latent conversation contexts is drawn from the seed. A context fixes a
  turn-taking schedule (who speaks when; turns of 3-8 s, both persons alternate), the expressive
  events each role produces while speaking (smile, surprise, concern, annoyance, emphasis,
  agreement; times, types, intensities; each context has its own emotional tone) and each role's
  mood. Every dyad (clip pair) belongs to one context and replays it with individual jitter
  (event times +-0.1 s, dropped and extra events, turn boundaries), so dyads of one context have
  similar, not identical, speaker behaviour. Contexts are shared by all splits.
* **Listener styles (one-to-many).** Each context has ``STYLES_PER_CONTEXT`` listener styles;
  a style reacts to each event of the partner after its own lag (0.2-2 s), with its own mapping
  of event types to reactions (mirroring, back-channelling, empathic, reserved) and gain. Each
  person of a dyad gets one style. While one person speaks the other reacts, so both mirrored
  rows (roles swapped) carry a lagged reaction.
* **Per-frame attributes** (25 fps): a person's events (own and reactions) are smooth bumps; they
  drive valence/arousal (tanh, smooth, in [-1, 1]), the 8 expression probabilities (softmax,
  sum to 1) and 15 binary AUs (thresholded latent; each person has 1-4 AUs that are never
  active in the clip; AU25/AU26 follow the syllables while speaking).
* **3DMM** (58 = 52 expression + 3 rotation + 3 translation): a fixed seeded linear map of the
  emotion state through tanh, plus a head-pose random walk and nods driven by the events.
* **Audio** (16 kHz, 16-bit mono wav): a harmonic voice source during speech syllables (and
  short back-channel hums), loudness and pitch following arousal, valence and events; breath
  and fricative noise.
* **Truth.** ``neighbour_emotion_<split>.npy`` (val/test, official name and mirrored order) and
  ``synthetic_truth_<split>.npy`` (all splits, kept even if the neighbour file is rebuilt) hold
  the true appropriateness: ``truth[k, j] = 1`` iff rows k and j come from the same context in
  the same orientation (so listener j replays the same script), float64 0/1, diagonal 1.
  ``synthetic.json`` records the generator version, seed, sizes and each row's context and
  listener style.

Layout: ``<out>/<split>.csv`` and ``<out>/<split>/{Emotion,3D_FV_files,Audio_files}/`` with clip
paths ``Synthetic/<split><pair>/P1|P2/1`` (names never reveal the context). Deterministic per
seed: every pair draws from its own ``SeedSequence([seed, split, pair])``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactbench.atomic import nearest_existing
from reactbench.constants import EMOTION_DIM, FPS
from reactbench.data import layout
from reactbench.errors import DataError

GENERATOR_VERSION = "synth-2"
DEFAULT_PAIRS = {"train": 60, "val": 20, "test": 40}
DEFAULT_FRAMES = 750
# bounds that catch typos before memory runs out (not protocol values)
MAX_FRAMES = 60 * 60 * FPS  # one hour per clip
MAX_PAIRS = 100_000  # clip pairs per split
META_FILE = "synthetic.json"
TRUTH_FILE = "synthetic_truth_{split}.npy"
SITE = "Synthetic"
ROLES = ("P1", "P2")
SAMPLE_RATE = 16000
STYLES_PER_CONTEXT = 3
LAG_RANGE_S = (0.2, 2.0)
_SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}

# ---------------------------------------------------------------------------------------------
# Event prototypes. AU order: AU1 AU2 AU4 AU6 AU7 AU9 AU10 AU12 AU14 AU15 AU17 AU23 AU24 AU25
# AU26; FE order: Neutral Happy Sad Surprise Fear Disgust Anger Contempt.
EVENT_NAMES = ("smile", "surprise", "concern", "annoyed", "emphasis", "agree")
N_EVENTS = len(EVENT_NAMES)
_AU = {n: i for i, n in enumerate(
    ("AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15", "AU17", "AU23",
     "AU24", "AU25", "AU26"))}
_FE = {n: i for i, n in enumerate(
    ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt"))}


def _proto(spec: dict[str, float], index: dict[str, int], n: int) -> np.ndarray:
    v = np.zeros(n)
    for k, x in spec.items():
        v[index[k]] = x
    return v


AU_W = np.stack([_proto(s, _AU, 15) for s in (
    {"AU6": 1.0, "AU12": 1.3, "AU25": 0.4},
    {"AU1": 1.1, "AU2": 1.0, "AU25": 0.6, "AU26": 0.9},
    {"AU4": 1.1, "AU15": 1.0, "AU17": 0.6},
    {"AU4": 0.8, "AU7": 1.0, "AU9": 0.8, "AU10": 0.7, "AU23": 0.5, "AU24": 0.6},
    {"AU1": 0.8, "AU2": 0.7, "AU25": 0.5},
    {"AU12": 0.5, "AU14": 0.9, "AU17": 0.6},
)])
VAL_W = np.array([0.7, 0.1, -0.6, -0.6, 0.05, 0.3])
ARO_W = np.array([0.2, 0.6, -0.1, 0.5, 0.4, -0.1])
FE_W = np.stack([_proto(s, _FE, 8) for s in (
    {"Happy": 2.6},
    {"Surprise": 2.6, "Fear": 0.6},
    {"Sad": 2.6},
    {"Anger": 1.9, "Disgust": 1.6},
    {"Neutral": 0.5, "Surprise": 0.9},
    {"Neutral": 1.0, "Happy": 0.6, "Contempt": 0.6},
)])
FE_BASE = np.array([1.4, 0.0, -0.6, -0.6, -1.6, -1.6, -1.3, -1.1])
NOD_W = np.array([0.2, -0.3, 0.1, 0.0, 0.5, 1.0])  # head pitch
PITCH_W = np.array([0.1, 0.3, -0.1, 0.15, 0.25, 0.0])
LOUD_W = np.array([0.2, 0.4, -0.2, 0.5, 0.5, 0.0])
# reaction mapping archetypes: event type of the partner -> reaction type
STYLE_MAPS = (
    ("mirror", (0, 1, 2, 3, 4, 5), 1.0),
    ("backchannel", (0, 1, 5, 5, 5, 5), 0.9),
    ("empathic", (0, 0, 2, 2, 5, 5), 1.1),
    ("reserved", (5, 5, 5, 5, 5, 5), 0.6),
)
_KERNEL_PEAK = 9  # frames from an event to the peak of its bump


@dataclass
class _Style:
    name: str
    lag: int  # frames
    mapping: np.ndarray  # (N_EVENTS,) ints
    gain: float


@dataclass
class _Context:
    turns: list[tuple[int, int, int]]  # (start, end, speaking role)
    events: list[np.ndarray]  # per role: (n, 3) [frame, type, intensity]
    mood: np.ndarray  # (2 roles, 2) valence, arousal baseline
    styles: list[_Style]


# ---------------------------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, T: int, dim: int, sigma: float) -> np.ndarray:
    """(T, dim) smooth Gaussian noise with unit std (white noise convolved with a Gaussian)."""
    from scipy.ndimage import gaussian_filter1d

    x = rng.standard_normal((T + 8 * int(sigma) + 8, dim))
    x = gaussian_filter1d(x, sigma, axis=0, mode="wrap")[: T]
    return x / (x.std(axis=0, keepdims=True) + 1e-9)


def _kernel() -> np.ndarray:
    tau = np.arange(0, 75, dtype=float)
    return (tau / _KERNEL_PEAK) * np.exp(1.0 - tau / _KERNEL_PEAK)


_KERNEL = _kernel()


def _drive(events: np.ndarray, T: int) -> np.ndarray:
    """(n, 3) events -> (T, N_EVENTS) smooth drive (sum of bumps)."""
    imp = np.zeros((T, N_EVENTS))
    if len(events):
        t = events[:, 0].astype(int)
        ok = (t >= 0) & (t < T)
        np.add.at(imp, (t[ok], events[ok, 1].astype(int)), events[ok, 2])
    out = np.empty_like(imp)
    for e in range(N_EVENTS):
        out[:, e] = np.convolve(imp[:, e], _KERNEL)[:T]
    return out


def _make_context(rng: np.random.Generator, T: int) -> _Context:
    turns, t = [], 0
    role = int(rng.integers(2))
    while t < T:
        d = int(rng.integers(3 * FPS, 8 * FPS))
        turns.append((t, min(T, t + d), role))
        t += d
        role = 1 - role
    tone = rng.dirichlet(np.full(N_EVENTS, 0.6))
    events = []
    for r in (0, 1):
        ev = []
        for s, e, who in turns:
            if who != r:
                continue
            n = rng.poisson(0.45 * (e - s) / FPS)
            for tt in np.sort(rng.integers(s, e, size=n)):
                ev.append((tt, rng.choice(N_EVENTS, p=tone), rng.uniform(0.6, 1.0)))
        events.append(np.array(ev, dtype=float).reshape(-1, 3))
    mood = np.column_stack([rng.normal(0.0, 0.25, 2), rng.normal(0.0, 0.2, 2)])
    lo, hi = (int(round(x * FPS)) for x in LAG_RANGE_S)
    archetypes = rng.choice(len(STYLE_MAPS), size=STYLES_PER_CONTEXT, replace=False)
    styles = [
        _Style(
            name=STYLE_MAPS[a][0],
            lag=int(rng.integers(lo, hi + 1)),
            mapping=np.array(STYLE_MAPS[a][1]),
            gain=float(STYLE_MAPS[a][2] * rng.uniform(0.85, 1.15)),
        )
        for a in archetypes
    ]
    return _Context(turns=turns, events=events, mood=mood, styles=styles)


def _contexts(seed: int, n: int, T: int) -> list[_Context]:
    root = np.random.SeedSequence([seed, 7919, T])
    return [_make_context(np.random.default_rng(s), T) for s in root.spawn(n)]


def _jitter_events(rng: np.random.Generator, ev: np.ndarray, speak: np.ndarray) -> np.ndarray:
    """A dyad's replay of a role's context events: drop 10%, move +-0.1 s, rescale, add extras."""
    T = len(speak)
    keep = rng.random(len(ev)) > 0.1
    ev = ev[keep].copy()
    ev[:, 0] = np.clip(ev[:, 0] + np.round(rng.normal(0.0, 2.5, len(ev))), 0, T - 1)
    ev[:, 2] *= rng.uniform(0.85, 1.15, len(ev))
    own = np.flatnonzero(speak)
    n_extra = rng.poisson(0.08 * len(own) / FPS)
    if n_extra and len(own):
        extra = np.column_stack([
            rng.choice(own, n_extra), rng.integers(0, N_EVENTS, n_extra),
            rng.uniform(0.4, 0.8, n_extra),
        ])
        ev = np.concatenate([ev, extra])
    return ev


def _syllables(rng: np.random.Generator, T: int) -> np.ndarray:
    out = np.zeros(T, dtype=bool)
    t = 0
    while t < T:
        on = int(rng.integers(3, 7))
        out[t: t + on] = True
        t += on + int(rng.integers(1, 4)) + (int(rng.integers(6, 15)) if rng.random() < 0.12 else 0)
    return out


def _person(rng, T, ctx, role, speak, own_ev, partner_ev, style, W_exp):
    """Emotion (T, 25), 3DMM (T, 58) and the frame-level audio controls of one person."""
    from scipy.special import softmax

    react = partner_ev.copy()
    if len(react):
        react[:, 0] = react[:, 0] + style.lag + np.round(rng.normal(0.0, 1.5, len(react)))
        react[:, 1] = style.mapping[react[:, 1].astype(int)]
        react[:, 2] = react[:, 2] * style.gain
    D = _drive(own_ev, T) + _drive(react, T)
    sp = np.convolve(speak.astype(float), np.ones(10) / 10, mode="same")
    mouth = speak & _syllables(rng, T)
    sn = _smooth_noise(rng, T, 4, 10.0)
    v0, a0 = ctx.mood[role] + rng.normal(0.0, 0.08, 2)
    val = np.tanh(v0 + D @ VAL_W + 0.12 * sn[:, 0])
    aro = np.tanh(a0 + 0.2 * sp + D @ ARO_W + 0.12 * sn[:, 1])
    fe_logits = FE_BASE + D @ FE_W + np.outer(val, [0, 0.8, -0.8, 0, 0, 0, -0.3, 0])
    fe_logits = fe_logits + 0.3 * _smooth_noise(rng, T, 8, 6.0)
    fe = softmax(fe_logits, axis=1)
    mouth_w = np.zeros(15)
    mouth_w[_AU["AU25"]], mouth_w[_AU["AU26"]] = 2.6, 1.3
    au_bias = rng.normal(0.0, 0.3, 15)
    au_lat = -1.1 + au_bias + 2.4 * (D @ AU_W) + np.outer(mouth, mouth_w)
    au_lat = au_lat + 0.5 * _smooth_noise(rng, T, 15, 6.0)
    au = (au_lat > 0).astype(float)
    candidates = [i for i in range(15) if i != _AU["AU25"]]
    dead = rng.choice(candidates, size=int(rng.integers(1, 5)), replace=False)
    au[:, dead] = 0.0
    emotion = np.concatenate([au, val[:, None], aro[:, None], fe], axis=1)

    centre = np.concatenate([np.full(15, 0.15), [0.0, 0.0], np.full(8, 1 / 8)])
    exp = 0.6 * np.tanh((emotion - centre) @ W_exp.T) + 0.03 * _smooth_noise(rng, T, 52, 3.0)
    steps = rng.normal(0.0, 0.004, (T, 3))
    walk = np.zeros((T, 3))
    for t in range(1, T):  # leaky random walk of the head pose (pitch, yaw, roll)
        walk[t] = 0.995 * walk[t - 1] + steps[t]
    rot = walk.copy()
    rot[:, 0] += 0.08 * (D @ NOD_W)
    trans = 0.5 * walk[:, [1, 0, 2]] + 0.01 * _smooth_noise(rng, T, 3, 15.0)
    face = np.concatenate([exp, rot, trans], axis=1)

    # back-channel hums: short voiced bursts at agreement reactions while listening
    bc = np.zeros(T, dtype=bool)
    if len(react):
        for t0, e, _a in react:
            if int(e) == 5 and 0 <= t0 < T and not speak[int(t0)] and rng.random() < 0.5:
                bc[int(t0): int(t0) + 6] = True
    drive = D @ np.stack([PITCH_W, LOUD_W], axis=1)
    controls = {
        "voiced": np.where(mouth, 1.0, np.where(bc, 0.35, 0.0)),
        "fric": (speak & ~mouth).astype(float),
        "loud": np.clip(0.35 + 0.25 * aro + 0.3 * drive[:, 1], 0.05, 1.2),
        "pitch": np.clip(1.0 + 0.2 * aro + 0.06 * val + 0.15 * drive[:, 0]
                         + 0.04 * sn[:, 2], 0.6, 1.8),
        "vowel": 0.5 + 0.5 * np.tanh(sn[:, 3]),
    }
    return emotion, face, controls


def _audio(rng: np.random.Generator, controls: dict, f0: float, T: int) -> np.ndarray:
    """16 kHz waveform (float32 in [-1, 1]) from frame-level controls."""
    hop = SAMPLE_RATE // FPS
    S = T * hop
    tf = (np.arange(T) + 0.5) * hop
    ts = np.arange(S)
    env = np.interp(ts, tf, controls["voiced"] * controls["loud"])
    f0s = f0 * np.interp(ts, tf, controls["pitch"])
    vowel = np.interp(ts, tf, controls["vowel"])
    phase = 2 * np.pi * np.cumsum(f0s) / SAMPLE_RATE
    k = np.arange(1, 11)
    spec_a = 1.0 / k
    spec_b = np.exp(-(((k - 4.0) / 2.0) ** 2)) + 0.3 / k
    voice = np.zeros(S)
    for i, kk in enumerate(k):
        voice += ((1 - vowel) * spec_a[i] + vowel * spec_b[i]) * np.sin(kk * phase)
    noise = rng.standard_normal(S)
    fric = np.interp(ts, tf, controls["fric"])
    y = 0.25 * env * voice + (0.003 + 0.02 * fric) * noise
    return np.clip(y, -0.99, 0.99).astype(np.float32)


def _clip_id(split: str, pair: int, role: int) -> str:
    return f"{SITE}/{split}{pair:03d}/{ROLES[role]}/1"


def _emotion_global(seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 104729]))
    return rng.normal(0.0, 1.5 / np.sqrt(EMOTION_DIM), (52, EMOTION_DIM))


def _make_pair(out: Path, split: str, pair: int, ctx: _Context, seed: int, T: int,
               W_exp: np.ndarray) -> dict:
    """Generate and write one dyad (both persons, all modalities). Returns its metadata."""
    import soundfile as sf

    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_INDEX[split], pair]))
    # turn schedule with jittered boundaries
    speak_role = np.zeros(T, dtype=int)
    for s, e, who in ctx.turns:
        s = int(np.clip(s + (rng.normal(0, 4) if s else 0), 0, T))
        speak_role[s:e] = who
    speak = [speak_role == 0, speak_role == 1]
    events = [_jitter_events(rng, ctx.events[r], speak[r]) for r in (0, 1)]
    style_idx = rng.integers(0, len(ctx.styles), 2)
    meta = {"styles": [], "clips": []}
    for r in (0, 1):
        style = ctx.styles[int(style_idx[r])]
        emo, face, controls = _person(rng, T, ctx, r, speak[r], events[r], events[1 - r],
                                      style, W_exp)
        wav = _audio(rng, controls, float(rng.uniform(95, 230)), T)
        cid = _clip_id(split, pair, r)
        layout.write_emotion(layout.emotion_path(out, split, cid), emo)
        fp = layout.face_path(out, split, cid)
        fp.parent.mkdir(parents=True, exist_ok=True)
        np.save(fp, face.astype(np.float32))
        ap = layout.audio_path(out, split, cid)
        ap.parent.mkdir(parents=True, exist_ok=True)
        sf.write(ap, wav, SAMPLE_RATE, subtype="PCM_16")
        meta["styles"].append(int(style_idx[r]))
        meta["clips"].append(cid)
    return meta


def auto_contexts(pairs: dict[str, int]) -> int:
    """Default context count: about 4 pairs per context in the smaller evaluated split."""
    ev = [n for s, n in pairs.items() if s in ("val", "test") and n > 0] or [max(pairs.values())]
    return int(np.clip(round(min(ev) / 4), 2, 16))


def truth_matrix(contexts: np.ndarray) -> np.ndarray:
    """(M,) context per pair -> (2M, 2M) float64 0/1: same context and same orientation."""
    c = np.asarray(contexts)
    M = len(c)
    row_c = np.concatenate([c, c])
    orient = np.repeat([0, 1], M)
    same = (row_c[:, None] == row_c[None, :]) & (orient[:, None] == orient[None, :])
    return same.astype(np.float64)


def _check_pairs(pairs: dict[str, int] | None) -> dict[str, int]:
    if pairs is None:
        return dict(DEFAULT_PAIRS)
    out = {}
    for k, v in pairs.items():
        if k not in layout.SPLITS:
            raise DataError(f"--pairs: unknown split {k!r}, expected train, val or test")
        if int(v) < 0:
            raise DataError(f"--pairs: {k}={v}, expected a count >= 0")
        if int(v) > MAX_PAIRS:
            raise DataError(f"--pairs: {k}={v}, expected at most {MAX_PAIRS} pairs per split")
        if int(v) > 0:
            out[k] = int(v)
    if not out:
        raise DataError("--pairs: at least one split needs a positive number of pairs")
    return out


def _check_contexts(contexts: int | None, pairs: dict[str, int]) -> int:
    """``contexts`` validated (1 .. total pairs), or ``auto_contexts(pairs)`` when None."""
    if contexts is None:
        return auto_contexts(pairs)
    if isinstance(contexts, bool) or not isinstance(contexts, (int, np.integer)):
        raise DataError(f"--contexts {contexts!r}: expected a whole number of latent contexts")
    total = sum(pairs.values())
    if not 1 <= contexts <= total:
        raise DataError(
            f"--contexts {contexts}: expected 1 to {total} latent contexts (at most one per clip "
            f"pair; omit --contexts for the default, about 4 pairs per context in val/test)"
        )
    return int(contexts)


def parse_pairs(text: str) -> dict[str, int]:
    """'train=60,val=20,test=40' -> dict (splits not named get 0 pairs). A split named twice,
    or no split at all, is an error."""
    out: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, val = item.partition("=")
        if not sep:
            raise DataError(f"--pairs: {item!r} is not split=COUNT (e.g. train=60,val=20,test=40)")
        key = key.strip()
        if key in out:
            raise DataError(f"--pairs: split {key!r} given twice ({text!r}); name each split once")
        try:
            out[key] = int(val)
        except ValueError as exc:
            raise DataError(f"--pairs: {item!r}: COUNT must be an integer") from exc
    if not out:
        raise DataError(
            f"--pairs {text!r}: expected split=COUNT items, e.g. train=60,val=20,test=40"
        )
    return _check_pairs(out)


def generate(out: str | Path, *, pairs: dict[str, int] | None = None, frames: int = DEFAULT_FRAMES,
             seed: int = 0, progress: bool = False, contexts: int | None = None,
             n_jobs: int = -1) -> Path:
    """Write a synthetic dataset in the official layout to ``out`` (which must not exist or be
    empty). Written to a temporary sibling directory first and renamed at the end, so ``out``
    either holds a complete dataset or nothing.

    pairs: split -> number of clip pairs M (default ``DEFAULT_PAIRS``); frames: T per clip (at
    least 100 so that +-49-frame lags fit); seed (>= 0): everything is a function of it;
    contexts: number of latent contexts, 1 to the total number of pairs (None:
    ``auto_contexts(pairs)``). Bad arguments raise DataError before anything is written.
    """
    from joblib import Parallel, delayed

    if not str(out).strip():
        raise DataError("--out is empty; name a new directory to write the dataset into")
    out = Path(out)
    pairs = _check_pairs(pairs)
    frames = int(frames)
    if frames < 100:
        raise DataError(f"--frames {frames}: expected at least 100 frames (4 s at 25 fps)")
    if frames > MAX_FRAMES:
        raise DataError(f"--frames {frames}: expected at most {MAX_FRAMES} frames per clip "
                        f"({MAX_FRAMES // (60 * FPS)} min at {FPS} fps; official clips hold 750)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"--seed {seed!r}: expected an integer >= 0")
    n_ctx = _check_contexts(contexts, pairs)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out}: already exists and is not empty; choose a new --out directory")
    parent = nearest_existing(out.parent)
    if parent is not None and not parent.is_dir():
        raise DataError(f"--out {out}: cannot be created, {parent} is a file, not a directory")
    ctxs = _contexts(seed, n_ctx, frames)
    W_exp = _emotion_global(seed)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir(parents=True)
    try:
        jobs, assign = [], {}
        for split, M in pairs.items():
            rng = np.random.default_rng(np.random.SeedSequence([seed, 31, _SPLIT_INDEX[split]]))
            ctx_of = rng.permutation(np.arange(M) % n_ctx)
            assign[split] = ctx_of
            layout.write_split_csv(tmp, split, [
                (_clip_id(split, i, 0), _clip_id(split, i, 1)) for i in range(M)])
            jobs += [(split, i, int(ctx_of[i])) for i in range(M)]
        work = (delayed(_make_pair)(tmp, s, i, ctxs[c], seed, frames, W_exp) for s, i, c in jobs)
        nj = 1 if len(jobs) < 8 else n_jobs
        results = Parallel(n_jobs=nj, return_as="generator")(work)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(jobs), desc="synthetic dataset", unit="pair",
                           disable=None)  # no bar when stderr is not a terminal
        metas = list(results)
        by_split: dict[str, list] = {s: [] for s in pairs}
        for (s, _i, _c), m in zip(jobs, metas):
            by_split[s].append(m)
        rows = {}
        for split in pairs:
            truth = truth_matrix(assign[split])
            np.save(tmp / TRUTH_FILE.format(split=split), truth)
            if split in ("val", "test"):
                np.save(layout.neighbour_path(tmp, split), truth)
            ms = by_split[split]
            rows[split] = {
                "context": [int(c) for c in assign[split]] * 2,
                # the listener of row k is role 1 for k < M, role 0 for the mirrored rows
                "listener_style": [m["styles"][1] for m in ms] + [m["styles"][0] for m in ms],
                "speaker_style": [m["styles"][0] for m in ms] + [m["styles"][1] for m in ms],
            }
        meta = {
            "generator": "reactbench.data.synthetic",
            "version": GENERATOR_VERSION,
            "seed": int(seed),
            "frames": frames,
            "fps": FPS,
            "sample_rate": SAMPLE_RATE,
            "pairs": pairs,
            "contexts": n_ctx,
            "styles_per_context": STYLES_PER_CONTEXT,
            "styles": [[{"name": s.name, "lag_frames": s.lag, "gain": round(s.gain, 4)}
                        for s in c.styles] for c in ctxs],
            "truth": {
                "file": TRUTH_FILE,
                "format": "(N, N) float64 0/1 in mirrored row order (N = 2M); "
                          "truth[k, j] = 1 iff rows k and j share context and orientation",
            },
            "rows": rows,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_meta(root: str | Path) -> dict | None:
    """The generator's metadata of a synthetic dataset, or None for other datasets."""
    p = Path(root) / META_FILE
    if not p.is_file():
        return None
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{p}: unreadable synthetic metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{p}: synthetic metadata must be a JSON object (the generator's "
                        f"version, seed and sizes); got {type(meta).__name__}")
    return meta


def read_truth(root: str | Path, split: str) -> np.ndarray | None:
    """The generator's true appropriateness of a split ((N, N) float64 0/1), or None."""
    p = Path(root) / TRUTH_FILE.format(split=split)
    if not p.is_file():
        return None
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{p}: unreadable truth matrix ({exc})") from exc


__all__ = ["generate", "GENERATOR_VERSION", "DEFAULT_PAIRS", "read_meta", "read_truth",
           "truth_matrix", "parse_pairs"]
