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

The sampler is a sampling choice of the same kind: which of the schedule's steps it takes
(their number is the network evaluations per window) and which solver (``ddim`` or ``dpm2m``,
:mod:`.diffusion`). :func:`choose_sampler` picks one from val scores of several candidates, by
the same mean rank among those within an evaluation budget (ties to fewer steps, then to the
lower FRDist), and :func:`write_sampler` stores it in ``sampling`` (``ddim_steps``,
``timesteps`` where they are not evenly spaced, ``solver``); without it the plug-in runs DDIM at
all T steps. ``leaderboards/synthetic/choose_sampler.py`` makes that choice for the shipped
checkpoint from its val sweep.
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


def write_sampler(model_path: Path, steps: int, timesteps: list[int] | None, solver: str,
                  how: str, **extra) -> dict:
    """Store the sampler in the model file's ``sampling`` entry (atomically; the temperature and
    how it was chosen stay, an earlier sampler goes): ``ddim_steps``, ``timesteps`` (None:
    evenly spaced), ``solver``, ``sampler_chosen_on``: how, and ``extra``; returns the entry.
    The plug-in samples so unless ``--model-arg`` ddim_steps, timesteps or solver say
    otherwise."""

    ckpt = load_file(model_path, what="the model file")
    kept = {k: v for k, v in ckpt.get("sampling", {}).items() if k in ("temperature",
                                                                        "chosen_on")}
    ckpt["sampling"] = {**kept, "ddim_steps": int(steps),
                        **({"timesteps": [int(t) for t in timesteps]} if timesteps else {}),
                        "solver": solver, "sampler_chosen_on": how, **extra}
    atomic_save(ckpt, model_path)
    return ckpt["sampling"]


def sampler_label(row: dict) -> str:
    """"ddim 10", "dpm2m 19,17,14,10,0": a sweep row's solver and steps."""
    steps = row["timesteps"] or [row["ddim_steps"]]
    return f"{row['solver']} {','.join(str(t) for t in steps)}"


def choose_sampler(rows: list[dict], budget: int) -> tuple[dict, str]:
    """(the chosen row, how it was chosen) from val rows {ddim_steps, timesteps (None: evenly
    spaced), solver, FRCorr, FRDist}: among the rows of at most ``budget`` steps, the best mean
    rank of FRCorr (higher) and FRDist (lower); ties to fewer steps, then to the lower FRDist.
    ValueError when no row is within the budget."""
    within = [r for r in rows if r["ddim_steps"] <= budget]
    if not within:
        raise ValueError(f"no sampler of at most {budget} steps among {len(rows)} candidates")
    corr = sorted(within, key=lambda r: -r["FRCorr"])
    dist = sorted(within, key=lambda r: r["FRDist"])
    best = min(within, key=lambda r: (corr.index(r) + dist.index(r), r["ddim_steps"],
                                      r["FRDist"]))
    return best, (f"val split ({len(within)} samplers of at most {budget} network evaluations "
                  "per window; best mean rank of FRCorr and FRDist, ties to fewer steps)")


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
