"""Result files: one JSON per run; the schema is declared here, in one place.

A result record (``SCHEMA_VERSION``) is a JSON object with these keys:

- ``schema``: ``"reactbench.result/1"``; ``created``: ISO-8601 UTC time; ``kind``: ``"run"``
  (``reactbench run``) or ``"score"`` (``reactbench score`` of saved predictions).
- ``task``: ``"offline"`` | ``"online"``; ``window``: online window length in frames (the
  one generated with, or the one ``score --window`` declares; null offline);
  ``split``; ``alpha``; ``seeds``: list of generation seeds (values are means over them; empty
  for scored prediction files);
  ``protocol``: ``"official"`` | ``"corrected"``; ``bootstrap``: resamples (0 = no CI);
  ``bootstrap_seed`` (optional; absent in older files): the ``--seed`` of the speaker bootstrap
  of ``reactbench score``; null for ``reactbench run``, where each generation seed's bootstrap
  uses that seed;
  ``realism_features``: ``"emotion"`` or ``"emotion+3dmm"`` (what FRRea-feat saw; null when
  FRRea-feat was not computed).
- ``metrics``: name -> {``value`` (a finite number; null: not computed, shown as "-"),
  ``ci`` ([low, high] or null), ``direction`` (``"higher"``/``"lower"``), ``version`` (text or
  null), ``std`` (over seeds, null for one seed)}.
- ``extra``: further named floats from the metrics (e.g. ``"FRCorr/gen"``);
  ``per_seed``: list of {``seed``, ``metrics``: name -> value} (only with several seeds).
- ``model``: {``spec`` (what --model named), ``name`` (non-empty text), ``version``,
  ``params`` (an object of JSON values), ``citation``, ``reference`` (true for the
  ground-truth row), ``class``, and optional ``trained_on`` (``ModelInfo.trained_on``: what
  a trained model was fitted on, e.g. split -> dataset identity; absent when unknown),
  ``display``, ``ablation_label`` and ``table_order`` (table row labels and order, from
  ``ModelInfo``; absent in files written before they were recorded)}.
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
``check_results_dir`` lets a run refuse a bad ``--out`` before any work; ``json_problem`` is the
one check of JSON values (model params are checked with it by ``reactbench.models.model_info``,
whole records by ``write_result``); ``validate_record`` checks every field the tables read.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from reactbench import __version__
from reactbench.atomic import check_target, nearest_existing
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
NAME_PART_MAX = 80  # characters of the model name in a result file name (then a hash)
SEEDS_PART_MAX = 40
HASH_CHARS = 10
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


def _is_number(x: Any) -> bool:
    """A finite JSON number (bools are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer beyond the float range
        return False


def _is_count(x: Any, low: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= low


def _check_metric(name: str, entry: Any, source: str) -> None:
    field = f"metrics.{name}"
    if not isinstance(entry, dict) or any(k not in entry for k in METRIC_KEYS):
        raise ResultsError(f"{source}: metric {name!r} needs keys {METRIC_KEYS}")
    if entry["direction"] not in ("higher", "lower"):
        raise ResultsError(f"{source}: metric {name!r} has direction {entry['direction']!r}")
    value, ci, std, version = entry["value"], entry["ci"], entry["std"], entry["version"]
    if value is not None and not _is_number(value):
        raise ResultsError(f"{source}: field {field}.value must be a finite number (or null: "
                           f"not computed); got {value!r}")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2
                               and all(map(_is_number, ci)) and ci[0] <= ci[1]):
        raise ResultsError(f"{source}: field {field}.ci must be [low, high] (two finite numbers, "
                           f"low <= high) or null; got {ci!r}")
    if std is not None and not (_is_number(std) and std >= 0):
        raise ResultsError(f"{source}: field {field}.std must be a finite number >= 0 or null; "
                           f"got {std!r}")
    if version is not None and not isinstance(version, str):
        raise ResultsError(f"{source}: field {field}.version must be text or null; "
                           f"got {version!r}")


def _check_model(model: Any, source: str) -> None:
    if not isinstance(model, dict) or any(k not in model for k in MODEL_KEYS):
        raise ResultsError(f"{source}: 'model' needs keys {MODEL_KEYS}")
    name = model["name"]
    if not isinstance(name, str) or not name.strip():
        raise ResultsError(f"{source}: field model.name must be a non-empty string; got {name!r}")
    if not isinstance(model["reference"], bool):
        raise ResultsError(f"{source}: field model.reference must be true or false; "
                           f"got {model['reference']!r}")
    if not isinstance(model["params"], dict):
        raise ResultsError(f"{source}: field model.params must be an object; "
                           f"got {model['params']!r}")
    trained_on = model.get("trained_on")
    if trained_on is not None and not isinstance(trained_on, dict):
        raise ResultsError(f"{source}: field model.trained_on must be an object (split -> "
                           f"dataset identity) or absent; got {trained_on!r}")
    for key, ok, what in (  # optional: table row labels and order (ModelInfo.display, ...)
            ("display", lambda v: isinstance(v, str) and v.strip(), "non-empty text"),
            ("ablation_label", lambda v: v is None or isinstance(v, str), "text or null"),
            ("table_order", lambda v: v is None or type(v) is int, "an integer or null")):
        if key in model and not ok(model[key]):
            raise ResultsError(f"{source}: field model.{key} must be {what} or absent; "
                               f"got {model[key]!r}")


def _check_optional_fields(record: dict, source: str) -> None:
    window = record["window"]
    if window is not None and not _is_count(window, 1):
        raise ResultsError(f"{source}: field window must be a positive integer or null; "
                           f"got {window!r}")
    if record["task"] == "online" and window is None:
        raise ResultsError(f"{source}: field window must be the online window length in frames "
                           "(a positive integer) when task is 'online'; got null")
    if not _is_count(record["bootstrap"], 0):
        raise ResultsError(f"{source}: field bootstrap must be an integer >= 0; "
                           f"got {record['bootstrap']!r}")
    seed = record.get("bootstrap_seed")
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise ResultsError(f"{source}: field bootstrap_seed must be an integer or null; "
                           f"got {seed!r}")
    for key in ("extra", "timings"):
        if not isinstance(record[key], dict):
            raise ResultsError(f"{source}: field {key} must be an object; got {record[key]!r}")
    frames = record["dataset"].get("frames")
    if frames is not None and not _is_count(frames, 1):
        raise ResultsError(f"{source}: field dataset.frames must be a positive integer or "
                           f"absent; got {frames!r}")
    generator = record["dataset"].get("generator")
    if generator is not None and not isinstance(generator, dict):
        raise ResultsError(f"{source}: field dataset.generator must be an object or null; "
                           f"got {generator!r}")
    causality = record.get("causality")
    if causality is not None and not isinstance(causality, dict):
        raise ResultsError(f"{source}: field causality must be an object or null; "
                           f"got {causality!r}")
    preds = record["predictions"]
    if not isinstance(preds, list) or not all(isinstance(p, dict) for p in preds):
        raise ResultsError(f"{source}: field predictions must be a list of objects; "
                           f"got {preds!r}")
    for i, p in enumerate(preds):
        if p.get("path") is not None and not isinstance(p["path"], str):
            raise ResultsError(f"{source}: field predictions[{i}].path must be text or null; "
                               f"got {p['path']!r}")


def validate_record(record: Any, source: str = "result") -> dict:
    """Raise ResultsError unless ``record`` follows SCHEMA_VERSION; return it.

    Checks the keys and the type of every field the tables and ``reactbench plot`` read;
    the message names ``source`` (the file) and the field.
    """
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
    if not _is_count(alpha, 1):
        raise ResultsError(f"{source}: alpha must be a positive integer, not {alpha!r}")
    seeds = record["seeds"]
    if not isinstance(seeds, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in seeds):
        raise ResultsError(f"{source}: seeds must be a list of integers, not {seeds!r}")
    if record["kind"] == "run" and (not seeds or len(set(seeds)) != len(seeds)):
        raise ResultsError(f"{source}: seeds of a run must be one or more distinct integers "
                           f"(the generation seeds its values average over); got {seeds!r}")
    for key in ("split", "protocol"):
        if not isinstance(record[key], str) or not record[key]:
            raise ResultsError(f"{source}: {key} must be a non-empty string")
    feats = record["realism_features"]
    if feats is not None and (not isinstance(feats, str) or not feats):
        raise ResultsError(f"{source}: realism_features must be a non-empty string or null "
                           f"(no FRRea-feat); got {feats!r}")
    if feats is None and isinstance(record["metrics"], dict) and "FRRea" in record["metrics"]:
        raise ResultsError(f"{source}: realism_features is null but metrics hold FRRea; "
                           "name the feature space FRRea-feat saw ('emotion' or 'emotion+3dmm')")
    if not isinstance(record["dataset"], dict):
        raise ResultsError(f"{source}: 'dataset' must be an object (the dataset identity)")
    if not isinstance(record["metrics"], dict) or not record["metrics"]:
        raise ResultsError(f"{source}: 'metrics' must map metric names to entries")
    for name, entry in record["metrics"].items():
        _check_metric(name, entry, source)
    _check_model(record["model"], source)
    _check_optional_fields(record, source)
    return record


# ----------------------------------------------------------------------------- JSON values
def json_default(obj: Any) -> Any:
    """numpy scalars/arrays and paths as JSON values (what ModelInfo.params may hold);
    TypeError for anything else (the ``default`` hook of ``json.dumps``)."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} value {obj!r} is not a JSON value")


def json_problem(value: Any, field: str, _seen: frozenset = frozenset()) -> str | None:
    """Why ``value`` cannot be stored in a result file (None: it can), naming the field.

    JSON values are text, finite numbers, bools, null, lists and objects with text keys;
    numpy scalars/arrays and paths are accepted and stored as their plain values.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{field} is {value!r}, not a finite number"
    if isinstance(value, (dict, list, tuple)):
        if id(value) in _seen:
            return f"{field} refers to itself (a circular reference)"
        seen = _seen | {id(value)}
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, str):
                    return f"{field} has key {k!r} ({type(k).__name__}); keys must be text"
                items.append((f"{field}.{k}", v))
        else:
            items = [(f"{field}[{i}]", v) for i, v in enumerate(value)]
        for sub, v in items:
            problem = json_problem(v, sub, seen)
            if problem:
                return problem
        return None
    try:
        plain = json_default(value)
    except TypeError:
        return f"{field} holds {value!r:.60} (type {type(value).__name__}), not a JSON value"
    return json_problem(plain, field, _seen)


