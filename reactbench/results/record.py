"""Record assembly: one result record (schema: :mod:`reactbench.results.schema`) from the
values of a run or of scored predictions, plus the software and machine they came from."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from reactbench import __version__
from reactbench.protocols import Protocol
from reactbench.results.digest import record_digest
from reactbench.results.schema import SCHEMA_VERSION, json_default

LIBRARIES = (
    "numpy", "scipy", "torch", "numba", "pandas", "joblib", "tabulate", "soundfile", "soxr",
    "matplotlib",
)


def now_iso() -> str:
    """The current UTC time as ISO-8601 text, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the source tree reactbench runs from, or (None, None)."""
    src = Path(__file__).resolve().parents[2]
    if not (src / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
            timeout=5, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        return commit or None, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def software() -> dict[str, Any]:
    """Versions of reactbench (with its git state), Python and the libraries results depend on."""
    commit, dirty = git_state()
    out: dict[str, Any] = {
        "reactbench": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
    }
    out.update(library_versions())
    return out


@lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str | None], ...]:
    """(library, installed version or None) for each of :data:`LIBRARIES`, read once per
    process: the libraries a process has loaded do not change under it, and reading the
    installed metadata takes tens of milliseconds."""
    out = []
    for lib in LIBRARIES:
        try:
            out.append((lib, metadata.version(lib)))
        except metadata.PackageNotFoundError:
            out.append((lib, None))
    return tuple(out)


def machine(device: str = "cpu") -> dict[str, Any]:
    """Platform, processor, CPU count, the device asked for and its GPU name (None on CPU)."""
    gpu = None
    if device.startswith("cuda"):
        try:
            import torch  # only for a CUDA run, which has torch loaded already

            if torch.cuda.is_available():
                gpu = torch.cuda.get_device_name(0)
        except Exception:
            gpu = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "gpu": gpu,
    }


def json_value(obj: Any) -> Any:
    """``json_default`` (numpy values, paths), and text for anything else (the ``default`` hook
    of ``json.dumps`` where any value must become JSON, e.g. model params in a record)."""
    try:
        return json_default(obj)
    except TypeError:
        return str(obj)


def make_record(*, kind: str, task: str, window: int | None, split: str, alpha: int,
                seeds: list[int], protocol: Protocol, bootstrap: int,
                bootstrap_seed: int | None, realism_features: str | None, metrics: dict,
                extra: dict, per_seed: list | None, model: dict, dataset: dict,
                predictions: list, causality: dict | None, device: str,
                timings: dict, command: list[str] | None = None,
                targets: dict | None = None) -> dict:
    """A result record from plain values (field meanings: :mod:`reactbench.results.schema`).

    ``window``: the online window (recorded for ``task="online"`` only); ``protocol``: the
    protocol scored under (its name and version are recorded); ``metrics``: name -> entry
    (``metric_entry``); ``per_seed``: per-seed values (several seeds) or None; ``device``: what
    the run ran on (the machine entry); ``timings``: stage -> seconds, with ``metrics``:
    metric -> seconds; ``command``: the command line that asked for it (None from the
    library); ``targets``: the per-sample target lists of a ``"targets"`` protocol (rule,
    seed, k, gt_align, ids_sha256, file, ...; recorded only when given). Values become plain
    JSON (numpy values and paths as their plain values,
    anything else as text); the record ends with the ``digest`` of its scored content
    (:mod:`reactbench.results.digest`)."""
    record = {
        "schema": SCHEMA_VERSION,
        "created": now_iso(),
        "kind": kind,
        "command": None if command is None else [str(a) for a in command],
        "task": task,
        "window": window if task == "online" else None,
        "split": split,
        "alpha": alpha,
        "seeds": list(seeds),
        "protocol": protocol.name,
        "protocol_version": protocol.version,
        "bootstrap": bootstrap,
        "bootstrap_seed": bootstrap_seed,
        # what FRRea-feat saw; None when FRRea was not computed
        "realism_features": realism_features,
        "metrics": metrics,
        "extra": extra,
        "per_seed": per_seed,
        "model": model,
        "dataset": dataset,
        "predictions": predictions,
        "causality": causality,
        "software": software(),
        "machine": machine(device),
        "timings": timings,
    }
    if targets is not None:
        record["targets"] = targets
    record = json.loads(json.dumps(record, default=json_value))
    record["digest"] = record_digest(record)
    return record
