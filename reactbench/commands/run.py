"""``reactbench run``: generate reactions with one or more models, score them, write results."""

from __future__ import annotations

import shlex
from pathlib import Path

from reactbench.commands._common import (
    add_gt_align_args,
    add_scoring_args,
    command_line,
    error_message,
    flag_name,
    out_dir,
    parse_metrics,
    parse_protocols,
    parse_seeds,
)
from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import ModelError, ReactbenchError, ResultsError
from reactbench.protocols import get_protocol


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
    add_scoring_args(p, several_protocols=True)
    p.add_argument("--data-mars", default=None, metavar="DIR",
                   help="with several protocols: the MARS-layout dataset of the REACT2025/2026 "
                   "protocols when --data holds the REACT2024 layout (default: the embedded "
                   "synthetic MARS dataset)")
    add_gt_align_args(p)
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
    p.add_argument("--window", type=int, default=None,
                   help="online window length in frames (default: the protocol's: 50 for "
                   "REACT2024; REACT2025/2026 fix it at 30 with 60 frames of speaker context)")
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
    protocols = parse_protocols(args.protocol)
    if args.data_mars is not None and not any(is_clip_protocol(p) for p in protocols):
        raise ReactbenchError(f"--data-mars applies to the REACT2025/2026 protocols; --protocol "
                              f"{args.protocol} names none")
    out = out_dir(args.out)
    written = []
    for protocol in protocols:
        specs = registry.expand_models(protocol_models(args.model, protocol))
        clips = is_clip_protocol(protocol)
        opt = RunOptions(
            split=args.split, data=protocol_data(args, protocol, protocols), task=args.task,
            protocol=protocol, alpha=args.samples, seeds=parse_seeds(args.seed),
            bootstrap=args.bootstrap, device=args.device, batch_size=args.batch_size,
            window=window_of(args, protocol, protocols), frames=args.frames, n_jobs=args.jobs,
            realism_3dmm=args.realism_3dmm, check_range=not args.allow_out_of_range,
            metrics=parse_metrics(args.metrics), progress=not args.no_progress,
            cache=not args.no_cache,
            model_args=registry.parse_model_args(args.model_arg, specs),
            gt_align=args.gt_align if clips else "linear",
            gt_align_checkpoint=args.gt_align_checkpoint if clips else None,
        )
        if len(protocols) > 1:
            print(f"== protocol {protocol}: {', '.join(specs)}")
        written += [(protocol, r, path) for r, path in run(
            specs, opt, out, skip_existing=args.skip_existing, names=flag_name,
            command=command_line(args))]
    for protocol in protocols:  # one table per protocol: tables never mix protocols
        records = [r for p, r, _ in written if p == protocol]
        print()
        if len(protocols) > 1:
            print(f"protocol {protocol}:")
        try:
            print(render(records, fmt="text", table="all"))
        except ResultsError as exc:  # results are written; only the combined table is impossible
            print(f"(no combined summary table: {error_message(exc)})")
    print(f"\n{len(written)} result file(s) in {out}; tables: "
          f"reactbench leaderboard {out} --format md|latex|csv"
          + (" (one protocol per table: pass the files of one protocol)"
             if len(protocols) > 1 else ""))
    for protocol in protocols:
        saved = saved_predictions([(r, path) for p, r, path in written if p == protocol],
                                  score_flags(args, protocol, protocols))
        if saved:
            print(saved)
    return 0


def is_clip_protocol(protocol: str) -> bool:
    """Whether ``protocol`` scores variable-length clips against per-sample targets
    (REACT2025/2026, MARS layout)."""
    return get_protocol(protocol).appropriateness == "targets"


def protocol_models(text: str, protocol: str) -> str:
    """The ``--model`` list for ``protocol``: the group ``baselines`` means the REACT2026 naive
    baselines (``baselines2026``) under the REACT2025/2026 protocols."""
    if not is_clip_protocol(protocol):
        return text
    return ",".join("baselines2026" if item.strip() == "baselines" else item
                    for item in text.split(","))


