"""Runs and scoring under the ``"targets"`` protocols (REACT2025/2026): a MARS-layout split of
variable-length clips, per-sample target lists (session-pool rule), generation in the
protocol's chunks or windows (:mod:`reactbench.harness.clips`), the protocol's AU rounding,
and one result file per model with its target ids written beside it
(``<result>.targets.json``). Saved predictions are scored by
:func:`reactbench.harness.saved.score_clip_predictions`.

Models that define ``generate_samples(data, targets, *, alpha, seed)`` (the REACT2026 naive
baselines) are computed on whole samples, as the challenge's baselines script computes them:
no chunks, no AU rounding, offline only. A model whose ``force_identity_frc`` is true (the
``GT_identical`` reference) has its FRCorr reported as the official script reports it, alpha,
when every prediction equals its target within 1e-6; the real value is kept in ``extra``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reactbench.clip_predictions import (
    RaggedPredictions,
    check_ragged_predictions,
    save_ragged,
)
from reactbench.constants import EMOTION_DIM
from reactbench.data import mars_layout as ml
from reactbench.data.mars import ClipSplit, clip_identity, load_clips
from reactbench.data.resolve import resolve_mars_data
from reactbench.data.targets import Targets, attributes_sha256, build_targets
from reactbench.errors import ModelError, ParamNames, ReactbenchError, param
from reactbench.harness.cache import (
    clip_predictions_key,
    load_cached_clips,
    model_code,
    predictions_path,
    ragged_digest,
)
from reactbench.harness.clip_causality import check_clip_causality
from reactbench.harness.clips import (
    check_task,
    generate_clips,
    generation_plan,
    round_aus,
)
from reactbench.harness.entries import (
    create_model,
    create_models,
    existing_results,
    model_entry,
    result_targets,
)
from reactbench.harness.generate import call_model
from reactbench.harness.options import (
    RunOptions,
    check_metric_names,
)
from reactbench.harness.scoring import aggregate, start_warmup, wait_warmup
from reactbench.harness.seeds import SeedSteps, seed_predictions
from reactbench.memory import available_memory, gib
from reactbench.metrics import warm
from reactbench.metrics.api import MetricScores, compute_metrics
from reactbench.models import model_info
from reactbench.protocols import OFFICIAL, Protocol
from reactbench.results import (
    check_results_dir,
    make_record,
    read_result,
    targets_path,
    write_result,
    write_targets,
)

Log = Callable[[str], Any]
IDENTITY_ATOL = 1e-6  # GT_identical: predictions equal to their targets within this
TARGETS_SCHEMA = "reactbench.targets/1"


@dataclass
class ClipBundle:
    """The evaluated MARS split, its targets, and a lazily loaded training split."""

    root: Path
    test: ClipSplit
    targets: Targets
    identity: dict
    options: RunOptions
    _train: ClipSplit | None = None

    def train_identity(self) -> dict | None:
        """Identity of the training split (part of the cache key of models that fit on it)."""
        if not (self.root / "train" / ml.ATTRIBUTES_DIR).is_dir():
            return None
        ids = [c for pool in ml.session_pools(self.root, "train").values() for c in pool]
        ident = clip_identity(self.root, "train", ids, audio=False)
        ident.pop("root", None)
        return ident

    def train(self) -> ClipSplit:
        """The training split (attributes and 3DMM; loaded on first use)."""
        if self._train is None:
            self._train = load_clips(self.root, "train", bidirectional=False, audio=False,
                                     audio_features=False, progress=self.options.progress)
        return self._train


def dataset_entry(data: ClipSplit, identity: dict) -> dict:
    """The ``dataset`` entry of a result record: the identity plus N and the clip lengths."""
    lengths = data.lengths
    return {**identity, "n": data.n, "frames": None,
            "lengths": {"min": int(lengths.min()), "max": int(lengths.max()),
                        "total": int(lengths.sum())}}


def check_clip_memory(data: ClipSplit, alpha: int) -> None:
    """Refuse an alpha whose predictions (alpha, T_k, 25) float32 over all clips (twice: the
    predictions and their AU-rounded copy) cannot fit in memory."""
    need = 2 * int(data.lengths.sum()) * alpha * EMOTION_DIM * 4
    limit = available_memory()
    if limit is not None and need > limit.available:
        raise ReactbenchError(f"{param('alpha', alpha)}: the predictions of {data.n} clips "
                              f"({int(data.lengths.sum())} frames) need {gib(need)}, more than "
                              f"{limit.source}; use fewer {param('alpha')}")


def load_targets(data: ClipSplit, protocol: Protocol, *, gt_align: str = "linear",
                 checkpoint=None, device: str = "cpu") -> Targets:
    """The protocol's target lists of ``data`` (K, seed and rule from the protocol)."""
    return build_targets(data, k=protocol.targets_per_sample or 10,
                         seed=protocol.target_seed if protocol.target_seed is not None else 1234,
                         gt_align=gt_align, checkpoint=checkpoint,
                         device=device if str(device).startswith("cuda") else "cpu")


