"""Result files: one JSON per run; the schema is declared here, in one place.

A result record (``SCHEMA_VERSION``) is a JSON object with these keys:

- ``schema``: ``"reactbench.result/1"``; ``created``: ISO-8601 UTC time; ``kind``: ``"run"``
  (``reactbench run``) or ``"score"`` (``reactbench score`` of saved predictions).
- ``task``: ``"offline"`` | ``"online"``; ``window``: online window length (null offline);
  ``split``; ``alpha``; ``seeds``: list of generation seeds (values are means over them; empty
  for scored prediction files);
  ``protocol``: ``"official"`` | ``"corrected"``; ``bootstrap``: resamples (0 = no CI);
  ``realism_features``: ``"emotion"`` or ``"emotion+3dmm"`` (what FRRea-feat saw).
- ``metrics``: name -> {``value``, ``ci`` ([low, high] or null), ``direction``
  (``"higher"``/``"lower"``), ``version``, ``std`` (over seeds, null for one seed)}.
- ``extra``: further named floats from the metrics (e.g. ``"FRCorr/gen"``);
  ``per_seed``: list of {``seed``, ``metrics``: name -> value} (only with several seeds).
- ``model``: {``spec`` (what --model named), ``name``, ``version``, ``params``, ``citation``,
  ``reference`` (true for the ground-truth row), ``class``}.
- ``dataset``: the data layer's ``dataset_identity`` (root, split, generator version, content
  hash, ...) plus ``n`` (rows) and ``frames``.
- ``predictions``: list (one per seed) of {``seed``, ``path`` (cache file, or the scored file),
  ``key`` (cache key), ``reused`` (true when the cached predictions were reused)}.
- ``causality``: online only: {``passed``, ``windows_checked``, ``rows_checked``, ``detail``}.
- ``software``: {``reactbench``, ``git_commit``, ``git_dirty``, ``python``, libraries...};
  ``machine``: {``platform``, ``processor``, ``cpu_count``, ``device``, ``gpu``}.
- ``timings``: stage -> seconds (``load``, ``fit``, ``generate``, ``causality``, ``score``) and
  ``metrics``: metric -> seconds.

Writes are atomic (temporary file, then a hard link/rename into place) and never overwrite.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from reactbench import __version__
from reactbench.errors import ResultsError

SCHEMA_VERSION = "reactbench.result/1"
TASKS = ("offline", "online")
KINDS = ("run", "score")
REQUIRED_KEYS = (
    "schema", "created", "kind", "task", "window", "split", "alpha", "seeds", "protocol",
    "bootstrap", "realism_features", "metrics", "extra", "model", "dataset", "predictions",
    "software", "machine", "timings",
)
METRIC_KEYS = ("value", "ci", "direction", "version", "std")
MODEL_KEYS = ("spec", "name", "version", "params", "citation", "reference")
LIBRARIES = (
    "numpy", "scipy", "torch", "numba", "tslearn", "pandas", "joblib", "tabulate", "librosa",
    "matplotlib",
)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the source tree reactbench runs from, or (None, None)."""
    src = Path(__file__).resolve().parent.parent
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
    from importlib import metadata

    commit, dirty = git_state()
    out: dict[str, Any] = {
        "reactbench": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
    }
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def machine(device: str = "cpu") -> dict[str, Any]:
    gpu = None
    if device.startswith("cuda"):
        try:
            import torch

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


def metric_entry(value: float, *, direction: str, version: str | None, ci=None, std=None) -> dict:
    return {
        "value": float(value),
        "ci": None if ci is None else [float(ci[0]), float(ci[1])],
        "direction": direction,
        "version": version,
        "std": None if std is None else float(std),
    }


def validate_record(record: Any, source: str = "result") -> dict:
    """Raise ResultsError unless ``record`` follows SCHEMA_VERSION; return it."""
    if not isinstance(record, dict):
        kind = type(record).__name__
        raise ResultsError(f"{source}: a result file holds a JSON object; got {kind}")
    schema = record.get("schema")
    if schema != SCHEMA_VERSION:
        raise ResultsError(
            f"{source}: unsupported result schema {schema!r}; "
            f"this reactbench reads {SCHEMA_VERSION!r}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ResultsError(f"{source}: result file lacks key(s) {missing}")
    if record["task"] not in TASKS:
        raise ResultsError(f"{source}: task {record['task']!r} is not one of {TASKS}")
    if record["kind"] not in KINDS:
        raise ResultsError(f"{source}: kind {record['kind']!r} is not one of {KINDS}")
    alpha = record["alpha"]
    if not isinstance(alpha, int) or isinstance(alpha, bool) or alpha < 1:
        raise ResultsError(f"{source}: alpha must be a positive integer, not {alpha!r}")
    seeds = record["seeds"]
    if not isinstance(seeds, list) or not all(isinstance(x, int) for x in seeds):
        raise ResultsError(f"{source}: seeds must be a list of integers, not {seeds!r}")
    for key in ("split", "protocol"):
        if not isinstance(record[key], str) or not record[key]:
            raise ResultsError(f"{source}: {key} must be a non-empty string")
    if not isinstance(record["dataset"], dict):
        raise ResultsError(f"{source}: 'dataset' must be an object (the dataset identity)")
    if not isinstance(record["metrics"], dict) or not record["metrics"]:
        raise ResultsError(f"{source}: 'metrics' must map metric names to entries")
    for name, entry in record["metrics"].items():
        if not isinstance(entry, dict) or any(k not in entry for k in METRIC_KEYS):
            raise ResultsError(f"{source}: metric {name!r} needs keys {METRIC_KEYS}")
        if entry["direction"] not in ("higher", "lower"):
            raise ResultsError(f"{source}: metric {name!r} has direction {entry['direction']!r}")
    model = record["model"]
    if not isinstance(model, dict) or any(k not in model for k in MODEL_KEYS):
        raise ResultsError(f"{source}: 'model' needs keys {MODEL_KEYS}")
    return record


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "model"


def result_filename(record: dict) -> str:
    """``<model>_<task>_<split>_<protocol>_a<alpha>_s<seeds>.json`` (file-system safe)."""
    seeds = "-".join(str(s) for s in record["seeds"])
    return (
        f"{_safe(record['model']['name'])}_{record['task']}_{record['split']}_"
        f"{record['protocol']}_a{record['alpha']}" + (f"_s{seeds}" if seeds else "") + ".json"
    )


def write_result(record: dict, path: str | Path) -> Path:
    """Write ``record`` to ``path`` atomically; refuse (ResultsError) if ``path`` exists."""
    validate_record(record, str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise ResultsError(
            f"{path} already holds a result; never overwritten (remove it or use another --out)"
        )
    text = json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic and fails if the target exists
        except FileExistsError as exc:
            raise ResultsError(f"{path} already holds a result; never overwritten") from exc
        except OSError:  # file systems without hard links
            if path.exists():
                raise ResultsError(f"{path} already holds a result; never overwritten") from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_result(path: str | Path) -> dict:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"result file {path} does not exist") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: not a readable JSON result file ({exc})") from exc
    record = validate_record(record, str(path))
    record["_path"] = str(path)
    return record


def result_files(paths: list[str | Path]) -> list[Path]:
    """Files given directly, plus every ``*.json`` in directories given (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise ResultsError(f"{p}: directory holds no result (*.json) files")
            out += found
        else:
            out.append(p)
    return out


def read_results(paths: list[str | Path]) -> list[dict]:
    return [read_result(p) for p in result_files(paths)]
