"""Move the training data of a dataset to a machine without the audio stack (the GPU device).

``export``: load the train and val splits here (audio features computed by reactbench.data) and
write one compressed ``.npz`` per split: every person-clip once (float16), the mirrored row
order as indices, clip ids and the dataset identity. ``load``: rebuild the SplitData there.
Used by benchmarks/device_reactdiff.sh to train the shipped checkpoint on the GPU with exactly
the data (and dataset identity) of this machine.

    python benchmarks/reactdiff_data.py export OUTDIR [--data DIR]
    python benchmarks/reactdiff_data.py train OUTDIR --variant reactdiff --run runs/x \
        [--device cuda] [--epochs N] [--config C.json] [--stage1-from MODEL.pt]
    python benchmarks/reactdiff_data.py stamp runs/x/model.pt --scores scores.json --name x
    python benchmarks/reactdiff_data.py quantise runs/x/model.pt --out shipped.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def export(out: Path, data=None, splits=("train", "val", "test")) -> list[Path]:
    from reactbench.data import dataset_identity, load_split, resolve_data

    root = Path(resolve_data(data))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in splits:
        s = load_split(root, split, neighbours=split != "train")
        clips = list(dict.fromkeys(s.speaker_ids))
        first = [s.speaker_ids.index(c) for c in clips]
        arrays = {"emotion": s.speaker_emotion[first], "3dmm": s.speaker_3dmm[first]}
        arrays.update({f"audio_{k}": v[first] for k, v in s.speaker_audio.items()})
        index = {c: i for i, c in enumerate(clips)}
        meta = {"split": split, "clips": clips, "identity": dataset_identity(root, split),
                "speaker": [index[c] for c in s.speaker_ids],
                "listener": [index[c] for c in s.listener_ids],
                "speaker_ids": s.speaker_ids, "listener_ids": s.listener_ids}
        path = out / f"{split}.npz"
        if s.neighbours is not None:
            arrays["neighbours"] = s.neighbours
        np.savez_compressed(path, meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float16) for k, v in arrays.items()})
        written.append(path)
    return written


def load(path: Path):
    """The SplitData of an exported split (float32 arrays)."""
    from reactbench.data.split import SplitData

    z = np.load(path)
    meta = json.loads(str(z["meta"]))
    spk, lis = np.array(meta["speaker"]), np.array(meta["listener"])

    def arr(name):
        return z[name].astype(np.float32)

    emo, face = arr("emotion"), arr("3dmm")
    audio = {k[len("audio_"):]: arr(k) for k in z.files if k.startswith("audio_")}
    return SplitData(split=meta["split"], root=Path("."), speaker_ids=meta["speaker_ids"],
                     listener_ids=meta["listener_ids"], speaker_emotion=emo[spk],
                     listener_emotion=emo[lis], speaker_3dmm=face[spk], listener_3dmm=face[lis],
                     speaker_audio={k: v[spk] for k, v in audio.items()},
                     listener_audio={k: v[lis] for k, v in audio.items()},
                     identity=meta["identity"],
                     neighbours=z["neighbours"].astype(np.float64) if "neighbours" in z.files
                     else None)


def evaluate(folder: Path, runs: list[Path], alpha: int = 10, seed: int = 0,
             device: str = "cuda", baselines: bool = True, splits=("val", "test"),
             temperatures=(1.0, 0.6, 0.3)) -> list[dict]:
    """Offline scores (official protocol) of trained runs (at several sampling temperatures)
    and the naive baselines on the exported val and test splits."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reactbench.reactdiff import plugin
    from reactbench.reactdiff.checkpoint import read_checkpoint

    from reactbench import registry
    from reactbench.metrics.api import compute_metrics
    from reactbench.models import SpeakerInput

    tr = load(folder / "train.npz")
    jobs = []
    if baselines:
        for name in ("b_random", "b_mime", "b_meanseq", "b_meanfr", "b_nn"):
            jobs.append((name, None, lambda name=name: registry.create_model(name)))
    for run in runs:
        variant = read_checkpoint(run / "model.pt")["variant"]
        temps = temperatures if variant not in ("reactdiff-no-diffusion",) else (1.0,)
        for temp in temps:
            jobs.append((run.name, temp, lambda v=variant, r=run, t=temp: plugin.VARIANT_CLASSES[v](
                checkpoint=str(r / "model.pt"), check_data="false", temperature=t)))
    rows = []
    names = ["FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn"]
    for split in splits:
        te = load(folder / f"{split}.npz")
        inp = SpeakerInput(te.speaker_emotion, te.speaker_3dmm, te.speaker_audio,
                           np.arange(te.n), te.speaker_ids)
        for name, temp, make in jobs:
            t0 = time.perf_counter()
            try:
                m = make()
                m.fit(tr, seed=seed, device=device)
                pred = m.generate(inp, alpha=alpha, seed=seed).emotion
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(name, "failed:", repr(exc)[:300], flush=True)
                continue
            gen = time.perf_counter() - t0
            s = compute_metrics(pred, te.listener_emotion, te.speaker_emotion, te.neighbours,
                                metrics=names, device=device)
            row = {"split": split, "model": name, "temperature": temp,
                   "generate_s": round(gen, 2), **{k: round(float(s[k]), 4) for k in names}}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def choose_temperature(rows: list[dict], run: str) -> tuple[float, str]:
    """The sampling temperature of ``run`` on the VAL split, by the rule ``reactbench train``
    applies after stage 2 (reactbench.reactdiff.calibrate.choose)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reactbench.reactdiff.calibrate import choose

    val = [r for r in rows if r["split"] == "val" and r["model"] == run]
    if not val:
        raise SystemExit(f"no val rows for run {run!r} in the scores")
    return choose(val)


def stamp(model: Path, scores: Path, run: str) -> dict:
    """Write the val-chosen sampling temperature into a model file (``sampling``)."""
    from reactbench.reactdiff.calibrate import write_sampling

    temp, how = choose_temperature(json.loads(scores.read_text()), run)
    return write_sampling(model, temp, how)


def quantise(model: Path, out: Path) -> Path:
    """Write ``model`` with its weight matrices stored as int8 + per-channel scales (the
    shipped checkpoint's format; about half the size of float16)."""
    from reactbench.reactdiff.checkpoint import atomic_save, quantise_int8, read_checkpoint

    ckpt = read_checkpoint(model)
    ckpt.pop("path", None)
    ckpt["model"] = quantise_int8(ckpt["model"])
    ckpt["storage"] = "int8 weight matrices, per-output-channel float32 scales"
    return atomic_save(ckpt, out)


def train(folder: Path, variant: str, run: Path, device: str, preset: str = "small",
          epochs: int | None = None, seed: int = 0, half: bool = False,
          config: str | None = None, stage1_from: str | None = None) -> Path:
    """Train ``variant`` on the exported train/val splits (identities of the exporting
    machine's dataset are recorded in the checkpoint)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reactbench.reactdiff.job import build_config
    from reactbench.reactdiff.train import train_reactdiff

    tr, va = load(folder / "train.npz"), load(folder / "val.npz")
    cfg = build_config(variant, preset, config, epochs)
    return train_reactdiff(cfg, tr, va, out=run, device=device, seed=seed, progress=False,
                           identities={"train": tr.identity, "val": va.identity},
                           half_export=half, stage="2" if stage1_from else "all",
                           stage1_from=stage1_from)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=("export", "train", "evaluate", "stamp", "quantise"))
    ap.add_argument("folder")
    ap.add_argument("--data", default=None)
    ap.add_argument("--variant", default="reactdiff")
    ap.add_argument("--run", default=None)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--half", action="store_true")
    ap.add_argument("--config", default=None)
    ap.add_argument("--seed", type=int, default=0, help="train: training seed")
    ap.add_argument("--stage1-from", default=None,
                    help="train: stage 2 only, on the MMT of this model file")
    ap.add_argument("--runs", nargs="*", default=[])
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--temperatures", default="1.0,0.6,0.3",
                    help="evaluate: comma-separated sampling temperatures")
    ap.add_argument("--splits", default="val,test", help="evaluate: comma-separated splits")
    ap.add_argument("--out", default=None, help="evaluate: write the rows as JSON here")
    ap.add_argument("--scores", default=None, help="stamp: scores JSON of evaluate")
    ap.add_argument("--name", default=None, help="stamp: the run's name in the scores")
    a = ap.parse_args()
    if a.action == "export":
        for p in export(Path(a.folder), a.data):
            print(p, p.stat().st_size // 1024, "KiB")
    elif a.action == "quantise":  # folder = the model file, --out the int8 copy
        print(quantise(Path(a.folder), Path(a.out)))
    elif a.action == "stamp":  # folder = the model file
        print(stamp(Path(a.folder), Path(a.scores), a.name))
    elif a.action == "evaluate":
        rows = evaluate(Path(a.folder), [Path(r) for r in a.runs], device=a.device,
                        baselines=not a.no_baselines, splits=tuple(a.splits.split(",")),
                        temperatures=tuple(float(t) for t in a.temperatures.split(",")))
        if a.out:
            Path(a.out).write_text(json.dumps(rows, indent=1))
    else:
        t0 = time.perf_counter()
        path = train(Path(a.folder), a.variant, Path(a.run), a.device, epochs=a.epochs,
                     half=a.half, config=a.config, stage1_from=a.stage1_from, seed=a.seed)
        print(f"{a.variant}: {path} in {time.perf_counter() - t0:.0f} s", flush=True)