def load_clip_bundle(opt: RunOptions, need_audio: bool) -> ClipBundle:
    """Load the evaluated MARS split of ``opt`` with its targets; check the memory."""
    proto = opt.scoring_protocol
    root = Path(resolve_mars_data(opt.data, progress=opt.progress))
    test = load_clips(root, opt.split, bidirectional=proto.bidirectional, audio=need_audio,
                      audio_features=True if need_audio else False, progress=opt.progress)
    check_clip_memory(test, opt.alpha)
    targets = load_targets(test, proto, gt_align=opt.gt_align,
                           checkpoint=opt.gt_align_checkpoint, device=opt.device)
    return ClipBundle(root=root, test=test, targets=targets, identity=dict(test.identity),
                      options=opt)


# ----------------------------------------------------------------------------- scoring
def force_identity(scores: MetricScores, preds: list[np.ndarray], targets: list[np.ndarray],
                   alpha: int, log: Log, name: str) -> None:
    """GT_identical: FRCorr reported as alpha (the official script's value) when every
    prediction equals its target within ``IDENTITY_ATOL``; the real value goes to
    ``extra["FRCorr/real"]``. Otherwise the real value stays, with a note."""
    if "FRCorr" not in scores:
        return
    same = all(t.shape[0] >= alpha and np.allclose(p, t[:alpha], rtol=0, atol=IDENTITY_ATOL)
               for p, t in zip(preds, targets))
    if not same:
        log(f"[{name}] predictions differ from their targets: FRCorr is the real value")
        return
    scores.extra["FRCorr/real"] = float(scores["FRCorr"])
    scores["FRCorr"] = float(alpha)
    scores.ci.pop("FRCorr", None)


def score_clips(emotion: list[np.ndarray], data: ClipSplit, targets: Targets, *,
                protocol: Protocol, metrics: list[str] | None, bootstrap: int, seed: int,
                n_jobs: int, device: str, progress: bool, round_au: bool = True,
                log: Log = print, name: str = "model") -> MetricScores:
    """compute_metrics on the split's targets, after the protocol's AU rounding (when
    ``round_au``); a note is logged when rounded AU values fall outside {0, 1}."""
    if protocol.round_aus and round_au:
        emotion, outside = round_aus(emotion)
        if outside:
            log(f"[{name}] warning: {outside} predicted AU values lie outside {{0, 1}} after "
                "rounding (the protocol rounds half to even and does not clip)")
    if metrics is not None:
        check_metric_names(metrics)
    warm.wait_pending()  # kernels compiling in the background: load them, do not compile twice
    try:
        return compute_metrics(emotion, None, data.speaker_emotion, None,
                               targets=targets.targets, protocol=protocol.name,
                               metrics=metrics, n_jobs=n_jobs, device=device,
                               bootstrap=bootstrap, seed=seed, progress=progress)
    except ReactbenchError:
        raise
    except ValueError as exc:  # the metrics' input checks: report them as clean CLI errors
        raise ReactbenchError(f"scoring failed: {exc}") from exc


def targets_document(bundle_targets: Targets, data: ClipSplit, protocol: Protocol) -> dict:
    """What ``<result>.targets.json`` holds: the rule's parameters, every sample's ids, and the
    SHA-256 of the facial attributes of every clip it names (samples and targets)."""
    named = list(data.sample_ids) + [c for row in bundle_targets.ids for c in row]
    return {"schema": TARGETS_SCHEMA, "protocol": protocol.name,
            "protocol_version": protocol.version, "split": data.split,
            "content_hash": data.identity.get("content_hash"),
            "attributes_sha256": attributes_sha256(data.attributes, named),
            **bundle_targets.metadata,
            "samples": [{"sample": s, "targets": ids}
                        for s, ids in zip(data.sample_ids, bundle_targets.ids)]}


