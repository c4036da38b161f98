"""The result schema, declared in one place, and the check of every field the tables read.

A result record (``SCHEMA_VERSION``) is a JSON object with these keys:

- ``schema``: ``"reactbench.result/2"`` (files of ``"reactbench.result/1"``, which lack
  ``protocol_version``, are read as protocol version "1"); ``created``: ISO-8601 UTC time;
  ``kind``: ``"run"`` (``reactbench run``) or ``"score"`` (``reactbench score`` of saved
  predictions); ``command`` (optional; absent in older files): the command line that
  produced the record, ``["reactbench", <arguments>...]``, or null when it came from the
  library.
- ``task``: ``"offline"`` | ``"online"``; ``window``: online window length in frames (the
  one generated with, or the one declared for scored predictions; null offline);
  ``split``; ``alpha``; ``seeds``: list of generation seeds (values are means over them; empty
  for scored prediction files);
  ``protocol``: ``"official"`` | ``"corrected"`` (the protocol's name,
  :mod:`reactbench.protocols`); ``protocol_version``: its version (text);
  ``bootstrap``: resamples (0 = no CI);
  ``bootstrap_seed`` (optional; absent in older files): the seed of the speaker bootstrap of
  scored prediction files; null for ``reactbench run``, where each generation seed's bootstrap
  uses that seed;
  ``realism_features``: ``"emotion"`` or ``"emotion+3dmm"`` (what FRRea-feat saw; null when
  FRRea-feat was not computed).
- ``metrics``: name -> {``value`` (a finite number; null: not computed, shown as "-"),
  ``ci`` ([low, high] or null), ``direction`` (``"higher"``/``"lower"``), ``version`` (text or
  null), ``std`` (over seeds, null for one seed)}.
- ``extra``: further named floats from the metrics (e.g. ``"FRCorr/gen"``);
  ``per_seed``: list of {``seed``, ``metrics``: name -> value} (only with several seeds).
- ``model``: {``spec`` (the model spec that was run), ``name`` (non-empty text), ``version``,
  ``params`` (an object of JSON values), ``citation``, ``reference`` (true for the
  ground-truth row), ``class``, and optional ``trained_on`` (``ModelInfo.trained_on``: what
  a trained model was fitted on, e.g. split -> dataset identity; absent when unknown),
  ``display``, ``ablation_label`` and ``table_order`` (table row labels and order, from
  ``ModelInfo``; absent in files written before they were recorded)}.
- ``dataset``: the data layer's ``dataset_identity`` (root, split, generator version, content
  hash, ...) plus ``n`` (rows) and ``frames``.
- ``predictions``: list (one per seed) of {``seed``, ``path`` (cache file, or the scored file),
  ``key`` (cache key), ``reused`` (true when the cached predictions were reused), and
  optional ``content_sha256`` (SHA-256 of the arrays scored:
  :func:`reactbench.harness.cache.content_digest`; absent in older files)}.
- ``causality``: online only: {``passed``, ``windows_checked``, ``rows_checked``, ``detail``}.
- ``targets`` (optional; only under protocols that score against per-sample target lists):
  {``rule`` (``"session-pool"``), ``seed``, ``k``, ``gt_align`` (``"linear"`` or
  ``"emotionvae"``), ``deviation`` (how that alignment departs from the challenge code),
  ``ids_sha256`` (SHA-256 of the chosen target ids), ``file`` (the
  ``<result>.targets.json`` beside the result that lists them, or null), and for
  ``emotionvae`` ``checkpoint_sha256``, ``torch_seed``, ``post_clip_length``}.
- ``software``: {``reactbench``, ``git_commit``, ``git_dirty``, ``python``, libraries...};
  ``machine``: {``platform``, ``processor``, ``cpu_count``, ``device``, ``gpu``}.
- ``timings``: stage -> seconds (``load``, ``fit``, ``generate``, ``causality``, ``score``) and
  ``metrics``: metric -> seconds.
- ``digest`` (optional; absent in older files): {``scheme``, ``sha256``}: a SHA-256 over the
  record's scored content (every field above but ``created``, ``software``, ``machine`` and
  ``timings``; :mod:`reactbench.results.digest`), made when the record is assembled; tables
  mark a record that no longer matches it as edited, and so a record without one that holds
  ``command`` or a ``content_sha256`` (fields written only together with a digest).

``json_problem`` is the one check of JSON values (model params are checked with it by
``reactbench.models.model_info``, whole records by ``write_result``); ``validate_record`` checks
every field the tables read.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

from reactbench.errors import ResultsError
from reactbench.results.digest import DIGEST_SCHEME

SCHEMA_VERSION = "reactbench.result/2"
SCHEMA_V1 = "reactbench.result/1"  # no protocol_version: read as protocol version "1"
READABLE_SCHEMAS = (SCHEMA_V1, SCHEMA_VERSION)
TASKS = ("offline", "online")
KINDS = ("run", "score")
REQUIRED_KEYS = (
    "schema", "created", "kind", "task", "window", "split", "alpha", "seeds", "protocol",
    "bootstrap", "realism_features", "metrics", "extra", "model", "dataset", "predictions",
    "software", "machine", "timings",
)
METRIC_KEYS = ("value", "ci", "direction", "version", "std")
MODEL_KEYS = ("spec", "name", "version", "params", "citation", "reference")


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


def _require(ok: Any, source: str, field: str, what: str, value: Any) -> None:
    """ResultsError ``<source>: field <field> must be <what>; got <value!r>`` unless ``ok``."""
    if not ok:
        raise ResultsError(f"{source}: field {field} must be {what}; got {value!r}")


def _check_model(model: Any, source: str) -> None:
    if not isinstance(model, dict) or any(k not in model for k in MODEL_KEYS):
        raise ResultsError(f"{source}: 'model' needs keys {MODEL_KEYS}")
    name = model["name"]
    _require(isinstance(name, str) and name.strip(), source, "model.name", "a non-empty string",
             name)
    _require(isinstance(model["reference"], bool), source, "model.reference", "true or false",
             model["reference"])
    _require(isinstance(model["params"], dict), source, "model.params", "an object",
             model["params"])
    trained_on = model.get("trained_on")
    _require(trained_on is None or isinstance(trained_on, dict), source, "model.trained_on",
             "an object (split -> dataset identity) or absent", trained_on)
    for key, ok, what in (  # optional: table row labels and order (ModelInfo.display, ...)
            ("display", lambda v: isinstance(v, str) and v.strip(), "non-empty text"),
            ("ablation_label", lambda v: v is None or isinstance(v, str), "text or null"),
            ("table_order", lambda v: v is None or type(v) is int, "an integer or null")):
        if key in model:
            _require(ok(model[key]), source, f"model.{key}", f"{what} or absent", model[key])


def _check_optional_fields(record: dict, source: str) -> None:
    window = record["window"]
    _require(window is None or _is_count(window, 1), source, "window",
             "a positive integer or null", window)
    if record["task"] == "online" and window is None:
        raise ResultsError(f"{source}: field window must be the online window length in frames "
                           "(a positive integer) when task is 'online'; got null")
    _require(_is_count(record["bootstrap"], 0), source, "bootstrap", "an integer >= 0",
             record["bootstrap"])
    seed = record.get("bootstrap_seed")
    _require(seed is None or (isinstance(seed, int) and not isinstance(seed, bool)), source,
             "bootstrap_seed", "an integer or null", seed)
    for key in ("extra", "timings"):
        _require(isinstance(record[key], dict), source, key, "an object", record[key])
    frames = record["dataset"].get("frames")
    _require(frames is None or _is_count(frames, 1), source, "dataset.frames",
             "a positive integer or absent", frames)
    generator = record["dataset"].get("generator")
    _require(generator is None or isinstance(generator, dict), source, "dataset.generator",
             "an object or null", generator)
    causality = record.get("causality")
    _require(causality is None or isinstance(causality, dict), source, "causality",
             "an object or null", causality)
    preds = record["predictions"]
    _require(isinstance(preds, list) and all(isinstance(p, dict) for p in preds), source,
             "predictions", "a list of objects", preds)
    for i, p in enumerate(preds):
        for key in ("path", "content_sha256"):
            _require(p.get(key) is None or isinstance(p[key], str), source,
                     f"predictions[{i}].{key}", "text or null", p.get(key))
    _check_targets(record.get("targets"), source)
    _check_provenance(record, source)


def _check_targets(targets: Any, source: str) -> None:
    """The optional ``targets`` field."""
    if targets is None:
        return
    if not isinstance(targets, dict):
        raise ResultsError(f"{source}: field targets must be an object or absent; "
                           f"got {targets!r}")
    for key, ok, what in (
            ("rule", lambda v: isinstance(v, str) and v, "non-empty text"),
            ("seed", lambda v: type(v) is int, "an integer"),
            ("k", lambda v: _is_count(v, 1), "an integer >= 1"),
            ("gt_align", lambda v: isinstance(v, str) and v, "non-empty text"),
            ("ids_sha256", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v),
             "64 hex digits")):
        if key not in targets or not ok(targets[key]):
            raise ResultsError(f"{source}: field targets.{key} must be {what}; "
                               f"got {targets.get(key)!r}")
    file = targets.get("file")
    if file is not None and not isinstance(file, str):
        raise ResultsError(f"{source}: field targets.file must be text or null; got {file!r}")


def _check_provenance(record: dict, source: str) -> None:
    """The optional ``command`` and ``digest`` fields."""
    command = record.get("command")
    if command is not None and not (isinstance(command, list)
                                    and all(isinstance(a, str) for a in command)):
        raise ResultsError(f"{source}: field command must be a list of text (the command line) "
                           f"or null; got {command!r}")
    if "digest" not in record:
        return
    digest = record["digest"]
    if not (isinstance(digest, dict) and isinstance(digest.get("sha256"), str)
            and re.fullmatch(r"[0-9a-f]{64}", digest["sha256"])):
        raise ResultsError(f"{source}: field digest must be {{'scheme': {DIGEST_SCHEME!r}, "
                           f"'sha256': 64 hex digits}} or absent; got {digest!r}")
    if digest.get("scheme") != DIGEST_SCHEME:
        raise ResultsError(f"{source}: field digest.scheme is {digest.get('scheme')!r}; this "
                           f"reactbench checks {DIGEST_SCHEME!r}")


def validate_record(record: Any, source: str = "result") -> dict:
    """Raise ResultsError unless ``record`` follows SCHEMA_VERSION; return it.

    Checks the keys and the type of every field the tables and ``reactbench plot`` read;
    the message names ``source`` (the file) and the field.
    """
    if not isinstance(record, dict):
        kind = type(record).__name__
        raise ResultsError(f"{source}: a result file holds a JSON object; got {kind}")
    schema = record.get("schema")
    if schema not in READABLE_SCHEMAS:
        raise ResultsError(
            f"{source}: unsupported result schema {schema!r}; "
            f"this reactbench reads {' and '.join(map(repr, READABLE_SCHEMAS))}"
        )
    required = REQUIRED_KEYS + (("protocol_version",) if schema != SCHEMA_V1 else ())
    missing = [k for k in required if k not in record]
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
    for key in ("split", "protocol", "protocol_version"):
        if key in record and (not isinstance(record[key], str) or not record[key]):
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
