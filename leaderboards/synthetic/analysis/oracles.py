"""Oracle reactions on the synthetic dataset: what FRCorr/FRDist give real vs averaged reactions.

The generator knows each row's class (context x orientation); two rows are appropriate for each
other exactly when their classes match (``synthetic_truth_<split>.npy``). Two oracles that know
the class of every evaluated speaker and use the TRAINING split's real listener reactions of
that class:

- ``class_specific``: generation i is the i-th training listener of the class (real, specific
  reactions: what a perfect sampler of the conditional distribution would return);
- ``class_mean``: every generation is the mean of those training listeners (the conditional
  mean: smooth, not a reaction anybody made).

On the default dataset the mean beats the real reactions on FRDist and FRCorr, i.e. these
metrics reward averaged reactions; see ``../README.md`` (ablation) for what that explains.
``--predictions FILE...`` (saved predictions of models on the same split, e.g. the cached
files ``reactbench run`` results name, ``<model>-<hash>.npz``) adds, per file, the scores of
``<model>_sample_mean`` (the mean of the model's alpha reactions per speaker, repeated alpha
times) and, for the model's reactions as they are, their root-mean-square distance to the
class mean (``rmse_to_class_mean``: how close a model's reactions are to the conditional mean;
also given for the class-specific oracle).

    python leaderboards/synthetic/analysis/oracles.py            # default dataset, test split
    python leaderboards/synthetic/analysis/oracles.py --data DIR --split val --out DIR
    python leaderboards/synthetic/analysis/oracles.py --predictions reactdiff-<hash>.npz ...
    python leaderboards/synthetic/analysis/oracles.py --predictions reactdiff-<hash>.npz --keep
      # replace one model's entries; the other models' stay as the file has them

``--keep`` reads the existing ``oracles_<split>.json`` first: the models it holds whose
predictions are not given keep their entries, after a check that the file is of the same
dataset, split and alpha and that its oracle scores are the ones just computed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from reactbench.errors import DataError

METRICS = ("FRCorr", "FRDist", "FRDiv", "FRVar")


def row_classes(meta: dict, split: str, n: int) -> np.ndarray:
    """(n,) class of each mirrored row: 2 * context + (row is mirrored)."""
    try:
        ctx = np.asarray(meta["rows"][split]["context"], dtype=int)
    except (KeyError, TypeError):
        raise DataError(f"synthetic.json has no row contexts for split {split!r}") from None
    if ctx.shape != (n,):
        raise DataError(f"synthetic.json: {len(ctx)} row contexts for split {split!r}, "
                        f"expected {n} (one per mirrored row)")
    return 2 * ctx + (np.arange(n) >= n // 2)


def class_oracles(train_listener: np.ndarray, train_cls: np.ndarray, test_cls: np.ndarray,
                  alpha: int) -> dict[str, np.ndarray]:
    """train_listener (Ntr, T, 25), classes (Ntr,), (N,) -> {"class_specific",
    "class_mean"}: (N, alpha, T, 25) float32 each."""
    n, (_, t, d) = len(test_cls), train_listener.shape
    specific = np.empty((n, alpha, t, d), np.float32)
    mean = np.empty_like(specific)
    for k, c in enumerate(test_cls):
        rows = np.flatnonzero(train_cls == c)
        if len(rows) == 0:
            raise DataError(f"no training row has the class of evaluated row {k} (class {c})")
        specific[k] = train_listener[rows[np.arange(alpha) % len(rows)]]
        mean[k] = train_listener[rows].mean(axis=0, dtype=np.float64)
    return {"class_specific": specific, "class_mean": mean}


def sample_mean(pred: np.ndarray) -> np.ndarray:
    """(N, alpha, T, 25) reactions -> their mean over alpha, repeated alpha times (float32)."""
    from reactbench.baselines._common import repeat_alpha

    return repeat_alpha(pred.mean(axis=1, dtype=np.float64), pred.shape[1])


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root-mean-square difference of reactions (N, alpha, T, D) to targets (N, alpha or 1, T,
    D), over every row, generation, frame and column."""
    d = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def model_name(path: str | Path) -> str:
    """``reactdiff-no-video-<hash>.npz`` -> ``reactdiff-no-video``; ``mine.npz`` -> ``mine``."""
    stem = Path(path).stem
    head, _, tail = stem.rpartition("-")
    return head if head and tail.isalnum() and any(c.isdigit() for c in tail) else stem


