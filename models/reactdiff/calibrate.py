"""The sampling temperature of a trained model, chosen on the VAL split (never test).

ReactDiff starts each window's DDIM from x_T = temperature * N(0, I). Lower temperatures give
reactions nearer the conditional mode (better FRCorr/FRDist on this data, less FRDiv). After
stage 2, ``reactbench train`` (and so ``reactbench ablate``) scores the model offline on the val
split at each temperature of the preset's ``train.temperatures`` (small: 0.15, 0.3, 0.6; paper:
none, so the paper's x_T ~ N(0, I) stays), picks the best mean rank of FRCorr (higher) and
FRDist (lower), ties to the higher temperature (more diverse), and writes it into the model file
as ``sampling`` = {``temperature``, ``chosen_on``}; the plug-in samples at it unless
``--model-arg temperature=`` says otherwise. The scores go to ``temperature.json`` beside it.
Official protocol, alpha = ``ALPHA``, seed ``SEED``, as the leaderboards.

The number of DDIM steps is a sampling choice of the same kind: :func:`choose_steps` picks it
from val scores at several step counts by the same mean rank (ties to fewer steps) and
:func:`write_steps` stores it as ``sampling.ddim_steps``; without it the plug-in runs the
schedule's full T steps. ``leaderboards/synthetic/choose_ddim_steps.py`` makes that choice for
the shipped checkpoint from its val sweep.
"""

from __future__ import annotations

import json
from pathlib import Path

from reactbench.atomic import atomic_path
from reactbench.harness import generate_offline
from reactbench.metrics.api import compute_metrics

from .checkpoint import atomic_save, load_file
from .plugin import VARIANT_CLASSES

ALPHA = 10
SEED = 0
METRICS = ("FRCorr", "FRDist")


def wants_temperature(config: dict) -> bool:
    """Whether a model of ``config`` (a ReactDiffConfig as a dict, as model files store it)
    samples at a temperature chosen on val: it lists ``train.temperatures`` and diffuses."""
    return bool((config.get("train") or {}).get("temperatures")) and \
        (config.get("model") or {}).get("diffusion", True)


def write_sampling(model_path: Path, temperature: float, how: str) -> dict:
    """Store ``sampling`` = {temperature, chosen_on: how} in the model file (atomically);
    returns it."""

    ckpt = load_file(model_path, what="the model file")
    ckpt["sampling"] = {"temperature": temperature, "chosen_on": how}
    atomic_save(ckpt, model_path)
    return ckpt["sampling"]


def write_steps(model_path: Path, steps: int, how: str, **extra) -> dict:
    """Add ``ddim_steps`` (and ``ddim_steps_chosen_on``: how, and ``extra``) to the model
    file's ``sampling`` entry (atomically; the temperature stays); returns the entry. The
    plug-in samples with that many DDIM steps unless ``--model-arg ddim_steps=`` says
    otherwise."""

    ckpt = load_file(model_path, what="the model file")
    ckpt["sampling"] = {**ckpt.get("sampling", {}), "ddim_steps": int(steps),
                        "ddim_steps_chosen_on": how, **extra}
    atomic_save(ckpt, model_path)
    return ckpt["sampling"]


def choose_steps(rows: list[dict]) -> tuple[int, str]:
    """(DDIM steps, how they were chosen) from val rows {ddim_steps, FRCorr, FRDist}: the best
    mean rank of FRCorr (higher) and FRDist (lower); ties to fewer steps (the cheaper
    sampler)."""
    corr = sorted(rows, key=lambda r: -r["FRCorr"])
    dist = sorted(rows, key=lambda r: r["FRDist"])
    best = min(rows, key=lambda r: (corr.index(r) + dist.index(r), r["ddim_steps"]))
    steps = ", ".join(str(r["ddim_steps"]) for r in rows)
    return int(best["ddim_steps"]), (f"val split (DDIM steps {steps}; best mean rank of FRCorr "
                                     "and FRDist, ties to fewer steps)")


def choose(rows: list[dict]) -> tuple[float, str]:
    """(temperature, how it was chosen) from rows {temperature, FRCorr, FRDist}: the best mean
    rank of FRCorr (higher) and FRDist (lower); ties to the higher temperature."""
    corr = sorted(rows, key=lambda r: -r["FRCorr"])
    dist = sorted(rows, key=lambda r: r["FRDist"])
    best = min(rows, key=lambda r: (corr.index(r) + dist.index(r), -r["temperature"]))
    temps = ", ".join(str(r["temperature"]) for r in rows)
    return best["temperature"], (f"val split (temperatures {temps}; best mean rank of FRCorr "
                                 "and FRDist, ties to the higher temperature)")


def score(model_path: Path, variant: str, train, val, temperatures, device: str) -> list[dict]:
    """Offline val scores of ``model_path`` at each temperature: [{temperature, FRCorr,
    FRDist}]. ``train``/``val``: SplitData (val with its neighbour matrix)."""

    rows = []
    for t in temperatures:
        model = VARIANT_CLASSES[variant](checkpoint=str(model_path), check_data="false",
                                         temperature=str(t))
        model.fit(train, seed=SEED, device=device)
        pred = generate_offline(model, val, alpha=ALPHA, seed=SEED, name=variant,
                                keep_face=False).emotion
        s = compute_metrics(pred, val.listener_emotion, val.speaker_emotion, val.neighbours,
                            metrics=list(METRICS))
        rows.append({"temperature": float(t), **{m: float(s[m]) for m in METRICS}})
    return rows


def calibrate(model_path: Path, cfg, train, val, device: str, log=print) -> dict | None:
    """Choose the temperature of ``cfg.train.temperatures`` on ``val`` and write it into
    ``model_path`` (atomically) and the scores into ``temperature.json``; returns the
    ``sampling`` entry, or None when there is nothing to choose (no temperatures, a variant
    without sampling) or nothing to choose on (no val split with a neighbour matrix)."""

    if not wants_temperature(cfg.to_dict()):
        return None
    temperatures = tuple(cfg.train.temperatures)
    if val is None or val.neighbours is None:
        root = getattr(val if val is not None else train, "root", None) or "the dataset"
        how = ("" if val is None else
               f"; `reactbench appropriate --data {root} --split val` builds it, then "
               f"`reactbench train ... --out {Path(model_path).parent} --resume` chooses one")
        log(f"warning: {root} has no val split with a neighbour matrix "
            f"(neighbour_emotion_val.npy): the sampling temperature is not calibrated (1.0; "
            f"--model-arg temperature=T sets one{how})")
        return None
    log(f"{cfg.variant}: choosing the sampling temperature on val "
        f"({', '.join(map(str, temperatures))})")
    rows = score(model_path, cfg.variant, train, val, temperatures, device)
    temp, how = choose(rows)
    for r in rows:
        log(f"  temperature {r['temperature']}: FRCorr {r['FRCorr']:.3f}, FRDist "
            f"{r['FRDist']:.2f}" + ("  <- chosen" if r["temperature"] == temp else ""))
    sampling = write_sampling(model_path, temp, how)
    with atomic_path(Path(model_path).with_name("temperature.json")) as tmp:
        tmp.write_text(json.dumps({"chosen": temp, "chosen_on": how, "alpha": ALPHA,
                                   "seed": SEED, "protocol": "official", "scores": rows},
                                  indent=1) + "\n")
    return sampling
