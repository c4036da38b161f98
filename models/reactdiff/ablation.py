"""The ablation study behind ``reactbench ablate --model reactdiff``.

For each variant (full model, the four ablations of the paper's Table 4, and LRS): find its
checkpoint (``runs/<variant>-<preset>/model.pt``; for ``reactdiff`` on the default synthetic
dataset with the small preset, the shipped one), train it with :func:`models.reactdiff.job.
train_job` if it is missing (or ``retrain``), then evaluate every variant through the same
harness as ``reactbench run`` (reactbench.evaluate.run: one result JSON per variant) and write
the ablation table (``ablation.md``) next to the result files.
"""

from __future__ import annotations

from pathlib import Path

from reactbench.errors import ModelError

from . import checkpoint as ck
from .config import VARIANTS
from .job import default_out, train_job

ABLATION_VARIANTS = ("reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion",
                     "reactdiff-no-video", "reactdiff-no-audio", "reactdiff-lrs")


def variant_checkpoint(variant: str, preset: str, data, runs: str | Path = "runs") -> Path:
    """Where ``variant``'s model file is (or will be written)."""
    path = Path(runs) / default_out(variant, preset).name / "model.pt"
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
                         f"{preset!r}: retrain it (--retrain) or pass --preset {trained}")


def ablate(*, variants=ABLATION_VARIANTS, preset: str = "small", data=None, device: str = "cpu",
           runs: str | Path = "runs", out: str | Path, split: str = "test", alpha: int = 10,
           seeds=(0,), task: str = "offline", retrain: bool = False, train_device=None,
           epochs: int | None = None, progress: bool = True, log=print) -> tuple[list, Path]:
    """Train what is missing, evaluate every variant, write ``out/ablation.md`` (rebuilt from
    every result file in ``out``). Returns (this call's result records, table path)."""
    from reactbench import registry
    from reactbench.atomic import nearest_existing
    from reactbench.data.layout import check_split_name
    from reactbench.evaluate import RunOptions, run
    from reactbench.results import check_results_dir, read_results
    from reactbench.tables import render, write_table

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ModelError(f"unknown ReactDiff variant(s) {unknown}; choose from {list(VARIANTS)}")
    # every flag is checked before any (possibly long) training starts
    opt = RunOptions(split=split, data=data, task=task, alpha=alpha, seeds=tuple(seeds),
                     device=device, progress=progress)
    opt.validate()
    check_split_name(split)
    check_results_dir(out)
    blocker = nearest_existing(runs)
    if blocker is not None and not blocker.is_dir():
        raise ModelError(f"--runs {runs}: {blocker} is a file; --runs names the folder of the "
                         "variants' training outputs (runs/<variant>-<preset>/)")
    paths = {}
    for v in variants:
        path = variant_checkpoint(v, preset, data, runs)
        if retrain or not path.exists():
            if path == ck.SHIPPED:
                path = Path(runs) / default_out(v, preset).name / "model.pt"
            log(f"[ablate] training {v} ({preset}) into {path.parent}")
            train_job(v, preset=preset, device=train_device or device, data=data,
                      out=path.parent, resume=path.parent.joinpath("checkpoint.pt").exists(),
                      epochs=epochs, progress=progress, log=log)
        paths[v] = path
    opt.model_args = {v: {"checkpoint": str(p)} for v, p in paths.items()}
    # each model reads its checkpoint's metadata once; the preset check uses that, and run()
    # evaluates these same models (their fit() loads the weights)
    models = {v: registry.create_model(v, **opt.model_args[v]) for v in variants}
    for v, model in models.items():  # one table compares variants of ONE preset
        check_preset(v, paths[v], model.metadata, preset)
    written = run(list(variants), opt, out, models=models, log=log)
    records = [r for r, _ in written]
    table = Path(out) / "ablation.md"
    every = read_results([out])  # the table covers every result in ``out``, earlier ones too
    if table.exists():
        log(f"[ablate] {table} is rebuilt from all {len(every)} result files in {out}")
    write_table(render(every, fmt="md", table="ablation"), table, force=True)
    return records, table
