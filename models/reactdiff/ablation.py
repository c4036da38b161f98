"""The ablation study behind ``reactbench ablate --model reactdiff``.

For each variant (full model, the four ablations of the paper's Table 4, and LRS): find its
checkpoint (``runs/<variant>-<preset>/model.pt``; for ``reactdiff`` on the default synthetic
dataset with the small preset, the shipped one), train it with :func:`reactbench.reactdiff.job.
train_job` if it is missing (``retrain``: also instead of the shipped one; a trained run is
never replaced), then evaluate every variant through the same
harness as ``reactbench run`` (reactbench.harness.run: one result JSON per variant) and write
the ablation table (``ablation.md``) next to the result files. With training seeds
(``--train-seeds 0,1,2``) every variant is trained once per seed
(``runs/<variant>-<preset>-seed<k>``) and the table shows mean ± std over the seeds.
"""

from __future__ import annotations

from pathlib import Path

from reactbench.atomic import nearest_existing
from reactbench.data.layout import check_split_name
from reactbench.errors import ModelError, param
from reactbench.harness import RunOptions, run
from reactbench.harness.entries import create_model
from reactbench.merge import merge_runs
from reactbench.results import check_results_dir, read_results
from reactbench.tables import render, write_table

from . import checkpoint as ck
from .calibrate import wants_temperature
from .config import VARIANTS
from .job import default_out, train_job

ABLATION_VARIANTS = ("reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion",
                     "reactdiff-no-video", "reactdiff-no-audio", "reactdiff-lrs")


def variant_checkpoint(variant: str, preset: str, data, runs: str | Path = "runs",
                       train_seed: int | None = None) -> Path:
    """Where ``variant``'s model file is (or will be written): ``runs/<variant>-<preset>``, or
    ``runs/<variant>-<preset>-seed<k>`` for training seed k of a multi-seed ablation (which
    never uses the shipped checkpoint: its seed was chosen on val)."""
    name = default_out(variant, preset).name
    if train_seed is not None:
        return Path(runs) / f"{name}-seed{train_seed}" / "model.pt"
    path = Path(runs) / name / "model.pt"
    if (variant == "reactdiff" and preset == "small" and data is None and not path.exists()
            and ck.SHIPPED.exists()):
        return ck.SHIPPED
    return path


def check_preset(variant: str, path: Path, meta: dict | None, preset: str) -> None:
    """Raise ModelError unless checkpoint ``path`` (its metadata ``meta``, None when the file
    is unreadable) was trained with ``preset``."""
    if meta is None:
        ck.read_checkpoint(path)  # raises the ModelError that says why the file is unreadable
    trained = (meta or {}).get("config", {}).get("preset")
    if trained != preset:
        raise ModelError(f"{path} ({variant}) was trained with the {trained!r} preset, not "
                         f"{preset!r}: remove {path.parent} (ablate then trains it with "
                         f"{preset!r}) or pass {param('preset', trained)}")


def check_calibrated(variant: str, path: Path, meta: dict | None, preset: str, data) -> None:
    """Raise ModelError if checkpoint ``path``'s config lists sampling temperatures
    (``train.temperatures``, diffusion variants) but its model file holds none chosen: training
    stopped while choosing it on val (reactbench.reactdiff.calibrate), and the model would sample
    at 1.0, unlike the other variants."""

    cfg = (meta or {}).get("config") or {}
    if wants_temperature(cfg) and not (meta or {}).get("sampling"):
        temperatures = cfg["train"]["temperatures"]
        data_flag = "" if data is None else f" --data {data}"
        raise ModelError(
            f"{path} ({variant}) has no sampling temperature although its config lists "
            f"train.temperatures {list(temperatures)} (training stopped while choosing it on "
            f"val?); choose it with `reactbench train --model {variant} --preset {preset} "
            f"--out {path.parent} --resume{data_flag}` (the finished run is re-exported and "
            "calibrated), then run ablate again")


