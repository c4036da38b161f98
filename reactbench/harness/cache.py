"""The predictions cache: generated reactions are stored under ``cache_dir()/predictions``,
keyed by everything they depend on, so re-scoring never re-generates.

The key hashes the model name + version + params, the model's code (class, a digest of its
sources (:func:`code_files`), its constructor options, and the optional ``cache_identity`` of
inputs it reads itself),
dataset identity, split, task (+ window), alpha, frames, seed and whether 3DMM is kept.
``PREDICTIONS_CACHE_VERSION`` is part of every key: bump it to retire all cached predictions.
Entries are written packed (:mod:`reactbench.packed`: exact, binary columns as bits); entries in
the plain form (float32 ``emotion``) are read as well. ``reactbench cache info|clear``
(:mod:`reactbench.cache_inventory`) lists and prunes them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from reactbench.clip_predictions import RaggedPredictions, load_ragged, ragged_problems
from reactbench.constants import EMOTION_DIM
from reactbench.errors import ModelError
from reactbench.harness.generate import call_model
from reactbench.paths import cache_dir
from reactbench.predictions import Predictions, load_saved
from reactbench.results import json_problem, json_value
from reactbench.tracebacks import is_user_file, model_sources

PREDICTIONS_CACHE_VERSION = "1"


def code_files(model) -> list[Path]:
    """The Python files whose code a model's predictions depend on, sorted: the file that
    defines its class; when the class belongs to a package, every ``.py`` file of that package
    (for reactbench's own models, of their subpackage, e.g. ``reactbench.baselines``); for a
    plug-in file outside a package, the modules loaded from its folder or below (what it
    imports beside it), library code excepted (the standard library, installed packages,
    reactbench's core: ``is_user_file``). Empty when the class has no source."""
    sources = model_sources(model)
    if not sources:
        return []
    file = Path(sources[0])
    files = {file}
    for folder in sources[1:]:
        files.update(Path(os.path.realpath(p)) for p in Path(folder).rglob("*.py"))
    if len(sources) == 1:
        folder = str(file.parent).rstrip(os.sep) + os.sep
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if not name or not name.endswith(".py"):
                continue
            path = _resolved(name)
            if path.startswith(folder) and is_user_file(path):
                files.add(Path(path))
    return sorted(files)


@functools.cache
def _resolved(name: str) -> str:
    """A loaded module's file, symbolic links resolved (once per file: a process has thousands
    of modules loaded, and every model evaluation looks at them)."""
    return os.path.realpath(name)


def code_digest(model) -> str | None:
    """sha256 over :func:`code_files` (each file's path relative to their common folder, then
    its bytes; a file that cannot be read counts as missing); None without source files."""
    files = code_files(model)
    if not files:
        return None
    root = Path(os.path.commonpath([p.parent for p in files]))
    h = hashlib.sha256()
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"<missing>"
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def model_code(model, args: dict[str, str], data=None) -> dict:
    """What identifies a model's code beyond its ModelInfo: its class, the digest of its
    sources (:func:`code_digest`; None when it has none) and its constructor options.
    Part of the predictions cache key, so that two plug-ins sharing a name and version, an
    edit to any of a plug-in's sources, or an option the model forgot to put into ``params``
    never share cached reactions. With ``data`` (the evaluated split), a model's optional
    ``cache_identity(data)`` (reactbench.models) is added as ``inputs`` when it is not None:
    inputs the model reads itself, e.g. feature files (absent otherwise)."""
    cls = type(model)
    code = {"class": f"{cls.__module__}.{cls.__qualname__}", "sources_sha256": code_digest(cls),
            "args": dict(sorted(args.items()))}
    hook = getattr(model, "cache_identity", None) if data is not None else None
    if callable(hook):
        name = getattr(getattr(model, "info", None), "name", cls.__name__)
        inputs = call_model(model, name, "cache_identity", None, lambda: hook(data))
        if inputs is not None:
            problem = json_problem(inputs, "cache_identity()")
            if problem:
                raise ModelError(f"model {name!r}: {problem}; cache_identity must return None "
                                 "or JSON values")
            code["inputs"] = json.loads(json.dumps(inputs, default=json_value))
    return code


def predictions_key(info, identity: dict, *, split: str, task: str, window: int | None,
                    alpha: int, seed: int, frames: int, keep_face: bool = True,
                    code: dict | None = None) -> str:
    """The cache key (sha256 hex) of one model's predictions: everything they depend on."""
    return _key(info, identity, code=code, face=keep_face, split=split, task=task,
                window=window, alpha=alpha, seed=seed, frames=frames)


def _key(info, identity: dict, **fields) -> str:
    """sha256 hex of the model (name, version, params), the dataset identity (less its root
    and rows), the cache version and ``fields``, as sorted JSON."""
    payload = {
        "cache": PREDICTIONS_CACHE_VERSION,
        "model": info.name,
        "version": info.version,
        "params": info.params,
        "dataset": {k: v for k, v in identity.items() if k not in ("root", "rows")},
        **fields,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def predictions_path(name: str, key: str) -> Path:
    """Where the predictions of model ``name`` with cache key ``key`` are cached (.npz)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return cache_dir() / "predictions" / f"{safe}-{key[:20]}.npz"


def content_digest(preds: Predictions) -> str:
    """SHA-256 (hex) over the predictions' arrays (emotion, and 3DMM when present): dtype,
    shape and bytes. Stored with cached predictions and checked when they are read back."""
    h = hashlib.sha256()
    for name, arr in (("emotion", preds.emotion), ("face_3dmm", preds.face_3dmm)):
        if arr is not None:
            a = np.ascontiguousarray(arr, dtype=np.float32)
            h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def load_cached(path: Path, n: int, alpha: int, frames: int,
                key: str | None = None) -> tuple[Predictions, dict] | None:
    """(predictions, stored meta) from cache file ``path`` (packed or plain), or None when it
    is missing, unreadable, of another shape than (n, alpha, frames, 25) or not finite, stored
    under another cache ``key`` (a file copied or swapped in), or its arrays do not match their
    stored content digest (regenerate)."""
    if not path.is_file():
        return None
    try:
        preds, meta = load_saved(path)  # packed or plain (.npz written by save_predictions)
    except Exception:
        return None  # unreadable cache entry: regenerate
    emo = preds.emotion
    if (emo.shape != (n, alpha, frames, EMOTION_DIM) or emo.dtype != np.float32
            or not isinstance(meta, dict) or not np.isfinite(emo).all()):
        return None
    if key is not None and meta.get("key") != key:
        return None
    if "content_sha256" in meta and meta["content_sha256"] != content_digest(preds):
        return None
    return preds, meta


# ----------------------------------------------------------------------------- variable length
def clip_predictions_key(info, identity: dict, *, split: str, task: str, generation: dict,
                         alpha: int, seed: int, keep_face: bool = False,
                         code: dict | None = None, targets: str | None = None) -> str:
    """The cache key of one model's predictions on variable-length clips (REACT2025/2026):
    as :func:`predictions_key`, with the segment arithmetic (``generation``: chunk or window
    and speaker context, or whole samples) instead of a frame count, and ``targets`` (the ids
    hash and alignment of the targets) for models that read them."""
    return _key(info, identity, code=code, face=keep_face, layout="mars", split=split,
                task=task, generation=generation, alpha=alpha, seed=seed, targets=targets)


def ragged_digest(preds: RaggedPredictions) -> str:
    """SHA-256 (hex) over ragged predictions: each clip's id, then its arrays' dtype, shape and
    bytes (emotion, and 3DMM when present), in sample order."""
    h = hashlib.sha256()
    faces = preds.face_3dmm or [None] * len(preds.emotion)
    for cid, emo, face in zip(preds.sample_ids or [], preds.emotion, faces):
        h.update(f"clip:{cid};".encode())
        for name, arr in (("emotion", emo), ("face_3dmm", face)):
            if arr is not None:
                a = np.ascontiguousarray(arr, dtype=np.float32)
                h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
                h.update(a.tobytes())
    return h.hexdigest()


def load_cached_clips(path: Path, sample_ids: list[str], lengths, alpha: int,
                      key: str | None = None) -> tuple[RaggedPredictions, dict] | None:
    """(predictions, stored meta) from a ragged cache file, or None when it is missing,
    unreadable, not these clips with these lengths and alpha, not finite, stored under
    another ``key``, or not matching its content digest (regenerate)."""
    if not path.is_file():
        return None
    try:
        emo, face, meta = load_ragged(path)
    except Exception:
        return None
    if ragged_problems(emo, sample_ids, lengths, check_range=False, face=face):
        return None
    preds = RaggedPredictions(emotion=[emo[c] for c in sample_ids],
                              face_3dmm=[face[c] for c in sample_ids] if face else None,
                              sample_ids=list(sample_ids))
    if preds.alpha != alpha:
        return None
    if key is not None and meta.get("key") != key:
        return None
    if "content_sha256" in meta and meta["content_sha256"] != ragged_digest(preds):
        return None
    return preds, meta
