"""How much memory a command may use: the smaller of this machine's physical memory and the
room left under the memory limit of the control group (cgroup) this process runs in.

A container or a batch scheduler usually limits memory through a cgroup, far below the
machine's physical memory: an allocation beyond it ends the process (OOM kill) instead of
raising an error, so sizes are checked against it before any large array is made.

- cgroup v2: ``memory.max`` (``max``: no limit) and ``memory.current`` of the process's cgroup
  (``/proc/self/cgroup``, line ``0::<path>``) and of every cgroup above it;
- cgroup v1: ``memory/memory.limit_in_bytes`` (a value near 2**63: no limit) and
  ``memory/memory.usage_in_bytes``, likewise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
V1_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1
GIB = 2**30


@dataclass(frozen=True)
class MemoryLimit:
    """``available`` bytes a command may use, and where that bound comes from: ``source`` is
    a phrase such as ``"this machine's 15.6 GiB of memory"``."""

    available: int
    source: str


def gib(n: float) -> str:
    """``n`` bytes as text, one decimal: GiB from 1 GiB on (``"1.5 GiB"``), MiB below."""
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / 2**20:.1f} MiB"


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _read_int(path: Path) -> int | None:
    """The integer in ``path`` (None: missing, unreadable, or ``max``)."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _own_cgroups() -> dict[str, str]:
    """Controller -> the process's cgroup path (``"2"``: the cgroup v2 hierarchy)."""
    out: dict[str, str] = {}
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and not controllers:
            out["2"] = path
        for c in controllers.split(","):
            if c:
                out[c] = path
    return out


def _chain(base: Path, rel: str | None) -> list[Path]:
    """The cgroup folders to read: the process's own (``base/rel``) and every one above it up
    to ``base`` (only ``base`` when the process's folder is not visible, e.g. in a container
    that mounts its own cgroup at ``base``)."""
    dirs = []
    if rel:
        here = base / rel.strip("/")
        if here.is_dir():
            while here != base and base in here.parents:
                dirs.append(here)
                here = here.parent
    dirs.append(base)
    return dirs


def cgroup_memory() -> MemoryLimit | None:
    """The tightest cgroup memory limit over this process's cgroup and those above it, as the
    room it leaves (limit minus current use); None when no cgroup limits memory."""
    own = _own_cgroups()
    found: list[tuple[int, Path, int, int]] = []
    layouts = (  # (folder, limit file, usage file, cgroup path of the process)
        (CGROUP_ROOT, "memory.max", "memory.current", own.get("2")),
        (CGROUP_ROOT / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
         own.get("memory")),
    )
    for base, limit_file, usage_file, rel in layouts:
        if not base.is_dir():
            continue
        for folder in _chain(base, rel):
            limit = _read_int(folder / limit_file)
            if limit is None or limit >= V1_UNLIMITED:
                continue
            used = _read_int(folder / usage_file) or 0
            found.append((max(limit - used, 0), folder / limit_file, limit, used))
    if not found:
        return None
    room, path, limit, used = min(found, key=lambda f: f[0])
    return MemoryLimit(room, f"the {gib(room)} left under this process's cgroup memory limit "
                             f"({path}: {gib(limit)}, {gib(used)} in use)")


def limit_from(physical: int | None, cgroup: MemoryLimit | None) -> MemoryLimit | None:
    """The smaller bound of ``physical`` memory (bytes or None) and the ``cgroup`` room."""
    phys = None if physical is None else MemoryLimit(
        physical, f"this machine's {gib(physical)} of memory")
    bounds = [b for b in (phys, cgroup) if b is not None]
    return min(bounds, key=lambda b: b.available) if bounds else None


def available_memory() -> MemoryLimit | None:
    """How much memory a command may use (None when neither the OS nor a cgroup says)."""
    return limit_from(physical_memory(), cgroup_memory())
