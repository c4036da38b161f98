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
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
from joblib import Parallel, delayed, parallel_config
from tqdm import tqdm

from reactbench.atomic import check_writable, exclusive_lock, fs_fault, nearest_existing
from reactbench.constants import EMOTION_DIM, FPS
from reactbench.data import layout
from reactbench.data.synthetic_meta import read_meta_file
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
_SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}
# seconds an idle worker process of the generator lives (also after its parent was killed)
IDLE_WORKERS_S = 10

def _clip_id(split: str, pair: int, role: int) -> str:
    return f"{SITE}/{split}{pair:03d}/{ROLES[role]}/1"


def _emotion_global(seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 104729]))
    return rng.normal(0.0, 1.5 / np.sqrt(EMOTION_DIM), (52, EMOTION_DIM))


def _make_pair(out: Path, split: str, pair: int, ctx: Context, seed: int, T: int,
               W_exp: np.ndarray) -> dict:
    """Generate and write one dyad (both persons, all modalities). Returns its metadata."""

    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_INDEX[split], pair]))
    # turn schedule with jittered boundaries
    speak_role = np.zeros(T, dtype=int)
    for s, e, who in ctx.turns:
        s = int(np.clip(s + (rng.normal(0, 4) if s else 0), 0, T))
        speak_role[s:e] = who
    speak = [speak_role == 0, speak_role == 1]
    events = [jitter_events(rng, ctx.events[r], speak[r]) for r in (0, 1)]
    style_idx = rng.integers(0, len(ctx.styles), 2)
    meta = {"styles": [], "clips": []}
    for r in (0, 1):
        style = ctx.styles[int(style_idx[r])]
        emo, face, controls = person(rng, T, ctx, r, speak[r], events[r], events[1 - r],
                                      style, W_exp)
        wav = voice(rng, controls, float(rng.uniform(95, 230)), T)
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
            raise DataError(f"{param('pairs')}: unknown split {k!r}, expected train, val or test")
        if int(v) < 0:
            raise DataError(f"{param('pairs')}: {k}={v}, expected a count >= 0")
        if int(v) > MAX_PAIRS:
            raise DataError(f"{param('pairs')}: {k}={v}, expected at most {MAX_PAIRS} pairs per "
                            "split")
        if int(v) > 0:
            out[k] = int(v)
    if not out:
        raise DataError(f"{param('pairs')}: at least one split needs a positive number of pairs")
    return out


def _check_contexts(contexts: int | None, pairs: dict[str, int]) -> int:
    """``contexts`` validated (1 .. total pairs), or ``auto_contexts(pairs)`` when None."""
    if contexts is None:
        return auto_contexts(pairs)
    if isinstance(contexts, bool) or not isinstance(contexts, (int, np.integer)):
        raise DataError(f"{param('contexts', repr(contexts))}: expected a whole number of latent "
                        "contexts")
    total = sum(pairs.values())
    if not 1 <= contexts <= total:
        raise DataError(
            f"{param('contexts', contexts)}: expected 1 to {total} latent contexts (at most one "
            f"per clip pair; omit {param('contexts')} for the default, about 4 pairs per context "
            "in val/test)"
        )
    return int(contexts)


def parse_pairs(text: str) -> dict[str, int]:
    """'train=60,val=20,test=40' -> dict (splits not named get 0 pairs). A split named twice,
    or no split at all, is an error."""
    out: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, val = item.partition("=")
        if not sep:
            raise DataError(f"{param('pairs')}: {item!r} is not split=COUNT (e.g. "
                            "train=60,val=20,test=40)")
        key = key.strip()
        if key in out:
            raise DataError(f"{param('pairs')}: split {key!r} given twice ({text!r}); name each "
                            "split once")
        try:
            out[key] = int(val)
        except ValueError as exc:
            raise DataError(f"{param('pairs')}: {item!r}: COUNT must be an integer") from exc
    if not out:
        raise DataError(
            f"{param('pairs', repr(text))}: expected split=COUNT items, e.g. "
            "train=60,val=20,test=40"
        )
    return _check_pairs(out)