# ----------------------------------------------------------------------------- a run
def _whole_samples(model, bundle: ClipBundle, *, alpha: int, seed: int, name: str,
                   check_range: bool) -> RaggedPredictions:
    """Predictions of a model computed on whole samples (``generate_samples``), checked."""
    data = bundle.test
    out = call_model(model, name, "generate_samples", None,
                     lambda: model.generate_samples(data, bundle.targets.targets, alpha=alpha,
                                                    seed=seed))
    if not isinstance(out, (list, tuple)) or len(out) != data.n:
        raise ModelError(f"model {name!r}: generate_samples returned {type(out).__name__}; "
                         f"expected a list of {data.n} arrays (alpha, T_k, 25)")
    try:
        return check_ragged_predictions(dict(zip(data.sample_ids, out)), data.sample_ids,
                                        data.lengths, check_range=check_range,
                                        source=f"model {name!r} (generate_samples)")
    except ReactbenchError as exc:
        raise ModelError(exc.template) from None


def _fit(model, name: str, bundle: ClipBundle, seed: int) -> None:
    train = bundle.train() if getattr(model, "needs_train", True) else None
    if callable(getattr(model, "fit", None)):
        call_model(model, name, "fit", None,
                   lambda: model.fit(train, seed=seed, device=bundle.options.device))


def evaluate_clip_model(spec: str, bundle: ClipBundle, *, model=None, log: Log = print,
                        names: ParamNames | None = None, command: list[str] | None = None,
                        targets_file: str | None = None) -> dict:
    """Generate (or reuse cached) predictions per seed, check causality online, score against
    the targets and return the result record (not yet written)."""
    opt = bundle.options
    data = bundle.test
    protocol = opt.scoring_protocol
    if model is None:
        model = create_model(spec, opt)
    info = model_info(model)
    name = info.name
    online = opt.task == "online"
    whole = callable(getattr(model, "generate_samples", None))
    window = protocol.window if online else None
    check_task(model, name, opt.task, protocol, window if online else protocol.window)
    timings: dict[str, float] = {"fit": 0.0, "generate": 0.0, "causality": 0.0, "score": 0.0}
    identity = dict(bundle.identity)
    if getattr(model, "needs_train", True):
        identity["train"] = bundle.train_identity()
    code = model_code(model, opt.model_args.get(spec, {}), None)
    generation = ({"samples": "whole"} if whole
                  else {"task": opt.task, **generation_plan(protocol, opt.task)})
    tmeta = bundle.targets.metadata
    targets_key = f"{tmeta['ids_sha256']}:{tmeta['gt_align']}:{tmeta.get('checkpoint_sha256')}"
    steps = SeedSteps(
        fit=lambda seed: _fit(model, name, bundle, seed),
        generate=lambda seed: (
            _whole_samples(model, bundle, alpha=opt.alpha, seed=seed, name=name,
                           check_range=opt.check_range) if whole
            else generate_clips(model, data, protocol=protocol, task=opt.task,
                                alpha=opt.alpha, seed=seed, batch_size=opt.batch_size,
                                check_range=opt.check_range, progress=opt.progress,
                                name=name, keep_face=opt.realism_3dmm)),
        digest=ragged_digest,
        causality=lambda preds, seed: check_clip_causality(
            model, data, preds, protocol=protocol, alpha=opt.alpha, seed=seed,
            batch_size=opt.batch_size, n_windows=opt.causality_windows,
            check_range=opt.check_range, device=opt.device, name=name),
        save=save_ragged)
    per_seed, pred_files, causality = [], [], None
    for seed in opt.seeds:
        key = clip_predictions_key(info, identity, split=opt.split, task=opt.task,
                                   generation=generation, alpha=opt.alpha, seed=seed,
                                   keep_face=opt.realism_3dmm, code=code,
                                   targets=targets_key if whole else None)
        path = predictions_path(name, key)
        cached = (load_cached_clips(path, data.sample_ids, data.lengths, opt.alpha, key)
                  if opt.cache else None)
        preds, meta, causality, reused = seed_predictions(
            steps, cached, seed=seed, path=path, key=key, name=name, version=info.version,
            online=online, cache=opt.cache, causality=causality, timings=timings, log=log)
        t0 = time.perf_counter()
        scores = score_clips(preds.emotion, data, bundle.targets, protocol=protocol,
                             metrics=opt.metrics, bootstrap=opt.bootstrap, seed=seed,
                             n_jobs=opt.n_jobs, device=opt.device, progress=opt.progress,
                             round_au=not whole, log=log, name=name)
        if getattr(model, "force_identity_frc", False) and protocol.variant == "official":
            force_identity(scores, preds.emotion, bundle.targets.targets, opt.alpha, log, name)
        timings["score"] += time.perf_counter() - t0
        per_seed.append((seed, scores))
        pred_files.append({"seed": seed, "path": str(path) if opt.cache else None, "key": key,
                           "reused": reused,
                           "content_sha256": meta.get("content_sha256") or ragged_digest(preds)})
    entries, extra, seeds, metric_timings = aggregate(per_seed)
    return make_record(
        kind="run", task=opt.task, window=window, split=opt.split, alpha=opt.alpha,
        seeds=list(opt.seeds), protocol=protocol, bootstrap=opt.bootstrap, bootstrap_seed=None,
        realism_features=None, metrics=entries, extra=extra, per_seed=seeds,
        model=model_entry(spec, model, info), dataset=dataset_entry(data, bundle.identity),
        predictions=pred_files, causality=causality, device=opt.device,
        timings={**timings, "metrics": metric_timings}, command=command,
        targets={**tmeta, "file": targets_file},
    )


