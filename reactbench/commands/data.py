"""``reactbench data synth|check|summary``: the synthetic dataset, dataset checks, a summary."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import DataError


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="generate, check or summarise a dataset")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])

    s = sub.add_parser("synth", help="write a synthetic dataset in the official layout")
    s.add_argument("--out", required=True, help="new directory to write")
    s.add_argument("--layout", choices=("react2024", "mars"), default="react2024",
                   help="react2024 (CSV split lists, 25 fps, fixed length; the default) or mars "
                        "(REACT2025/2026 folders, 30 fps, variable-length clips in sessions)")
    s.add_argument("--pairs", default=None,
                   help="clip pairs per split, e.g. train=60,val=20,test=40 (the default)")
    s.add_argument("--frames", type=int, default=None,
                   help=f"frames per clip (default {DEFAULT_FRAMES})")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--contexts", type=int, default=None,
                   help="latent contexts (default: about 4 pairs per context in val/test)")
    s.add_argument("--sessions", type=int, default=None,
                   help="--layout mars: sessions per split (default 6)")
    s.add_argument("--dyads", default=None,
                   help="--layout mars: dyads per session and split, e.g. train=4,val=2,test=4 "
                        "(the default)")
    s.add_argument("--lengths", default=None,
                   help="--layout mars: MIN:MAX clip frames at 30 fps (default 90:600)")
    s.set_defaults(func=_synth)

    c = sub.add_parser("check", help="validate a dataset directory; exit 1 on any problem the "
                                     "loader would refuse (warnings and notes do not fail)")
    c.add_argument("dir", help="dataset root (official REACT2024 layout, or MARS layout: "
                               "detected by its <split>/facial-attributes folders)")
    c.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help="frames per clip, as `reactbench run --frames` loads them (clips must "
                        "reach it, unless none does: then they must agree; a clip's Emotion "
                        f"and 3DMM may differ in length when both reach it); default: "
                        f"{DEFAULT_FRAMES}, as run")
    c.set_defaults(func=_check)

    m = sub.add_parser("summary", help="generate the default dataset if needed, check it, load a "
                                       "split and print a short summary")
    m.add_argument("--data", default=None, help="dataset root (default: the synthetic dataset)")
    m.add_argument("--split", default="test", choices=("train", "val", "test"))
    m.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    m.set_defaults(func=_summary)


def _synth(args: argparse.Namespace) -> int:
    if args.layout == "mars":
        return _synth_mars(args)
    mars_only = [f for f, v in (("--sessions", args.sessions), ("--dyads", args.dyads),
                                ("--lengths", args.lengths)) if v is not None]
    if mars_only:
        raise DataError(f"{', '.join(mars_only)}: only with --layout mars")
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data.synthetic import generate, parse_pairs

    pairs = None if args.pairs is None else parse_pairs(args.pairs)
    frames = DEFAULT_FRAMES if args.frames is None else args.frames
    t0 = time.perf_counter()
    out = generate(args.out, pairs=pairs, frames=frames, seed=args.seed,
                   contexts=args.contexts, progress=True)
    dt = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} in {dt:.1f} s ({size / 1e6:.0f} MB)")
    return 0


def _print_report(report, root, brief: bool = False) -> int:
    """Print a CheckReport (errors, warnings, then notes unless ``brief``) and a summary line
    (when sound, only if not ``brief``); the exit status: 1 when there is any error, else 0."""
    for path, msg in report.errors:
        print(f"{path}: {msg}")
    for path, msg in report.warnings:
        print(f"{path}: warning: {msg}")
    for path, msg in [] if brief else report.notes:
        print(f"{path}: note: {msg}")
    warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    if report.errors:
        print(f"{len(report.errors)} problem(s){warned} in {root}")
        return 1
    if not brief:
        print(f"{root}: no problems found{warned}")
    return 0


def _synth_mars(args: argparse.Namespace) -> int:
    """``data synth --layout mars``: the synthetic MARS-layout dataset."""
    others = [f for f, v in (("--pairs", args.pairs), ("--frames", args.frames),
                             ("--contexts", args.contexts)) if v is not None]
    if others:
        raise DataError(f"{', '.join(others)}: only with --layout react2024; --layout mars "
                        "takes --sessions, --dyads and --lengths")
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data import mars_synthetic as ms

    kw: dict = {}
    if args.sessions is not None:
        kw["sessions"] = args.sessions
    if args.dyads is not None:
        kw["dyads"] = ms.parse_dyads(args.dyads)
    if args.lengths is not None:
        kw["min_frames"], kw["max_frames"] = ms.parse_lengths(args.lengths)
    t0 = time.perf_counter()
    out = ms.generate(args.out, seed=args.seed, progress=True, **kw)
    dt = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} in {dt:.1f} s ({size / 1e6:.0f} MB)")
    return 0


def _check(args: argparse.Namespace) -> int:
    if _is_mars(Path(args.dir)):
        # imported on use, so that `reactbench --help` stays instant
        from reactbench.data.mars_check import dataset_report as mars_report

        return _print_report(mars_report(args.dir, progress=True), args.dir)
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data.check import dataset_report

    return _print_report(dataset_report(args.dir, frames=args.frames, progress=True), args.dir)


def _is_mars(root: Path) -> bool:
    """A MARS-layout root (``<split>/facial-attributes``) without REACT2024 split lists."""
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data import layout
    from reactbench.data.mars_layout import is_mars_root

    return is_mars_root(root) and not any(layout.split_csv_path(root, s).is_file()
                                          for s in layout.SPLITS)


def _summary_mars(args: argparse.Namespace) -> int:
    """``data summary`` of a MARS-layout dataset: check it, load a split, print its shape."""
    # imported on use, so that `reactbench --help` stays instant
    import numpy as np

    from reactbench.data.mars import load_clips, read_meta
    from reactbench.data.mars_check import dataset_report as mars_report

    root = Path(args.data)
    t0 = time.perf_counter()
    if _print_report(mars_report(root, progress=True), root, brief=True):
        return 1
    t1 = time.perf_counter()
    d = load_clips(root, args.split, progress=True)
    t2 = time.perf_counter()
    meta = read_meta(root)
    listeners = [len(v) for k, v in d.pools.items() if k.startswith("listener/")]
    lines = [f"dataset   {root} (MARS layout)"]
    if meta:
        lines.append(f"generator {meta['version']} seed {meta['seed']}, {meta['sessions']} "
                     f"sessions, dyads per session {meta['dyads_per_session']}")
    lines += [
        f"split     {d.split}: N = {d.n} samples (speaker clips), {len(set(d.sessions))} "
        f"sessions, {min(listeners)}-{max(listeners)} listeners per session",
        f"lengths   {int(d.lengths.min())}-{int(d.lengths.max())} frames (median "
        f"{float(np.median(d.lengths)):g}) at {d.fps} fps",
        "modalities facial-attributes (T, 25), coefficients (T, 58)"
        + "".join(f", audio-features {k} (T, {v[0].shape[1]})" for k, v in d.speaker_audio.items())
        + (", audio wav" if d.speaker_wavs else ""),
        f"identity  {d.identity['content_hash'][:16]}",
        f"time      check {t1 - t0:.1f} s, load {t2 - t1:.1f} s",
    ]
    print("\n".join(lines))
    return 0


def _summary(args: argparse.Namespace) -> int:
    if args.data is not None and _is_mars(Path(args.data)):
        return _summary_mars(args)
    # imported on use, so that `reactbench --help` stays instant
    import numpy as np

    from reactbench.data import load_split, resolve_data
    from reactbench.data.synthetic import read_meta

    t0 = time.perf_counter()
    if args.data is None:
        print("using the default synthetic dataset (generated once into the cache)")
    root = resolve_data(args.data)
    t1 = time.perf_counter()
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data.check import dataset_report

    if _print_report(dataset_report(root, frames=args.frames, progress=True), root, brief=True):
        return 1
    t2 = time.perf_counter()
    d = load_split(root, args.split, frames=args.frames, progress=True)
    t3 = time.perf_counter()
    meta = read_meta(root)
    lines = [f"dataset   {root}"]
    if meta:
        lines.append(f"generator {meta['version']} seed {meta['seed']}, pairs {meta['pairs']}, "
                     f"{meta['contexts']} contexts x {meta['styles_per_context']} listener styles")
    lines += [
        f"split     {d.split}: M = {d.n_pairs} pairs, N = {d.n} mirrored rows, T = {d.frames} "
        f"frames ({d.frames / d.fps:.1f} s at {d.fps} fps)",
        f"emotion   (N, T, 25): AU active {d.speaker_emotion[..., :15].mean():.3f}, "
        f"valence [{d.speaker_emotion[..., 15].min():.2f}, {d.speaker_emotion[..., 15].max():.2f}]"
        f", arousal [{d.speaker_emotion[..., 16].min():.2f}, "
        f"{d.speaker_emotion[..., 16].max():.2f}]",
        "3DMM      (N, T, 58); audio: "
        + (", ".join(f"{k} {v.shape[-1]}-d" for k, v in d.speaker_audio.items()) or "none"),
    ]
    if d.neighbours is not None:
        k = d.neighbours.sum(axis=1)
        sym = bool(np.array_equal(d.neighbours, d.neighbours.T))
        lines.append(f"neighbours mean {k.mean():.2f} / min {int(k.min())} / max {int(k.max())} "
                     f"per row, symmetric: {'yes' if sym else 'no'}")
    else:
        lines.append(f"neighbours none (no neighbour_emotion_{d.split}.npy)")
    lines.append(f"identity  {d.identity['content_hash'][:16]}")
    lines.append(f"time      resolve {t1 - t0:.1f} s, check {t2 - t1:.1f} s, load {t3 - t2:.1f} s")
    print("\n".join(lines))
    return 0
