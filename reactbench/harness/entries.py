"""The parts of a result record and the result files a run writes that the REACT2024 runner
and the variable-length runner share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reactbench import registry
from reactbench.errors import ModelError, ResultsError, param
from reactbench.harness.options import RunOptions
from reactbench.models import display_fields, model_info
from reactbench.protocols import Protocol
from reactbench.results import check_distinct_targets, result_filename


def model_entry(spec: str, model: Any, info) -> dict:
    """The ``model`` entry of a result record for ``model`` (created from ``spec``)."""
    return {
        "spec": spec,
        "name": info.name,
        "version": info.version,
        "params": info.params,
        "citation": info.citation,
        "reference": bool(getattr(model, "needs_listener", False)),
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        **display_fields(info),  # table row labels and order (ModelInfo.display, ...)
        # what a trained model was fitted on (ModelInfo.trained_on); absent when unknown
        **({"trained_on": info.trained_on} if info.trained_on is not None else {}),
    }


def result_targets(models: dict[str, Any], opt: RunOptions, out: Path) -> dict[str, Path]:
    """spec -> result file of each model; refuses a plug-in named like a built-in model and
    two models that would write one file."""
    targets, infos = {}, {s: model_info(m) for s, m in models.items()}
    for s, info in infos.items():
        taken = registry.BUILTIN_MODELS.get(info.name)  # tables print them as GT, B_Mime, ...
        if taken and taken not in (s, registry.BUILTIN_MODELS.get(s)):
            raise ModelError(f"model {s!r} calls itself {info.name!r}, the name of the "
                             f"built-in model {taken}; choose another ModelInfo.name")
        stub = {"model": {"name": info.name}, "task": opt.task, "split": opt.split,
                "protocol": opt.scoring_protocol.name, "alpha": opt.alpha,
                "seeds": list(opt.seeds)}
        targets[s] = out / result_filename(stub)
    check_distinct_targets(targets, {s: info.name for s, info in infos.items()})
    return targets


def saved_entries(source: Path, name: str | None, *, task: str, split: str, protocol: Protocol,
                  alpha: int, out: str | Path) -> tuple[str, Path, dict]:
    """For scoring a saved predictions file or folder ``source``: the model name (``name``, or
    the file's stem / the folder's name), the result file in ``out`` and the model entry."""
    name = name or (source.stem if source.is_file() else source.name)
    stub = {"model": {"name": name}, "task": task, "split": split, "protocol": protocol.name,
            "alpha": alpha, "seeds": []}
    model = {"spec": str(source), "name": name, "version": "file", "params": {},
             "citation": "", "reference": False, "class": None}
    return name, Path(out) / result_filename(stub), model


def create_model(spec: str, opt: RunOptions) -> Any:
    """The model ``spec`` for the run ``opt``, from the user's options (``opt.model_args``)
    over the defaults its class declares for the run:
    ``harness_options(protocol=name, device=device) -> dict`` (e.g. its checkpoint for that
    protocol's data, or the device it will run on)."""
    hook = getattr(registry.resolve_model(spec), "harness_options", None)
    defaults = (dict(hook(protocol=opt.scoring_protocol.name, device=opt.device))
                if callable(hook) else {})
    return registry.create_model(spec, **{**defaults, **opt.model_args.get(spec, {})})


def create_models(specs: list[str], opt: RunOptions,
                  given: dict[str, Any] | None) -> dict[str, Any]:
    """spec -> model: those the caller ``given`` already created, the others created here
    (:func:`create_model`)."""
    given = given or {}
    return {s: given[s] if s in given else create_model(s, opt) for s in specs}


def existing_results(targets: dict[str, Path], out: Path, skip_existing: bool) -> list[str]:
    """The specs whose result file in ``targets`` already exists; a ResultsError naming them
    (nothing run or overwritten) unless ``skip_existing``."""
    clash = [s for s, p in targets.items() if p.exists()]
    if clash and not skip_existing:
        raise ResultsError(
            f"results directory {out} already holds these runs: "
            f"{', '.join(str(targets[s]) for s in clash)}; nothing was run or overwritten "
            f"(remove them, choose another {param('out')}, or pass "
            f"{param('skip_existing', True)})")
    return clash
