"""A whole evaluation: load the split once, then for every model generate (or reuse cached)
predictions per seed, check causality online, score, and write one result file per model;
and the scoring of saved predictions into a result file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactbench.data import dataset_identity, load_split, resolve_data
from reactbench.errors import ParamNames, ReactbenchError, ResultsError, param
from reactbench.harness.cache import (
    content_digest,
    load_cached,
    model_code,
    predictions_key,
    predictions_path,
)
from reactbench.harness.causality import check_causality
from reactbench.harness.clip_runner import run_clips
from reactbench.harness.entries import (
    create_model,
    create_models,
    existing_results,
    model_entry,
    result_targets,
)
from reactbench.harness.generate import (
    call_model,
    check_prediction_memory,
    generate_offline,
    generate_online,
)
from reactbench.harness.options import RunOptions, check_window_fits
from reactbench.harness.scoring import aggregate, preflight, score, start_warmup, wait_warmup
from reactbench.harness.seeds import SeedSteps, seed_predictions
from reactbench.models import model_info
from reactbench.predictions import save_predictions
from reactbench.results import (
    check_results_dir,
    json_value,
    make_record,
    read_result,
    write_result,
)

Log = Callable[[str], Any]


@dataclass
class DataBundle:
    """The evaluated split (loaded once per run) and a lazily loaded training split."""

    root: Path
    test: Any
    identity: dict
    options: RunOptions
    _train: Any = None
    _train_audio: bool = False

    def train_identity(self) -> dict | None:
        """Identity of the training split (part of the cache key of models that fit on it)."""
        try:
            ident = dataset_identity(self.root, "train")
        except ReactbenchError:
            return None
        ident.pop("root", None)
        return ident

    def train(self, audio: bool):
        """The training split (loaded on first use; again when audio is first needed)."""
        if self._train is None or (audio and not self._train_audio):
            self._train = load_split(self.root, "train", frames=self.options.frames, audio=audio,
                                     neighbours=False, progress=self.options.progress)
            self._train_audio = audio
        return self._train


def load_bundle(opt: RunOptions, need_audio: bool) -> DataBundle:
    """Load the evaluated split of ``opt`` and check that its predictions fit in memory and
    (online) that the window is shorter than the clips."""
    root = Path(resolve_data(opt.data))
    test = load_split(root, opt.split, frames=opt.frames, audio=need_audio, neighbours=True,
                      progress=opt.progress)
    check_prediction_memory(test.n, opt.alpha, test.frames, keep_face=opt.realism_3dmm,
                            batch_size=opt.batch_size)
    if opt.task == "online":
        check_window_fits(opt.window, test.frames, opt.split, "choose a window shorter than "
                          f"{test.frames} frames or {param('task', 'offline')}")
    return DataBundle(root=root, test=test, identity=dataset_identity(root, opt.split),
                      options=opt)


def _fit(model, name: str, bundle: DataBundle, seed: int) -> None:
    """Fit ``model`` (fit is optional) on the training split when it needs one."""
    train = None
    if getattr(model, "needs_train", True):
        train = bundle.train(audio=bool(getattr(model, "needs_audio", True)))
    if callable(getattr(model, "fit", None)):
        call_model(model, name, "fit", None,
                   lambda: model.fit(train, seed=seed, device=bundle.options.device))


def evaluate_model(spec: str, bundle: DataBundle, *, model=None, log: Log = print,
                   names: ParamNames | None = None, command: list[str] | None = None) -> dict:
    """Generate (or reuse cached) predictions for every seed, check causality online, score,
    and return the result record (not yet written). ``names``: how notes name parameters;
    ``command``: the command line recorded (None from the library)."""
    opt = bundle.options
    data = bundle.test
    protocol = opt.scoring_protocol
    timings: dict[str, float] = {"fit": 0.0, "generate": 0.0, "causality": 0.0, "score": 0.0}
    if model is None:
        model = create_model(spec, opt)
    info = model_info(model)
    name = info.name
    online = opt.task == "online"
    window = opt.window if online else None
    per_seed = []
    pred_files = []
    causality = None
    identity = dict(bundle.identity)
    if getattr(model, "needs_train", True):
        identity["train"] = bundle.train_identity()
    # inputs a model reads itself only matter for the cache (hashing them can be slow)
    code = model_code(model, opt.model_args.get(spec, {}), data if opt.cache else None)
    kw = dict(alpha=opt.alpha, batch_size=opt.batch_size, check_range=opt.check_range,
              progress=opt.progress, name=name, keep_face=opt.realism_3dmm)
    steps = SeedSteps(
        fit=lambda seed: _fit(model, name, bundle, seed),
        generate=lambda seed: (
            generate_online(model, data, window=opt.window, seed=seed, **kw) if online
            else generate_offline(model, data, seed=seed, **kw)),
        digest=content_digest,
        causality=lambda preds, seed: check_causality(
            model, data, preds, alpha=opt.alpha, seed=seed, window=opt.window,
            batch_size=opt.batch_size, n_windows=opt.causality_windows,
            check_range=opt.check_range, device=opt.device, name=name),
        save=save_predictions)
    for seed in opt.seeds:
        key = predictions_key(info, identity, split=opt.split, task=opt.task,
                              window=window, alpha=opt.alpha, seed=seed, frames=data.frames,
                              keep_face=opt.realism_3dmm, code=code)
        path = predictions_path(name, key)
        cached = load_cached(path, data.n, opt.alpha, data.frames, key) if opt.cache else None
        preds, meta, causality, reused = seed_predictions(
            steps, cached, seed=seed, path=path, key=key, name=name, version=info.version,
            online=online, cache=opt.cache, causality=causality, timings=timings, log=log)
        t0 = time.perf_counter()
        scores = score(preds, data, protocol=protocol, bootstrap=opt.bootstrap, seed=seed,
                       n_jobs=opt.n_jobs, device=opt.device, realism_3dmm=opt.realism_3dmm,
                       log=log, names=names, metrics=opt.metrics, progress=opt.progress)
        timings["score"] += time.perf_counter() - t0
        per_seed.append((seed, scores))
        pred_files.append({"seed": seed, "path": str(path) if opt.cache else None, "key": key,
                           "reused": reused,
                           "content_sha256": meta.get("content_sha256")
                           or content_digest(preds)})
    entries, extra, seeds, metric_timings = aggregate(per_seed)
    return make_record(
        kind="run", task=opt.task, window=opt.window, split=opt.split, alpha=opt.alpha,
        seeds=list(opt.seeds), protocol=protocol, bootstrap=opt.bootstrap, bootstrap_seed=None,
        realism_features=getattr(per_seed[0][1], "realism_features", None), metrics=entries,
        extra=extra, per_seed=seeds, model=model_entry(spec, model, info),
        dataset={**bundle.identity, "n": data.n, "frames": data.frames},
        predictions=pred_files, causality=causality, device=opt.device,
        timings={**timings, "metrics": metric_timings}, command=command,
    )


def run(
    specs: list[str], opt: RunOptions, out: str | Path, *, skip_existing: bool = False,
    models: dict[str, Any] | None = None, log: Log = print, names: ParamNames | None = None,
    command: list[str] | None = None,
) -> list[tuple[dict, Path]]:
    """Evaluate every model spec, writing one result JSON per model into ``out``.

    ``models``: spec -> a model the caller already created from ``opt.model_args[spec]``
    (e.g. to inspect it first); the other specs are created here. ``log``: progress lines;
    ``names``: how they name parameters (default: as library parameters); ``command``: the
    command line recorded in each result (None from the library).

    All target files are checked BEFORE any work: a results directory that already holds one
    of these runs is an error (nothing is overwritten) unless ``skip_existing``, which keeps
    the existing result, skips that model and returns the stored record instead. A model that
    fails stops the run with a ModelError; results already written for earlier models stay
    (each is complete). Returns (record, path) per model, in ``specs`` order.
    """
    opt.validate()
    if opt.scoring_protocol.appropriateness == "targets":  # REACT2025/2026: MARS clips
        return run_clips(specs, opt, out, skip_existing=skip_existing, models=models, log=log,
                         names=names, command=command)
    out = check_results_dir(out)
    models = create_models(specs, opt, models)
    targets = result_targets(models, opt, out)
    clash = existing_results(targets, out, skip_existing)
    existing = {s: (read_result(targets[s]), targets[s]) for s in clash}
    todo = {s: m for s, m in models.items() if s not in existing}
    need_audio = any(getattr(m, "needs_audio", True) for m in todo.values())
    if todo:
        start_warmup(opt)
    t0 = time.perf_counter()
    bundle = load_bundle(opt, need_audio)  # also what a kept result is checked against
    load_s = time.perf_counter() - t0
    wait_warmup()  # before any model runs: a model's threads must not share the cores with it
    for s, (rec, path) in existing.items():
        stale = stale_fields(rec, spec=s, info=model_info(models[s]), identity=bundle.identity,
                             frames=bundle.test.frames, opt=opt)
        if stale:
            raise ResultsError(
                f"{param('skip_existing', True)}: {path} is not the run asked for "
                f"({'; '.join(stale)}); nothing was run or overwritten (remove it or choose "
                f"another {param('out')})")
        log(f"[{s}] keeping existing result {path}")
    if todo:
        log(f"data: {bundle.root} split {opt.split}: N = {bundle.test.n} rows, "
            f"T = {bundle.test.frames} frames ({load_s:.1f} s)")
        preflight(bundle.test, metrics=opt.metrics, alpha=opt.alpha,
                  protocol=opt.scoring_protocol)
    written = {}
    for s, m in todo.items():
        t1 = time.perf_counter()
        record = evaluate_model(s, bundle, model=m, log=log, names=names, command=command)
        record["timings"]["load"] = round(load_s, 4)
        record["timings"]["total"] = round(time.perf_counter() - t1 + load_s, 4)
        path = write_result(record, targets[s])
        log(f"[{record['model']['name']}] wrote {path}")
        written[s] = (record, path)
    return [existing[s] if s in existing else written[s] for s in specs]


def stale_fields(record: dict, *, spec: str, info, identity: dict, frames: int,
                 opt: RunOptions) -> list[str]:
    """How a stored result differs from the run ``opt`` would make for model ``spec``
    on a split loaded with ``frames`` frames (empty: the same run). Paths in model params
    compare by file name, so a moved checkout keeps its results."""

    def same(a, b) -> bool:
        if isinstance(a, str) and isinstance(b, str) and ("/" in a or "/" in b):
            return Path(a).name == Path(b).name
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return a == b

    model, data = record.get("model") or {}, record.get("dataset") or {}
    params = json.loads(json.dumps(info.params, default=json_value))
    wanted = set(opt.metrics or opt.scoring_protocol.metrics)
    if opt.realism_3dmm and record.get("realism_features") is None:
        wanted.discard("FRRea")  # the model returned no 3DMM: FRRea was skipped
    feats = "emotion+3dmm" if opt.realism_3dmm else "emotion"
    window = opt.window if opt.task == "online" else None
    stored = record.get("metrics", {})
    checks = [  # (what, stored, asked, same)
        ("model spec", model.get("spec"), spec, model.get("spec") == spec),
        ("model version", model.get("version"), info.version,
         model.get("version") == info.version),
        ("model params", model.get("params"), params, same(model.get("params"), params)),
        ("dataset content", data.get("content_hash"), identity.get("content_hash"),
         data.get("content_hash") == identity.get("content_hash")),
        ("frames", data.get("frames"), frames, data.get("frames") == frames),
        ("window", record.get("window"), window, record.get("window") == window),
        ("bootstrap", record.get("bootstrap"), opt.bootstrap,
         record.get("bootstrap") == opt.bootstrap),
        ("metrics", sorted(stored), sorted(wanted), set(stored) == wanted),
        ("realism features", record.get("realism_features"), feats,
         record.get("realism_features") in (None, feats)),
    ]
    return [f"{what}: stored {got!r}, asked {want!r}" for what, got, want, ok in checks
            if not ok]
