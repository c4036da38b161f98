"""``reactbench cache info|clear``: see what the user cache holds and prune it."""

from __future__ import annotations

import argparse
import time


def register(subparsers) -> None:
    p = subparsers.add_parser("cache", help="show what the user cache holds, or prune it")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])

    i = sub.add_parser("info", help="where the cache is, its size by kind (datasets, "
                                    "predictions, numba kernels, other) and per model")
    i.set_defaults(func=_info)

    c = sub.add_parser(
        "clear", help="remove cached predictions (every kind with --all)",
        description="Remove cached prediction entries (all of them unless --older-than or "
        "--model narrow it; --all: every kind reactbench made, datasets and numba kernels "
        "too). Files reactbench does not know, lock files and writes in progress are never "
        "removed; nothing outside the cache folder is touched.")
    c.add_argument("--older-than", default=None, metavar="AGE",
                   help="only entries last written more than AGE ago: a number and a unit "
                        "(s, m, h, d, w), e.g. 7d or 12h")
    c.add_argument("--model", default=None, metavar="NAME",
                   help="only the cached predictions of this model (its name as "
                        "`reactbench cache info` lists it)")
    c.add_argument("--all", action="store_true", dest="everything",
                   help="every kind of entry, not only predictions (datasets are generated "
                        "again and numba kernels compiled again on next use)")
    c.add_argument("--dry-run", action="store_true",
                   help="only list what would be removed")
    c.set_defaults(func=_clear)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _count(n: int, noun: str) -> str:
    """``n`` and ``noun`` ("entry"), plural unless n is 1."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"


def _span(entries) -> tuple[str, str]:
    times = [e.mtime for e in entries]
    return _when(min(times, default=None)), _when(max(times, default=None))


def _info(args: argparse.Namespace) -> int:
    from reactbench.cache_inventory import human_bytes, inventory  # on use: --help stays fast

    inv = inventory()
    print(f"cache: {inv.root} (set REACTBENCH_CACHE to move it)")
    if not inv.root.is_dir():
        print("empty: the folder does not exist yet")
        return 0
    oldest, newest = _span(inv.entries)
    print(f"total: {human_bytes(inv.bytes)} in {_count(len(inv.entries), 'entry')} "
          f"(oldest {oldest}, newest {newest})\n")
    rows = [("kind", "entries", "size", "oldest", "newest")]
    for kind, entries in inv.by_kind().items():
        rows.append((kind, str(len(entries)), human_bytes(sum(e.bytes for e in entries)),
                     *_span(entries)))
    _table(rows)
    models = inv.by_model()
    if models:
        print("\npredictions by model:")
        rows = [("model", "entries", "size", "oldest", "newest")]
        for name, entries in models.items():
            rows.append((name, str(len(entries)), human_bytes(sum(e.bytes for e in entries)),
                         *_span(entries)))
        _table(rows)
    return 0


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        print("  ".join(cells).rstrip())


def _clear(args: argparse.Namespace) -> int:
    from reactbench.cache_inventory import (  # on use: --help stays fast
        clear,
        human_bytes,
        inventory,
        parse_age,
    )

    older = parse_age(args.older_than) if args.older_than is not None else None
    inv = inventory()
    done = clear(inv, older_than=older, model=args.model, everything=args.everything,
                 dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    folders: dict[str, list] = {}
    for e in done.removed:  # predictions one by one, other folders summed
        if e.model is not None:
            print(f"{verb} {e.path.relative_to(inv.root)} ({e.model}, {human_bytes(e.bytes)})")
        else:
            folders.setdefault(e.path.parent.name, []).append(e)
    for name, entries in folders.items():
        print(f"{verb} {_count(len(entries), 'entry')} of {name}/ "
              f"({human_bytes(sum(e.bytes for e in entries))})")
    for e, why in done.failed:
        print(f"could not remove {e.path}: {why}")
    for e in done.busy:
        print(f"kept {e.path.relative_to(inv.root)} (a lock or a write in progress)")
    what = _count(len(done.removed), "entry" if args.everything else "prediction entry")
    freed = "would free" if args.dry_run else "freed"
    print(f"{verb} {what}, {freed} {human_bytes(done.bytes)} in {inv.root}")
    if args.model is not None and not any(e.model == args.model for e in inv.entries):
        known = ", ".join(inv.by_model()) or "none"
        print(f"no cached predictions of model {args.model!r} (cached models: {known})")
    if done.other:
        print(f"left {done.other} item(s) reactbench does not know in {inv.root}")
    return 1 if done.failed else 0
