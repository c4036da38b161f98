"""``reactbench data synth|check|summary``: the synthetic dataset, dataset checks, a summary."""

from __future__ import annotations

import argparse
import time

from reactbench.constants import DEFAULT_FRAMES


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="generate, check or summarise a dataset")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])

    s = sub.add_parser("synth", help="write a synthetic dataset in the official layout")
    s.add_argument("--out", required=True, help="new directory to write")
    s.add_argument("--pairs", default=None,
                   help="clip pairs per split, e.g. train=60,val=20,test=40 (the default)")
    s.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help=f"frames per clip (default {DEFAULT_FRAMES})")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--contexts", type=int, default=None,
                   help="latent contexts (default: about 4 pairs per context in val/test)")
    s.set_defaults(func=_synth)

    c = sub.add_parser("check", help="validate a dataset directory; exit 1 on any problem the "
                                     "loader would refuse (warnings and notes do not fail)")
    c.add_argument("dir", help="dataset root (official layout)")
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
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data.synthetic import generate, parse_pairs

    pairs = None if args.pairs is None else parse_pairs(args.pairs)
    t0 = time.perf_counter()
    out = generate(args.out, pairs=pairs, frames=args.frames, seed=args.seed,
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


def _check(args: argparse.Namespace) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.data.check import dataset_report

    return _print_report(dataset_report(args.dir, frames=args.frames, progress=True), args.dir)


def _summary(args: argparse.Namespace) -> int:
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
