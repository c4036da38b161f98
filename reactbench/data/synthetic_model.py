"""The latent model behind the synthetic dataset: conversation contexts (turns, expressive
events, tone), listener styles, and one person's per-frame signals (emotion attributes, 3DMM,
voice) in a dyad. :mod:`reactbench.data.synthetic` draws from it and writes the files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reactbench.constants import FPS

SAMPLE_RATE = 16000
STYLES_PER_CONTEXT = 3
LAG_RANGE_S = (0.2, 2.0)

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
class Style:
    name: str
    lag: int  # frames
    mapping: np.ndarray  # (N_EVENTS,) ints
    gain: float


@dataclass
class Context:
    turns: list[tuple[int, int, int]]  # (start, end, speaking role)
    events: list[np.ndarray]  # per role: (n, 3) [frame, type, intensity]
    mood: np.ndarray  # (2 roles, 2) valence, arousal baseline
    styles: list[Style]


# ---------------------------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, T: int, dim: int, sigma: float) -> np.ndarray:
    """(T, dim) smooth Gaussian noise with unit std (white noise convolved with a Gaussian)."""
    from scipy.ndimage import gaussian_filter1d  # about 1 s to load: only when generating

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


def _make_context(rng: np.random.Generator, T: int) -> Context:
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
        Style(
            name=STYLE_MAPS[a][0],
            lag=int(rng.integers(lo, hi + 1)),
            mapping=np.array(STYLE_MAPS[a][1]),
            gain=float(STYLE_MAPS[a][2] * rng.uniform(0.85, 1.15)),
        )
        for a in archetypes
    ]
    return Context(turns=turns, events=events, mood=mood, styles=styles)


def make_contexts(seed: int, n: int, T: int) -> list[Context]:
    root = np.random.SeedSequence([seed, 7919, T])
    return [_make_context(np.random.default_rng(s), T) for s in root.spawn(n)]


def jitter_events(rng: np.random.Generator, ev: np.ndarray, speak: np.ndarray) -> np.ndarray:
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


def person(rng, T, ctx, role, speak, own_ev, partner_ev, style, W_exp):
    """Emotion (T, 25), 3DMM (T, 58) and the frame-level audio controls of one person."""

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
    from scipy.special import softmax  # loads with scipy.ndimage: only when generating

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


def _upsample(values: np.ndarray, hop: int) -> np.ndarray:
    """(T,) frame values at the frame centres -> (T * hop,) samples, linear in between and held
    beyond the first and last centre: the values of
    ``np.interp(arange(T * hop), (arange(T) + 0.5) * hop, values)`` (the same slope, product
    and sum per sample), computed frame by frame without a search (hop even)."""
    T, half = len(values), hop // 2
    out = np.empty(T * hop)
    out[:half] = values[0]
    if T > 1:
        slopes = (values[1:] - values[:-1]) / float(hop)
        inner = out[half: half + (T - 1) * hop].reshape(T - 1, hop)
        np.multiply(slopes[:, None], np.arange(hop, dtype=float), out=inner)
        inner += values[:-1, None]
        inner[:, 0] = values[:-1]  # at a centre: the frame's own value
    out[half + (T - 1) * hop:] = values[-1]
    return out


def voice(rng: np.random.Generator, controls: dict, f0: float, T: int) -> np.ndarray:
    """16 kHz waveform (float32 in [-1, 1]) from frame-level controls."""
    hop = SAMPLE_RATE // FPS
    S = T * hop
    env = _upsample(controls["voiced"] * controls["loud"], hop)
    f0s = f0 * _upsample(controls["pitch"], hop)
    vowel = _upsample(controls["vowel"], hop)
    phase = 2 * np.pi * np.cumsum(f0s) / SAMPLE_RATE
    k = np.arange(1, 11)
    spec_a = 1.0 / k
    spec_b = np.exp(-(((k - 4.0) / 2.0) ** 2)) + 0.3 / k
    # the harmonics only where the envelope is not exactly 0 (elsewhere 0.25 * env * voice is
    # +-0, which adds nothing to the noise below): the same samples, a fraction of the sines
    on = np.flatnonzero(env)
    ph, vw = phase[on], vowel[on]
    part = np.zeros(len(on))
    for i, kk in enumerate(k):
        part += ((1 - vw) * spec_a[i] + vw * spec_b[i]) * np.sin(kk * ph)
    voice = np.zeros(S)
    voice[on] = part
    noise = rng.standard_normal(S)
    fric = _upsample(controls["fric"], hop)
    y = 0.25 * env * voice + (0.003 + 0.02 * fric) * noise
    return np.clip(y, -0.99, 0.99).astype(np.float32)
