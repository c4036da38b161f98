"""``reactbench run``: generate reactions with one or more models, score them, write results."""

from __future__ import annotations

import shlex

from reactbench.commands._common import (
    add_scoring_args,
    command_line,
    error_message,
    flag_name,
    out_dir,
    parse_metrics,
    parse_seeds,
)
from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import ModelError, ResultsError


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="generate + score + write one result file per model",
        description="Generate alpha reactions per speaker with each model (offline or online), "
        "score them with the seven metrics, write one result JSON per model and print a "
        "summary table. Predictions are cached: re-scoring never re-generates.",
    )
    p.add_argument("--model", default=None, metavar="NAME[,NAME...]",
                   help="registered names, groups ('baselines'), package.module:Class or "
                   "path/to/file.py:Class")
    p.add_argument("--list-models", action="store_true", help="list registered models and exit")
    add_scoring_args(p)
    p.add_argument("--task", choices=("offline", "online"), default="offline",
                   help="offline: whole clips; online: window by window, causality-checked "
                   "(default: offline)")
    p.add_argument("--samples", type=int, default=10, metavar="ALPHA",
                   help="reactions generated per speaker, alpha (default: 10)")
    p.add_argument("--seed", default="0",
                   help="generation seed(s), e.g. 0 or 0,1,2: values are means over seeds "
                   "(default: 0)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="speaker rows per model call (default: 32)")
    p.add_argument("--window", type=int, default=50,
                   help="online window length in frames (default: 50)")
    p.add_argument("--model-arg", action="append", default=[], metavar="[MODEL@]KEY=VALUE",
                   help="constructor option for the model(s) that take KEY, or only MODEL "
                   "(repeatable)")
    p.add_argument("--skip-existing", action="store_true",
                   help="keep results already in --out and run only the missing models")
    p.add_argument("--no-cache", action="store_true",
                   help="neither reuse nor store cached predictions")
    p.set_defaults(func=main)


def main(args) -> int:
    # imported here, not at module top: `reactbench --help` builds every command's parser, and
    # the registry (package metadata), the harness and the tables (numpy, numba) are slow to load
    from reactbench import registry
    from reactbench.harness import RunOptions, run
    from reactbench.tables import render

    if args.list_models:
        print(registry.describe_models())
        return 0
    if not args.model:
        raise ModelError("--model is required (see `reactbench run --list-models`)")
    specs = registry.expand_models(args.model)
    opt = RunOptions(
        split=args.split, data=args.data, task=args.task, protocol=args.protocol,
        alpha=args.samples, seeds=parse_seeds(args.seed), bootstrap=args.bootstrap,
        device=args.device, batch_size=args.batch_size, window=args.window, frames=args.frames,
        n_jobs=args.jobs, realism_3dmm=args.realism_3dmm,
        check_range=not args.allow_out_of_range, metrics=parse_metrics(args.metrics),
        progress=not args.no_progress, cache=not args.no_cache,
        model_args=registry.parse_model_args(args.model_arg, specs),
    )
    out = out_dir(args.out)
    written = run(specs, opt, out, skip_existing=args.skip_existing, names=flag_name,
                  command=command_line(args))
    records = [r for r, _ in written]
    print()
    try:
        print(render(records, fmt="text", table="all"))
    except ResultsError as exc:  # results are written; only the combined table is impossible
        print(f"(no combined summary table: {error_message(exc)})")
    print(f"\n{len(written)} result file(s) in {out}; tables: "
          f"reactbench leaderboard {out} --format md|latex|csv")
    saved = saved_predictions(records, score_flags(args))
    if saved:
        print(saved)
    return 0


def score_flags(args) -> str:
    """The ``reactbench score`` flags that match this run's data, split, frames, task and
    scoring options (protocol, metrics, bootstrap, realism features, range check)."""
    flags = [f"--split {shlex.quote(args.split)}"]
    if args.data:
        flags.append(f"--data {shlex.quote(str(args.data))}")
    if args.frames != DEFAULT_FRAMES:
        flags.append(f"--frames {args.frames}")
    if args.task == "online":
        flags.append(f"--task online --window {args.window}")
    if args.protocol != "official":
        flags.append(f"--protocol {args.protocol}")
    if args.metrics:
        flags.append(f"--metrics {shlex.quote(args.metrics)}")
    if args.bootstrap:
        flags.append(f"--bootstrap {args.bootstrap} --seed SEED")
    if args.realism_3dmm:
        flags.append("--realism-3dmm")
    if args.allow_out_of_range:
        flags.append("--allow-out-of-range")
    return " ".join(flags)


def saved_predictions(records: list[dict], flags: str) -> str:
    """Where each model's predictions were saved and the ``reactbench score`` command that
    re-scores them ("" with --no-cache: nothing was saved)."""
    rows = [(r["model"]["name"], p["seed"], p["path"]) for r in records
            for p in r.get("predictions") or [] if p.get("path")]
    if not rows:
        return ""
    width = max(len(name) for name, _, _ in rows)
    lines = [f"predictions (.npz; re-score one with: reactbench score --predictions FILE "
             f"{flags} --name NAME):"]
    lines += [f"  {name:<{width}}  seed {seed}  {path}" for name, seed, path in rows]
    return "\n".join(lines)