def run_clips(specs: list[str], opt: RunOptions, out: str | Path, *,
              skip_existing: bool = False, models: dict[str, Any] | None = None,
              log: Log = print, names: ParamNames | None = None,
              command: list[str] | None = None) -> list[tuple[dict, Path]]:
    """:func:`reactbench.harness.run` under a ``"targets"`` protocol: every model spec on the
    MARS split, one result JSON per model in ``out`` plus its ``<result>.targets.json``."""
    out = check_results_dir(out)
    made = create_models(specs, opt, models)
    # the library's default window (REACT2024's) means the protocol's own here
    window = opt.scoring_protocol.window if opt.window == OFFICIAL.window else opt.window
    for m in made.values():
        check_task(m, model_info(m).name, opt.task, opt.scoring_protocol, window)
    targets = result_targets(made, opt, out)
    clash = existing_results(targets, out, skip_existing)
    existing = {s: (read_result(targets[s]), targets[s]) for s in clash}
    todo = {s: m for s, m in made.items() if s not in existing}
    for s, (_rec, path) in existing.items():
        log(f"[{s}] keeping existing result {path}")
    if not todo:
        return [existing[s] for s in specs]
    need_audio = any(getattr(m, "needs_audio", True) for m in todo.values())
    start_warmup(opt)
    t0 = time.perf_counter()
    bundle = load_clip_bundle(opt, need_audio)
    load_s = time.perf_counter() - t0
    wait_warmup()  # before any model runs: a model's threads must not share the cores with it
    data = bundle.test
    log(f"data: {bundle.root} split {opt.split}: N = {data.n} clips, {int(data.lengths.min())}"
        f"..{int(data.lengths.max())} frames at {data.fps} fps; targets: "
        f"{bundle.targets.metadata['rule']} (K = {bundle.targets.metadata['k']}, gt_align "
        f"{bundle.targets.metadata['gt_align']}) ({load_s:.1f} s)")
    names_ = list(opt.metrics or opt.scoring_protocol.metrics)
    if "FRDiv" in names_ and opt.alpha < 2:
        raise ReactbenchError(f"FRDiv compares reactions of one speaker: it needs "
                              f"{param('alpha')} >= 2 (got {opt.alpha}); or pass "
                              f"{param('metrics')} without FRDiv")
    doc = targets_document(bundle.targets, data, opt.scoring_protocol)
    written = {}
    for s, m in todo.items():
        t1 = time.perf_counter()
        tfile = targets_path(targets[s])
        record = evaluate_clip_model(s, bundle, model=m, log=log, names=names, command=command,
                                     targets_file=tfile.name)
        record["timings"]["load"] = round(load_s, 4)
        record["timings"]["total"] = round(time.perf_counter() - t1 + load_s, 4)
        path = write_result(record, targets[s])
        write_targets(doc, tfile)
        log(f"[{record['model']['name']}] wrote {path} (targets: {tfile.name})")
        written[s] = (record, path)
    return [existing[s] if s in existing else written[s] for s in specs]


__all__ = ["ClipBundle", "load_clip_bundle", "load_targets", "score_clips", "force_identity",
           "check_clip_causality", "evaluate_clip_model", "run_clips", "targets_document",
           "dataset_entry", "IDENTITY_ATOL", "TARGETS_SCHEMA"]