# ----------------------------------------------------------------------------- writing
def check_results_dir(path: str | Path) -> Path:
    """Raise ResultsError unless ``path`` is, or can be created as, a writable directory for
    result files; return it as a Path. Creates nothing: call it before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ResultsError(f"results directory {path} is an existing file; --out names a "
                           "directory (one result JSON per run is written into it)")
    probe = nearest_existing(path) or path
    if not probe.is_dir():
        raise ResultsError(f"results directory {path} cannot be created: {probe} is a file, "
                           "not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "is not writable" if probe == path else f"cannot be created in {probe}"
        raise ResultsError(f"results directory {path} {what} (permission denied)")
    return path


def safe_name(text: str) -> str:
    """``text`` as a file-system-safe name part (letters, digits, ``._-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "model"


def _short(part: str, original: str, limit: int) -> str:
    """``part`` cut to ``limit`` characters, ending in a hash of ``original`` when cut
    (deterministic: the same text always gives the same name)."""
    if len(part) <= limit:
        return part
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{part[:limit - HASH_CHARS - 1]}-{digest}"


def name_part(text: str, limit: int = NAME_PART_MAX) -> str:
    """``text`` as a bounded file-name part: ``safe_name(text)``, cut to ``limit`` characters
    and ending in a short hash of ``text`` when cut (so distinct long texts stay distinct)."""
    return _short(safe_name(text), text, limit)


def result_filename(record: dict) -> str:
    """``<model>_<task>_<split>_<protocol>_a<alpha>_s<seeds>.json`` (file-system safe).

    A model name longer than ``NAME_PART_MAX`` characters (or seeds longer than
    ``SEEDS_PART_MAX``) is cut and ends in a short hash of the full text, so the file name
    stays within file-system limits and distinct long names stay distinct.
    """
    name = str(record["model"]["name"])
    seeds = "-".join(str(s) for s in record["seeds"])
    return (
        f"{name_part(name)}_{record['task']}_"
        f"{safe_name(record['split'])}_{record['protocol']}_a{record['alpha']}"
        + (f"_s{_short(seeds, seeds, SEEDS_PART_MAX)}" if seeds else "") + ".json"
    )


def check_distinct_targets(targets: dict[str, Path], names: dict[str, str]) -> None:
    """Raise ResultsError when two models (``targets``: spec -> result file, ``names``:
    spec -> model name) would write the same result file, naming the models."""
    by_path: dict[Path, list[str]] = {}
    for spec, path in targets.items():
        by_path.setdefault(path, []).append(spec)
    clashes = [(p, specs) for p, specs in by_path.items() if len(specs) > 1]
    if clashes:
        text = "; ".join(
            " and ".join(f"{s!r} (model name {names[s]!r})" for s in specs) + f" -> {p.name}"
            for p, specs in clashes)
        raise ResultsError(
            f"two models would write the same result file: {text}. File names keep only "
            "letters, digits and ._- of the model name (other characters become '-'); give "
            "the models distinct names (ModelInfo.name)")


def _check_name_length(path: Path) -> None:
    try:
        limit = os.pathconf(nearest_existing(path.parent) or ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(path.name.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ResultsError(
            f"result file name {path.name[:40]}... is {size} bytes long; the file system "
            f"allows at most {limit} (result_filename shortens long model names; choose a "
            "shorter file name)")


def write_result(record: dict, path: str | Path) -> Path:
    """Write ``record`` to ``path`` atomically; refuse (ResultsError) if ``path`` exists.

    Everything is checked before a file is created: the schema, that every value is JSON
    (no NaN/inf; the message names the field), and that ``path`` can be a file.
    """
    validate_record(record, str(path))
    for key, value in record.items():
        problem = json_problem(value, key)
        if problem:
            raise ResultsError(f"{path}: field {problem}; nothing was written (a result file "
                               "stores JSON values: text, finite numbers, bools, null, lists, "
                               "objects)")
    path = Path(path)
    check_results_dir(path.parent)
    _check_name_length(path)
    check_target(path, what="result file", error=ResultsError)
    if path.exists() or path.is_symlink():
        raise ResultsError(
            f"{path} already holds a result; never overwritten (remove it or use another --out)"
        )
    text = json.dumps(record, indent=2, sort_keys=False, allow_nan=False,
                      default=json_default) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp",
                                   dir=path.parent)
    except OSError as exc:
        raise ResultsError(f"result file {path}: cannot write there ({exc.strerror or exc})") \
            from exc
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
    """The record in result file ``path``, checked by ``validate_record``; it carries the file
    as ``_path`` (not part of the schema; ``tables.select`` does not check such records
    again)."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():  # reading would block
        raise ResultsError(f"{path}: not a regular file (a FIFO, socket or device); expected a "
                           "JSON result file")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"result file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not a readable JSON result file (not UTF-8 text: {exc})") \
            from exc
    except (OSError, json.JSONDecodeError, RecursionError) as exc:
        raise ResultsError(f"{path}: not a readable JSON result file ({exc})") from exc
    record = validate_record(record, str(path))
    record["_path"] = str(path)
    return record


def result_files(paths: list[str | Path]) -> list[Path]:
    """Files given directly, plus every ``*.json`` in directories given (sorted); a file named
    twice (e.g. directly and through its directory) is read once."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise ResultsError(f"{p}: directory holds no result (*.json) files")
            out += found
        else:
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve() if p.exists() else p
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def read_results(paths: list[str | Path]) -> list[dict]:
    return [read_result(p) for p in result_files(paths)]