def protocol_data(args, protocol: str, protocols: list[str]) -> str | None:
    """The dataset of ``protocol``: ``--data-mars`` for the REACT2025/2026 protocols when
    given; ``--data`` when every protocol asked for is of one layout family, or when its
    layout is the protocol's (MARS for REACT2025/2026); None (the protocol's embedded
    synthetic dataset) otherwise."""
    # imported here for start-up time (the data layer loads numpy)
    from reactbench.data.mars_layout import is_mars_root

    clips = is_clip_protocol(protocol)
    if clips and args.data_mars is not None:
        return args.data_mars
    if args.data is None:
        return None
    if len({is_clip_protocol(p) for p in protocols}) == 1:
        return args.data
    return args.data if is_mars_root(args.data) == clips else None


def window_of(args, protocol: str, protocols: list[str] | None = None) -> int:
    """``--window``, or the protocol's online window when it is not given; the REACT2025/2026
    protocols refuse another window than theirs (with REACT2024 protocols beside them,
    ``--window`` is the REACT2024 window)."""
    proto = get_protocol(protocol)
    mixed = len({is_clip_protocol(p) for p in protocols or [protocol]}) > 1
    if args.window is None or (mixed and proto.appropriateness == "targets"):
        return proto.window
    if proto.appropriateness == "targets" and args.window != proto.window:
        raise ReactbenchError(f"--window {args.window}: protocol {proto.name!r} generates online "
                              f"in windows of {proto.window} frames with "
                              f"{proto.speaker_context} frames of speaker context; leave "
                              f"--window out or pass --window {proto.window}")
    return args.window


def score_flags(args, protocol: str | None = None, protocols: list[str] | None = None) -> str:
    """The ``reactbench score`` flags that match this run's data, split, frames, task and
    scoring options (protocol, metrics, bootstrap, realism features, range check) under
    ``protocol`` (default: the one ``--protocol`` names)."""
    protocol = protocol or args.protocol
    protocols = protocols or [protocol]
    clips = is_clip_protocol(protocol)
    flags = [f"--split {shlex.quote(args.split)}"]
    data = protocol_data(args, protocol, protocols)
    if data:
        flags.append(f"--data {shlex.quote(str(data))}")
    if args.frames != DEFAULT_FRAMES and not clips:
        flags.append(f"--frames {args.frames}")
    if args.task == "online":
        flags.append(f"--task online --window {window_of(args, protocol, protocols)}")
    if protocol != "official":
        flags.append(f"--protocol {protocol}")
    if clips and args.gt_align != "linear":
        flags.append(f"--gt-align {args.gt_align}")
        if args.gt_align_checkpoint:
            flags.append(f"--gt-align-checkpoint {shlex.quote(args.gt_align_checkpoint)}")
    if args.metrics:
        flags.append(f"--metrics {shlex.quote(args.metrics)}")
    if args.bootstrap:
        flags.append(f"--bootstrap {args.bootstrap} --seed SEED")
    if args.realism_3dmm:
        flags.append("--realism-3dmm")
    if args.allow_out_of_range:
        flags.append("--allow-out-of-range")
    return " ".join(flags)


def saved_predictions(results: list[tuple[dict, Path]], flags: str) -> str:
    """Where each model's predictions were saved and the ``reactbench score`` command that
    re-scores them ("" with --no-cache: nothing was saved). ``results``: (record, result
    file); a REACT2025/2026 result's rows also name its target-ids file (``--targets``: the
    same targets, so the same numbers)."""
    rows = []
    for r, path in results:
        tfile = (r.get("targets") or {}).get("file")
        also = f"  --targets {Path(path).parent / tfile}" if tfile else ""
        rows += [(r["model"]["name"], p["seed"], p["path"] + also)
                 for p in r.get("predictions") or [] if p.get("path")]
    if not rows:
        return ""
    width = max(len(name) for name, _, _ in rows)
    targets = " --targets TARGETS" if any("--targets" in where for _, _, where in rows) else ""
    lines = [f"predictions (.npz; re-score one with: reactbench score --predictions FILE "
             f"{flags}{targets} --name NAME):"]
    lines += [f"  {name:<{width}}  seed {seed}  {where}" for name, seed, where in rows]
    return "\n".join(lines)
