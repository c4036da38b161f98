"""Result files: names, atomic never-overwriting writes, reading.

Writes are atomic (temporary file, then a hard link/rename into place) and never overwrite.
``check_results_dir`` lets a run refuse a bad results directory before any work.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from reactbench.atomic import atomic_path, check_target, nearest_existing
from reactbench.errors import ResultsError, param
from reactbench.results.schema import json_default, json_problem, validate_record

NAME_PART_MAX = 80  # characters of the model name in a result file name (then a hash)
SEEDS_PART_MAX = 40
HASH_CHARS = 10


def check_results_dir(path: str | Path) -> Path:
    """Raise ResultsError unless ``path`` is, or can be created as, a writable directory for
    result files; return it as a Path. Creates nothing: call it before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ResultsError(f"results directory {path} is an existing file; {param('out')} "
                           "names a directory (one result JSON per run is written into it)")
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
            f"{path} already holds a result; never overwritten (remove it or use another "
            f"{param('out')})"
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


TARGETS_SUFFIX = ".targets.json"  # the target ids written beside a result file


def targets_path(result: str | Path) -> Path:
    """``<result>.targets.json``: where the target ids of result file ``result`` go."""
    result = Path(result)
    return result.with_name(result.stem + TARGETS_SUFFIX)


def write_targets(doc: dict, path: str | Path) -> Path:
    """Write the target-ids document ``doc`` to ``path`` (atomically). An existing file with
    the same ``ids_sha256`` is kept (the same targets); one with other ids is refused."""
    path = Path(path)
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            old = None
        if isinstance(old, dict) and old.get("ids_sha256") == doc.get("ids_sha256"):
            return path
        raise ResultsError(f"{path} already holds other target ids; never overwritten (remove "
                           f"it or use another {param('out')})")
    text = json.dumps(doc, indent=1, allow_nan=False, default=json_default) + "\n"
    with atomic_path(path, overwrite=False, what="targets file", error=ResultsError) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def result_files(paths: list[str | Path]) -> list[Path]:
    """Files given directly, plus every ``*.json`` in directories given (sorted; the
    ``*.targets.json`` files beside results left out); a file named twice (e.g. directly and
    through its directory) is read once."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.glob("*.json") if not f.name.endswith(TARGETS_SUFFIX))
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