def ablate(*, variants=ABLATION_VARIANTS, preset: str = "small", data=None, device: str = "cpu",
           runs: str | Path = "runs", out: str | Path, split: str = "test", alpha: int = 10,
           seeds=(0,), task: str = "offline", retrain: bool = False, train_device=None,
           epochs: int | None = None, train_seeds=None, progress: bool = True,
           log=print, command: list[str] | None = None) -> tuple[list, Path]:
    """Train what is missing, evaluate every variant, write ``out/ablation.md`` (rebuilt from
    every result file in ``out``). Returns (this call's result records, table path).

    ``train_seeds`` (e.g. (0, 1, 2)): train every variant once per seed
    (``runs/<variant>-<preset>-seed<k>``), evaluate each into ``out/train-seed<k>/`` and show
    each variant as one row, mean ± standard deviation over its training seeds
    (:mod:`reactbench.merge`). ``command``: the command line recorded in each result (None
    from the library)."""

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ModelError(f"unknown ReactDiff variant(s) {unknown}; choose from {list(VARIANTS)}")
    if train_seeds is not None:
        train_seeds = tuple(int(k) for k in train_seeds)
        if (not train_seeds or len(set(train_seeds)) != len(train_seeds)
                or min(train_seeds) < 0):
            raise ModelError(f"{param('train_seeds', list(train_seeds))}: expected distinct "
                             "integers >= 0 (e.g. 0,1,2)")
    # every argument is checked before any (possibly long) training starts
    opt = RunOptions(split=split, data=data, task=task, alpha=alpha, seeds=tuple(seeds),
                     device=device, progress=progress)
    opt.validate()
    check_split_name(split)
    check_results_dir(out)
    blocker = nearest_existing(runs)
    if blocker is not None and not blocker.is_dir():
        raise ModelError(f"{param('runs', runs)}: {blocker} is a file; {param('runs')} names the "
                         "folder of the variants' training outputs (runs/<variant>-<preset>/)")
    if retrain:  # a finished run would only be re-exported (resume), not trained again
        done = [variant_checkpoint(v, preset, data, runs, k) for k in train_seeds or (None,)
                for v in variants]
        done = [p for p in done if p != ck.SHIPPED and p.exists()]
        if done:
            raise ModelError(
                f"{param('retrain')}: {', '.join(str(p.parent) for p in done)} already hold(s) "
                "a trained model.pt, which is never replaced; remove those folders (or pass "
                f"another {param('runs')}) to train them again")
    records = []
    for k in train_seeds or (None,):
        folder = Path(out) if k is None else Path(out) / f"train-seed{k}"
        paths = {}
        for v in variants:
            path = variant_checkpoint(v, preset, data, runs, k)
            if retrain or not path.exists():
                if path == ck.SHIPPED:
                    path = Path(runs) / default_out(v, preset).name / "model.pt"
                log(f"[ablate] training {v} ({preset}{'' if k is None else f', seed {k}'}) "
                    f"into {path.parent}")
                train_job(v, preset=preset, device=train_device or device, data=data,
                          out=path.parent, resume=path.parent.joinpath("checkpoint.pt").exists(),
                          epochs=epochs, seed=0 if k is None else k, progress=progress,
                          log=log)
            paths[v] = path
        records += _evaluate(variants, paths, preset, opt, folder, log, command)
    return records, _write_table(Path(out), merged=train_seeds is not None, log=log)


def _evaluate(variants, paths: dict, preset: str, opt, out: Path, log,
              command: list[str] | None = None) -> list[dict]:
    """Evaluate each variant's checkpoint ``paths[v]`` with the run harness into ``out``;
    returns the result records written there (``command`` recorded), one per variant."""

    opt.model_args = {v: {"checkpoint": str(p)} for v, p in paths.items()}
    # each model reads its checkpoint's metadata once; the preset check uses that, and run()
    # evaluates these same models (their fit() loads the weights)
    models = {v: create_model(v, opt) for v in variants}
    for v, model in models.items():  # one table compares variants of ONE preset
        check_preset(v, paths[v], model.metadata, preset)
        check_calibrated(v, paths[v], model.metadata, preset, opt.data)
    return [r for r, _ in run(list(variants), opt, out, models=models, log=log,
                              command=command)]


def _write_table(out: Path, *, merged: bool, log) -> Path:
    """``out/ablation.md`` from every result in ``out`` (and, ``merged``, its train-seed<k>/
    folders, one row per variant: mean ± std over the seeds)."""

    table = out / "ablation.md"
    folders = sorted(out.glob("train-seed*")) if merged else [out]
    every = read_results(folders)  # the table covers every result there, earlier ones too
    if table.exists():
        log(f"[ablate] {table} is rebuilt from all {len(every)} result files in "
            f"{', '.join(map(str, folders))}")
    write_table(render(merge_runs(every) if merged else every, fmt="md", table="ablation"),
                table, force=True)
    return table
