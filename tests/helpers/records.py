"""Hand-made result records (fixed numbers) for the table and schema tests."""

from __future__ import annotations

from reactbench import registry
from reactbench.models import ModelInfo, display_fields
from reactbench.results import SCHEMA_VERSION, metric_entry

DIRS = {"FRCorr": "higher", "FRDist": "lower", "FRDiv": "higher", "FRVar": "higher",
        "FRDvs": "higher", "FRRea": "lower", "FRSyn": "lower"}


def record(name: str, values: dict[str, float], *, task: str = "offline", ci: float = 0.0,
           protocol: str = "official", reference: bool = False, content_hash: str = "abc",
           alpha: int = 10) -> dict:
    metrics = {
        m: metric_entry(v, direction=DIRS[m], version="1",
                        ci=(v - ci, v + ci) if ci else None)
        for m, v in values.items()
    }
    return {
        "schema": SCHEMA_VERSION, "created": "2026-01-01T00:00:00+00:00", "kind": "run",
        "task": task, "window": 50 if task == "online" else None, "split": "test",
        "alpha": alpha, "seeds": [0], "protocol": protocol, "protocol_version": "1",
        "bootstrap": 200 if ci else 0,
        "realism_features": "emotion", "metrics": metrics, "extra": {}, "per_seed": None,
        "model": {"spec": name, "name": name, "version": "1", "params": {}, "citation": "",
                  "reference": reference, "class": None, **_display(name)},
        "dataset": {"root": "/data/x", "split": "test", "content_hash": content_hash,
                    "generator": {"version": "synth-2", "seed": 0}, "n": 80, "frames": 750},
        "predictions": [], "causality": None, "software": {}, "machine": {}, "timings": {},
    }


def _display(name: str) -> dict:
    """The display fields a run of a shipped model records (a baseline's ModelInfo, a ReactDiff
    variant's class fields); none for other names."""
    if name in registry.BASELINES:
        return display_fields(registry.create_model(name).info)
    if name not in registry.available_models():
        return {}
    cls = registry.resolve_model(name)
    return display_fields(ModelInfo(name=name, display=cls.display,
                                    ablation_label=cls.ablation_label,
                                    table_order=cls.table_order))


def values(corr, dist, div, var, dvs, rea, syn) -> dict[str, float]:
    return dict(zip(DIRS, (corr, dist, div, var, dvs, rea, syn)))


def board(ci: float = 0.0) -> list[dict]:
    """A small offline board: GT reference row, two baselines and a model."""
    return [
        record("b_mime", values(2.5, 80.1234, 0.0, 0.0431, 0.1213, 3.2, 0.0), ci=ci),
        record("gt", values(9.99999, 0.0, 0.0, 0.0431, 0.1213, 0.0, 48.5), reference=True, ci=ci),
        record("my_model", values(3.125, 70.5, 0.0278, 0.0422, 0.1209, 2.9, 45.0), ci=ci),
        record("b_random", values(0.03, 91.69, 0.1671, 0.0835, 0.1675, 40.1, 46.0), ci=ci),
    ]


def model_runs(name: str, corrs, dists, **kw) -> list[dict]:
    """Records of one model run with several checkpoints (one per FRCorr/FRDist pair)."""
    out = []
    for i, (c, d) in enumerate(zip(corrs, dists)):
        r = record(name, values(c, d, 0.01 * (i + 1), 0.03, 0.06, 0.5, 49.0), **kw)
        r["model"]["params"] = {"checkpoint": f"runs/{name}-seed{i}/model.pt"}
        r["_path"] = f"seed{i}/{name}.json"
        out.append(r)
    return out
