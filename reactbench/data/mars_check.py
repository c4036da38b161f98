"""``data check`` for a MARS-layout dataset: every problem of every split, with its file.

Errors are what :func:`reactbench.data.mars.load_clips` refuses (with its defaults, plus every
clip of either role, so a bidirectional load is covered too): unreadable, object or 1-D
arrays, wrong widths, NaN/inf, gross range violations of the attributes, clips shorter than
``min_frames``, a speaker without its paired listener or of another length, a missing
``coefficients`` file or wav, a modality of another frame count (naming the frame rate it would
fit), a missing ``audio-features`` file when the split has that folder. Warnings: slight range
deviations and FE rows not summing to 1, a session with a single listener (its target list
repeats the paired listener), a listener without a speaker (in the pool, but not an input
unless bidirectional), a missing video. Notes: per split, clips, sessions, listeners per
session and the range of lengths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.data import mars_layout as ml
from reactbench.data.check import CheckReport, emotion_findings, meta_problems, problem
from reactbench.data.mars import META_FILE, check_wav, read_meta
from reactbench.errors import DataError

K_OTHERS = 9  # listeners besides the paired one that a target list draws


def _clip(root: Path, split: str, cid: str, min_frames: int, features: bool,
          rep: CheckReport) -> int | None:
    """Check one clip's files; its frame count (None when its attributes are unusable)."""
    ap = ml.clip_path(root, split, ml.ATTRIBUTES_DIR, cid)
    try:
        emo = ml.read_frames(ap, 25, "facial attributes")
    except DataError as exc:
        rep.errors.append(problem(ap, exc))
        return None
    errors, warnings = emotion_findings(ap, emo)
    rep.errors += errors
    rep.warnings += warnings
    t = len(emo)
    if t < min_frames:
        rep.errors.append(problem(ap, f"clip {cid} has {t} frames; expected at least "
                                       f"{min_frames} (the protocol's shortest clip)"))
    readers = [(ml.COEFFICIENTS_DIR, ml.read_coefficients, "3DMM coefficients")]
    if features:
        readers.append((ml.AUDIO_FEATURES_DIR, ml.read_audio_features, "audio features"))
    for modality, read, what in readers:
        p = ml.clip_path(root, split, modality, cid)
        try:
            n = len(read(p))
        except DataError as exc:
            rep.errors.append(problem(p, exc))
            continue
        if n != t:
            rep.errors.append(problem(p, ml.length_mismatch(p, n, ap, t, what)))
    try:
        check_wav(root, split, cid, t)
    except DataError as exc:
        rep.errors.append(problem(ml.clip_path(root, split, ml.AUDIO_DIR, cid), exc))
    video = root / split / ml.VIDEO_DIR
    vp = ml.clip_path(root, split, ml.VIDEO_DIR, cid)
    if video.is_dir() and not vp.is_file():
        rep.warnings.append(problem(vp, "video missing (optional: nothing in reactbench reads "
                                         "it)"))
    return t


def split_report(root: str | Path, split: str, *, min_frames: int = ml.MIN_FRAMES,
                 progress: bool = False) -> CheckReport:
    """Every finding of one split of a MARS root (see the module doc)."""
    root = Path(root)
    rep = CheckReport()
    folder = root / split / ml.ATTRIBUTES_DIR
    pools = ml.session_pools(root, split)
    ids = [c for pool in pools.values() for c in pool]
    if not ml.list_role(root, split, "speaker"):
        rep.errors.append((str(folder), "no speaker clips; expected speaker/<session>/<stem>.npy"
                                        " files"))
    features = (root / split / ml.AUDIO_FEATURES_DIR).is_dir()
    items = ids
    if progress:
        from tqdm import tqdm  # imported on use: only the CLI draws a bar

        items = tqdm(ids, desc=f"checking {split}", unit="clip", disable=None)
    lengths = {c: _clip(root, split, c, min_frames, features, rep) for c in items}
    for cid in ids:
        role, session, _ = ml.parse_id(cid)
        pid = ml.paired_id(cid)
        pp = ml.clip_path(root, split, ml.ATTRIBUTES_DIR, pid)
        if pid not in lengths:
            if role == "speaker":
                rep.errors.append(problem(pp, f"file not found; expected the paired clip of "
                                               f"{cid} (same session and stem)"))
            else:
                rep.warnings.append(problem(pp, f"not found: listener {cid} has no speaker, "
                                                 "so it is an input only when bidirectional "
                                                 "(it stays in its session's target pool)"))
        elif role == "speaker" and None not in (lengths[cid], lengths[pid]) \
                and lengths[cid] != lengths[pid]:
            rep.errors.append(problem(pp, f"{lengths[pid]} frames, but its paired clip {cid} "
                                           f"has {lengths[cid]}; expected the two persons of a "
                                           "dyad to have the same length"))
    listeners = {k.split("/", 1)[1]: len(v) for k, v in pools.items()
                 if k.startswith("listener/")}
    sessions = sorted({k.split("/", 1)[1] for k in pools})
    few = [s for s in sessions if 1 < listeners.get(s, 0) <= K_OTHERS]
    for s in sessions:
        if listeners.get(s, 0) == 1:
            rep.warnings.append((str(folder / "listener" / s), (
                f"one listener in session {s}: every target list of its speakers repeats the "
                "paired listener")))
    if few:
        rep.notes.append((str(folder / "listener"), (
            f"{len(few)} of {len(sessions)} sessions have 2-{K_OTHERS} listeners: their "
            f"speakers' {K_OTHERS} other targets are drawn with replacement")))
    known = [t for t in lengths.values() if t is not None]
    per = [listeners.get(s, 0) for s in sessions]
    rng = f", {min(known)}-{max(known)} frames at {ml.FPS} fps" if known else ""
    rep.notes.append((str(root / split), (
        f"{len(ids)} clips ({sum(c.startswith('speaker/') for c in ids)} speaker), "
        f"{len(sessions)} sessions, listeners per session {min(per, default=0)}-"
        f"{max(per, default=0)} (median {float(np.median(per)) if per else 0:g}){rng}")))
    return rep


def dataset_report(root: str | Path, *, min_frames: int = ml.MIN_FRAMES,
                   progress: bool = False) -> CheckReport:
    """Every finding of the MARS-layout dataset at ``root`` (errors, warnings, notes)."""
    root = Path(root).expanduser()
    rep = CheckReport()
    splits = ml.mars_splits(root)
    if not splits:
        rep.errors.append((str(root), f"no split: expected train/, val/ or test/ with a "
                                      f"{ml.ATTRIBUTES_DIR}/ folder (MARS layout)"))
        return rep
    rep.errors += meta_problems(root, META_FILE, read_meta)
    for split in splits:
        rep.extend(split_report(root, split, min_frames=min_frames, progress=progress))
    return rep


__all__ = ["dataset_report", "split_report"]