def generate(out: str | Path, *, pairs: dict[str, int] | None = None, frames: int = DEFAULT_FRAMES,
             seed: int = 0, progress: bool = False, contexts: int | None = None,
             n_jobs: int = -1, lock: bool = True) -> Path:
    """Write a synthetic dataset in the official layout to ``out`` (which must not exist or be
    empty). Written to a temporary sibling directory first and renamed at the end, so ``out``
    either holds a complete dataset or nothing.

    pairs: split -> number of clip pairs M (default ``DEFAULT_PAIRS``); frames: T per clip (at
    least 100 so that +-49-frame lags fit); seed (>= 0): everything is a function of it;
    contexts: number of latent contexts, 1 to the total number of pairs (None:
    ``auto_contexts(pairs)``). Bad arguments raise DataError before anything is written.
    lock: hold ``out``'s lock (:func:`reactbench.atomic.exclusive_lock`) while writing, so a
    second writer into the same folder is refused (False: the caller holds it). Temporary
    folders left beside ``out`` by an interrupted generation are removed first. A folder that
    cannot be written (read-only, full) is a DataError naming it, with nothing left behind.
    """
    if not str(out).strip():
        raise DataError(f"{param('out')} is empty; name a new directory to write the dataset into")
    out = Path(out)
    pairs = _check_pairs(pairs)
    frames = int(frames)
    if frames < 100:
        raise DataError(f"{param('frames', frames)}: expected at least 100 frames (4 s at 25 fps)")
    if frames > MAX_FRAMES:
        raise DataError(f"{param('frames', frames)}: expected at most {MAX_FRAMES} frames per clip "
                        f"({MAX_FRAMES // (60 * FPS)} min at {FPS} fps; official clips hold 750)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"{param('seed', repr(seed))}: expected an integer >= 0")
    n_ctx = _check_contexts(contexts, pairs)
    with claim_folder(out, lock=lock):
        return _write(out, pairs, frames, seed, progress, n_ctx, n_jobs)


@contextmanager
def claim_folder(out: Path, *, lock: bool) -> Iterator[None]:
    """Check that ``out`` can be written and is new or empty, holding its lock for the block
    when ``lock`` (one writer per folder: another process is refused at once); temporary
    folders an interrupted generation left beside it are removed first."""
    parent = nearest_existing(out.parent)
    if parent is not None and not parent.is_dir():
        raise DataError(f"{param('out', out)}: cannot be created, {parent} is a file, not a "
                        "directory")
    check_writable(out, what=param("out"), error=DataError)
    with ExitStack() as held:
        if lock:
            held.enter_context(exclusive_lock(out, wait=False, what="dataset folder",
                                              error=DataError))
        remove_stale_temporaries(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise DataError(f"{out}: already exists and is not empty; choose a new "
                            f"{param('out')} directory")
        yield


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A hidden temporary sibling of ``out`` to write into, renamed to ``out`` (new or empty)
    when the block ends; a failure removes it (a full or read-only disk: DataError naming
    ``out``)."""
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()  # empty (checked by claim_folder)
        os.rename(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        why = fs_fault(exc, out.parent) if isinstance(exc, Exception) else None
        if why is None:
            raise
        raise DataError(f"cannot write the dataset into {out} ({why}); nothing was left "
                        f"there. Free space on that disk, or choose a writable {param('out')}"
                        ) from exc


def _write(out: Path, pairs: dict[str, int], frames: int, seed: int, progress: bool,
           n_ctx: int, n_jobs: int) -> Path:
    """Write the dataset into a temporary sibling of ``out``, then rename it to ``out``; a
    failure removes the temporary folder (a full or read-only disk: DataError naming ``out``)."""

    ctxs = make_contexts(seed, n_ctx, frames)
    W_exp = _emotion_global(seed)
    with staged_folder(out) as tmp:
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
        with parallel_config(backend="loky", idle_worker_timeout=IDLE_WORKERS_S):
            results = Parallel(n_jobs=nj, return_as="generator")(work)
        if progress:

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
    return out


def remove_stale_temporaries(out: Path) -> None:
    """Remove the hidden temporary folders an interrupted generation into ``out`` left beside
    it (call with ``out``'s lock held: no live writer owns them), one note each."""
    for tmp in out.parent.glob(f".{out.name}.tmp-*"):
        if tmp.is_dir():
            print(f"note: removing {tmp}, left by an interrupted dataset generation",
                  file=sys.stderr)
            shutil.rmtree(tmp, ignore_errors=True)


def read_meta(root: str | Path) -> dict | None:
    """The generator's metadata of a synthetic dataset, or None for other datasets."""
    return read_meta_file(Path(root) / META_FILE, " (the generator's version, seed and sizes)")


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
