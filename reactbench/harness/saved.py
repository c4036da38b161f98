"""Scoring saved predictions (no model code): validate them against the split before any
metric runs, score them, and write a result file of kind "score".

REACT2024 protocols: :func:`score_predictions` (one (N, alpha, T, 25) array). REACT2025/2026
protocols: :func:`score_clip_predictions` (variable-length clips) against the split's targets,
drawn by the protocol's rule or read back from an earlier run's targets file
(:func:`read_targets_file`: its hash, split, clip list, attributes and alignment checked).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from reactbench.clip_predictions import check_ragged_predictions, load_ragged
from reactbench.data import dataset_identity, load_split, resolve_data
from reactbench.data.mars import ClipSplit, load_clips
from reactbench.data.resolve import resolve_mars_data
from reactbench.data.targets import RULE, Targets, attributes_sha256, build_targets, ids_sha256
from reactbench.errors import ParamNames, ReactbenchError, ResultsError, param
from reactbench.harness.cache import content_digest, ragged_digest
from reactbench.harness.clip_runner import (
    TARGETS_SCHEMA,
    dataset_entry,
    load_targets,
    score_clips,
    targets_document,
)
from reactbench.harness.entries import saved_entries
from reactbench.harness.options import (
    check_common,
    check_gt_align,
    check_protocol,
    check_score_options,
    check_window_fits,
)
from reactbench.harness.scoring import aggregate, preflight, score
from reactbench.predictions import check_predictions, check_predictions_size, load_predictions
from reactbench.protocols import OFFICIAL, Protocol
from reactbench.results import (
    TARGETS_SUFFIX,
    check_results_dir,
    make_record,
    read_result,
    targets_path,
    write_result,
    write_targets,
)


def score_predictions(source, *, split: str = "test", data=None, frames: int = 750,
                      protocol: str | Protocol = OFFICIAL.name, bootstrap: int = 0,
                      metrics=None, device: str = "cpu", n_jobs: int = -1,
                      task: str = "offline", name: str | None = None, seed: int = 0,
                      out: str | Path = "runs", realism_3dmm: bool = False,
                      check_range: bool = True, progress: bool = False,
                      window: int | None = None, names: ParamNames | None = None,
                      command: list[str] | None = None) -> tuple[dict, Path]:
    """Validate saved predictions against the split (before any metric), score them and
    write a result file (kind "score") into ``out``; returns (record, path).

    ``source``: a predictions file or folder (:mod:`reactbench.predictions`), emotion
    (N, alpha, T, 25) in the split's row order. ``window``: online only, and required there:
    the window length (frames) the predictions were generated with, as declared (recorded;
    tables refuse to mix windows). ``seed``: the bootstrap's seed (recorded as
    ``bootstrap_seed``). ``names``: how notes name parameters; ``command``: the command line
    recorded (None from the library)."""
    check_common(frames=frames, bootstrap=bootstrap, device=device, metrics=metrics,
                 n_jobs=n_jobs)
    proto = check_protocol(protocol)
    check_score_options(task=task, window=window, seed=seed, name=name)
    out = check_results_dir(out)
    source = Path(source)
    check_predictions_size(source)  # from the file headers, before the split is loaded
    root = Path(resolve_data(data))
    t0 = time.perf_counter()
    split_data = load_split(root, split, frames=frames, audio=False, neighbours=True,
                            progress=progress)
    load_s = time.perf_counter() - t0
    if task == "online":
        check_window_fits(window, split_data.frames, split, "give the window the predictions "
                          f"were made with, or {param('task', 'offline')}")
    preds = load_predictions(source, speaker_ids=split_data.speaker_ids)
    check_predictions(preds, n=split_data.n, frames=split_data.frames,
                      speaker_ids=split_data.speaker_ids, check_range=check_range,
                      source=str(source))
    preds.emotion = np.asarray(preds.emotion, dtype=np.float32)
    preflight(split_data, metrics=metrics, alpha=preds.alpha, protocol=proto,
              alpha_source="predictions with alpha (the second axis)")
    name, target, model = saved_entries(source, name, task=task, split=split, protocol=proto,
                                        alpha=preds.alpha, out=out)
    if target.exists():
        raise ResultsError(f"{target} already holds a result{_holder(target, name)}; nothing "
                           f"was scored or overwritten (remove it or choose another "
                           f"{param('out')})")
    t0 = time.perf_counter()
    scores = score(preds, split_data, protocol=proto, bootstrap=bootstrap, seed=seed,
                   n_jobs=n_jobs, device=device, realism_3dmm=realism_3dmm, metrics=metrics,
                   progress=progress, names=names)
    score_s = time.perf_counter() - t0
    entries, extra, seeds, metric_timings = aggregate([(seed, scores)])
    record = make_record(
        kind="score", task=task, window=window, split=split, alpha=preds.alpha, seeds=[],
        protocol=proto, bootstrap=bootstrap, bootstrap_seed=seed,
        realism_features=getattr(scores, "realism_features", None), metrics=entries,
        extra=extra, per_seed=seeds, model=model,
        dataset={**dataset_identity(root, split), "n": split_data.n, "frames": split_data.frames},
        predictions=[{"seed": None, "path": str(source.resolve()), "key": None, "reused": True,
                      "content_sha256": content_digest(preds)}],
        causality=None, device=device,
        timings={"load": load_s, "score": score_s, "metrics": metric_timings}, command=command,
    )
    return record, write_result(record, target)


def _holder(path: Path, name: str) -> str:
    """`` (of model 'x')`` when ``path`` holds another model name than ``name``."""
    try:
        other = read_result(path)["model"]["name"]
    except ReactbenchError:
        return ""
    if other == name:
        return ""
    return (f" of model {other!r}, whose name maps to the same file name as {name!r} "
            "(file names keep only letters, digits and ._-)")


# ----------------------------------------------------------------------------- REACT2025/2026
def score_clip_predictions(source, *, split: str = "test", data=None,
                           protocol: str | Protocol = "react2025", bootstrap: int = 0,
                           metrics=None, device: str = "cpu", n_jobs: int = -1,
                           task: str = "offline", name: str | None = None, seed: int = 0,
                           out: str | Path = "runs", check_range: bool = True,
                           progress: bool = False, window: int | None = None,
                           gt_align: str = "linear", gt_align_checkpoint=None,
                           targets: str | Path | None = None,
                           command: list[str] | None = None) -> tuple[dict, Path]:
    """Validate saved variable-length predictions (:func:`reactbench.predictions.save_ragged`
    ``.npz``, or a folder of ``<clip id>.npy``) against the MARS split before any metric, round
    the AUs as the protocol does, score them against the split's targets and write a result
    file (kind "score") plus its ``.targets.json`` into ``out``; returns (record, path).

    ``targets``: an earlier run's ``<result>.targets.json``, or its result file (the targets
    file named there is read): its target ids are used instead of drawing them, after
    :func:`read_targets_file` has checked them against this split and alignment."""
    proto = check_protocol(protocol)
    check_common(frames=1, bootstrap=bootstrap, device=device, metrics=metrics, n_jobs=n_jobs)
    check_gt_align(gt_align, gt_align_checkpoint)
    check_score_options(task=task, seed=seed, name=name,
                        window=(window or proto.window) if task == "online" else window)
    out = check_results_dir(out)
    source = Path(source)
    if task == "online" and window not in (None, proto.window):
        raise ReactbenchError(f"{param('window', window)}: protocol {proto.name!r} generates "
                              f"online in windows of {proto.window} frames")
    given = None if targets is None else _read_json_file(Path(targets))  # fail early
    root = Path(resolve_mars_data(data, progress=progress))
    t0 = time.perf_counter()
    split_data = load_clips(root, split, bidirectional=proto.bidirectional, audio=False,
                            audio_features=False, coefficients=False, progress=progress)
    if given is None:
        tg = load_targets(split_data, proto, gt_align=gt_align,
                          checkpoint=gt_align_checkpoint, device=device)
    else:
        tg = read_targets_file(Path(targets), split_data, proto, gt_align=gt_align,
                               checkpoint=gt_align_checkpoint, device=device)
    load_s = time.perf_counter() - t0
    emo, face, _meta = load_ragged(source)
    preds = check_ragged_predictions(emo, split_data.sample_ids, split_data.lengths,
                                     check_range=check_range, source=str(source), face=face)
    wanted = list(metrics or proto.metrics)
    if "FRDiv" in wanted and preds.alpha < 2:
        raise ReactbenchError("FRDiv compares reactions of one speaker: it needs predictions "
                              f"with alpha (the first axis) >= 2 (got {preds.alpha}); or pass "
                              f"{param('metrics')} without FRDiv")
    name, target, model = saved_entries(source, name, task=task, split=split, protocol=proto,
                                        alpha=preds.alpha, out=out)
    if target.exists():
        raise ResultsError(f"{target} already holds a result; nothing was scored or "
                           f"overwritten (remove it or choose another {param('out')})")
    t0 = time.perf_counter()
    scores = score_clips(preds.emotion, split_data, tg, protocol=proto, metrics=metrics,
                         bootstrap=bootstrap, seed=seed, n_jobs=n_jobs, device=device,
                         progress=progress, name=name)
    score_s = time.perf_counter() - t0
    entries, extra, seeds, metric_timings = aggregate([(seed, scores)])
    tfile = targets_path(target)
    record = make_record(
        kind="score", task=task, window=proto.window if task == "online" else None,
        split=split, alpha=preds.alpha, seeds=[], protocol=proto, bootstrap=bootstrap,
        bootstrap_seed=seed, realism_features=None, metrics=entries, extra=extra,
        per_seed=seeds, model=model, dataset=dataset_entry(split_data, split_data.identity),
        predictions=[{"seed": None, "path": str(source.resolve()), "key": None,
                      "reused": True, "content_sha256": ragged_digest(preds)}],
        causality=None, device=device,
        timings={"load": load_s, "score": score_s, "metrics": metric_timings},
        command=command, targets={**tg.metadata, "file": tfile.name})
    path = write_result(record, target)
    write_targets(targets_document(tg, split_data, proto), tfile)
    return record, path


def _bad(path: Path, what: str) -> ResultsError:
    return ResultsError(f"{param('targets', path)}: {what}")


def _read_json_file(path: Path) -> dict:
    """The JSON object in ``path`` (a targets file or a result file)."""
    if not path.is_file():
        found = "is a folder" if path.is_dir() else "file not found"
        raise _bad(path, f"{found}; expected the {TARGETS_SUFFIX} file an earlier run wrote "
                         "beside its result, or that result file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _bad(path, f"not a readable JSON file ({exc})") from exc
    if not isinstance(doc, dict):
        raise _bad(path, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def _targets_doc(path: Path) -> tuple[Path, dict]:
    """(targets file, its document) from a targets file or a result file naming one; a
    result's recorded ids hash must be the targets file's."""
    doc = _read_json_file(path)
    if doc.get("schema") == TARGETS_SCHEMA:
        return path, doc
    if not isinstance(doc.get("targets"), dict):
        raise _bad(path, f"neither a targets file (schema {TARGETS_SCHEMA!r}) nor a result "
                         f"file with a targets field (got schema {doc.get('schema')!r})")
    rec = read_result(path)
    t = rec.get("targets") or {}
    if not t.get("file"):
        raise _bad(path, "the result names no targets file (field targets.file is null); pass "
                         f"the {TARGETS_SUFFIX} file itself")
    tpath = path.parent / t["file"]
    tdoc = _read_json_file(tpath)
    if tdoc.get("ids_sha256") != t["ids_sha256"]:
        raise ResultsError(f"{tpath}: holds target ids with sha256 {tdoc.get('ids_sha256')!r}, "
                           f"but the result {path} records {t['ids_sha256']!r} (the file was "
                           "replaced or edited); nothing was scored")
    return tpath, tdoc


def _document_ids(path: Path, doc: dict) -> tuple[list[str], list[list[str]]]:
    """(sample ids, target ids per sample) of a targets document, its fields and hash checked."""
    samples = doc.get("samples")
    if doc.get("schema") != TARGETS_SCHEMA or not isinstance(samples, list) or not samples:
        raise _bad(path, f"expected schema {TARGETS_SCHEMA!r} with a non-empty samples list")
    for key, typ in (("rule", str), ("seed", int), ("k", int), ("gt_align", str),
                     ("split", str), ("ids_sha256", str)):
        if type(doc.get(key)) is not typ:
            raise _bad(path, f"field {key} must be {typ.__name__}; got {doc.get(key)!r}")
    if doc["rule"] != RULE:
        raise _bad(path, f"rule {doc['rule']!r} is unknown; expected {RULE!r}")
    names, ids = [], []
    for i, s in enumerate(samples):
        row = s.get("targets") if isinstance(s, dict) else None
        if (not isinstance(s.get("sample") if isinstance(s, dict) else None, str)
                or not isinstance(row, list) or len(row) != doc["k"]
                or not all(isinstance(c, str) for c in row)):
            raise _bad(path, f"samples[{i}]: expected {{'sample': id, 'targets': [{doc['k']} "
                             f"ids]}} (k = {doc['k']}); got {s!r}"[:300])
        names.append(s["sample"])
        ids.append(list(row))
    if ids_sha256(ids) != doc["ids_sha256"]:
        raise _bad(path, f"its target ids hash to {ids_sha256(ids)}, not the "
                         f"{doc['ids_sha256']} it records (the file was edited); nothing was "
                         "scored")
    return names, ids


def _same_clips(path: Path, doc: dict, names: list[str], data: ClipSplit,
                protocol: Protocol) -> None:
    """The targets file was written for this split and these samples, in this order."""
    if doc["split"] != data.split:
        raise _bad(path, f"written for split {doc['split']!r}, not {data.split!r}; pass "
                         f"{param('split', doc['split'])} or the targets of split "
                         f"{data.split!r}")
    if names == list(data.sample_ids):
        return
    written = (f" (written under protocol {doc.get('protocol')!r}, scored under "
               f"{protocol.name!r}: the protocols take different input roles)"
               if doc.get("protocol") != protocol.name else "")
    first = next((i for i, (a, b) in enumerate(zip(names, data.sample_ids)) if a != b),
                 min(len(names), data.n))
    mine = names[first] if first < len(names) else "nothing"
    theirs = data.sample_ids[first] if first < data.n else "nothing"
    raise _bad(path, f"lists {len(names)} samples, split {data.split!r} of {data.root} has "
                     f"{data.n}{written}; first difference at sample {first}: {mine} in the "
                     f"file, {theirs} in the dataset (targets of another dataset or clip list)")


def _same_attributes(path: Path, doc: dict, names: list[str], ids: list[list[str]],
                     data: ClipSplit) -> None:
    """Every clip the file names exists with the attributes it was written from."""
    named = names + [c for row in ids for c in row]
    missing = sorted({c for c in named if c not in data.attributes})
    if missing:
        raise _bad(path, f"names clip {missing[0]} ({len(missing)} missing in all), which "
                         f"split {data.split!r} of {data.root} does not hold (targets of "
                         "another dataset)")
    want = doc.get("attributes_sha256")
    if not isinstance(want, str):
        raise _bad(path, "records no attributes_sha256 (the hash of the facial attributes it "
                         "was drawn from), so it cannot be checked against this dataset; "
                         "score once without it to write a complete targets file")
    got = attributes_sha256(data.attributes, named)
    if got != want:
        raise _bad(path, f"its clips' facial attributes in {data.root} hash to {got[:12]}..., "
                         f"not the {want[:12]}... it was written from (another dataset or "
                         "changed attribute files); nothing was scored")


def _same_alignment(path: Path, doc: dict, gt_align: str, checkpoint) -> dict:
    """The build_targets arguments that reproduce the file's alignment."""
    if doc["gt_align"] != gt_align:
        extra = (f" {param('gt_align_checkpoint')} with the checkpoint of sha256 "
                 f"{doc.get('checkpoint_sha256')}" if doc["gt_align"] == "emotionvae" else "")
        raise _bad(path, f"targets aligned with {doc['gt_align']!r}, not {gt_align!r}; pass "
                         f"{param('gt_align', doc['gt_align'])}{extra}")
    if gt_align != "emotionvae":
        return {}
    cpath = Path(checkpoint).expanduser()
    if cpath.is_file():
        digest = hashlib.sha256(cpath.read_bytes()).hexdigest()
        if digest != doc.get("checkpoint_sha256"):
            raise _bad(path, f"targets aligned with the EmotionVAE checkpoint of sha256 "
                             f"{doc.get('checkpoint_sha256')}, but {cpath} has sha256 "
                             f"{digest}; pass {param('gt_align_checkpoint')} with the same "
                             "checkpoint")
    opts = {}
    for key in ("torch_seed", "post_clip_length"):
        if type(doc.get(key)) is not int:
            raise _bad(path, f"field {key} must be an integer under gt_align 'emotionvae'; "
                             f"got {doc.get(key)!r}")
        opts[key] = doc[key]
    return opts


def read_targets_file(path: str | Path, data: ClipSplit, protocol: Protocol, *,
                      gt_align: str = "linear", checkpoint=None, device: str = "cpu"
                      ) -> Targets:
    """The targets of ``data`` with the ids of an earlier run: ``path`` is its
    ``<result>.targets.json`` or its result file. Refused (ResultsError naming the file and
    what differs) when the ids do not hash to the recorded ``ids_sha256``, or the file was
    written for another split, sample list (clips, order, input roles), facial attributes
    (``attributes_sha256``) or alignment (``gt_align``, EmotionVAE checkpoint hash)."""
    tpath, doc = _targets_doc(Path(path))
    names, ids = _document_ids(tpath, doc)
    _same_clips(tpath, doc, names, data, protocol)
    _same_attributes(tpath, doc, names, ids, data)
    opts = _same_alignment(tpath, doc, gt_align, checkpoint)
    return build_targets(data, k=doc["k"], seed=doc["seed"], gt_align=gt_align,
                         checkpoint=checkpoint, device=device if str(device).startswith("cuda")
                         else "cpu", ids=ids, **opts)