def score_oracles(root: Path, split: str = "test", alpha: int = 10,
                  predictions: list[str | Path] | None = None) -> dict:
    """Scores (official protocol) of both oracles on ``split`` of the synthetic dataset (and
    of the sample means of saved ``predictions``, with the distances of their reactions to the
    class mean)."""
    from reactbench.data import load_split
    from reactbench.data.synthetic import read_meta
    from reactbench.metrics import compute_metrics

    meta = read_meta(root)
    if meta is None:
        raise DataError(f"{root}: not a synthetic dataset (no synthetic.json); the oracles need "
                        "the generator's row contexts")
    ev = load_split(root, split, audio=False)
    tr = load_split(root, "train", audio=False, neighbours=False)
    preds = class_oracles(tr.listener_emotion, row_classes(meta, "train", tr.n),
                          row_classes(meta, split, ev.n), alpha)
    out = {"dataset": str(root), "generator": meta.get("version"), "split": split,
           "alpha": alpha, "protocol": "official", "scores": {},
           "rmse_to_class_mean": {"class_specific": round(
               rmse(preds["class_specific"], preds["class_mean"][:, :1]), 4)}}
    if predictions:
        from reactbench.predictions import check_predictions, load_predictions

        out["predictions"] = []
        for path in predictions:
            saved = load_predictions(path, ev.speaker_ids)
            check_predictions(saved, n=ev.n, frames=ev.frames, speaker_ids=ev.speaker_ids,
                              source=str(path))
            emo, model = np.asarray(saved.emotion), model_name(path)
            preds[f"{model}_sample_mean"] = sample_mean(emo)
            out["rmse_to_class_mean"][model] = round(rmse(emo, preds["class_mean"][:, :1]), 4)
            out["predictions"].append(Path(path).name)
    for name, pred in preds.items():
        s = compute_metrics(pred, ev.listener_emotion, ev.speaker_emotion, ev.neighbours,
                            metrics=list(METRICS))
        out["scores"][name] = {m: round(float(s[m]), 4) for m in METRICS}
    return out


def keep_others(res: dict, old: dict, where: Path) -> dict:
    """``res`` with the model entries of ``old`` (an earlier result of :func:`score_oracles`)
    whose predictions ``res`` does not hold; DataError when ``old`` is of another dataset,
    split or alpha, or its oracles score otherwise."""
    for key in ("dataset", "generator", "split", "alpha", "protocol"):
        if old.get(key) != res[key]:
            raise DataError(f"{where}: {key} {old.get(key)!r}, not {res[key]!r}: --keep merges "
                            "only a file of the same run")
    for name in ("class_specific", "class_mean"):
        if old["scores"].get(name) != res["scores"][name]:
            raise DataError(f"{where}: the {name} oracle scores {old['scores'].get(name)}, now "
                            f"{res['scores'][name]}: recompute every model instead of --keep")
    new = {model_name(p) for p in res.get("predictions", [])}
    for path in old.get("predictions", []):
        model = model_name(path)
        if model not in new:
            res["scores"][f"{model}_sample_mean"] = old["scores"][f"{model}_sample_mean"]
            res["rmse_to_class_mean"][model] = old["rmse_to_class_mean"][model]
            res.setdefault("predictions", []).append(path)
    return res


def main() -> None:
    from reactbench.atomic import atomic_path
    from reactbench.data.resolve import resolve_data

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="synthetic dataset (default: the embedded one)")
    ap.add_argument("--split", default="test", choices=("val", "test"))
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--predictions", nargs="+", default=None, metavar="FILE",
                    help="saved predictions on the split: adds the mean of their alpha reactions "
                         "and their distance to the class mean")
    ap.add_argument("--out", default=str(Path(__file__).parent),
                    help="folder for oracles_<split>.json")
    ap.add_argument("--keep", action="store_true",
                    help="keep the entries of the models in the existing file whose predictions "
                         "are not given")
    a = ap.parse_args()
    res = score_oracles(resolve_data(a.data), a.split, a.alpha, a.predictions)
    path = Path(a.out) / f"oracles_{a.split}.json"
    if a.keep:
        res = keep_others(res, json.loads(path.read_text()), path)
    for name, s in res["scores"].items():
        print(f"{name:28s} " + "  ".join(f"{m} {v:.4f}" for m, v in s.items()))
    for name, d in res["rmse_to_class_mean"].items():
        print(f"RMSE to the class mean: {name:20s} {d:.4f}")
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
