"""One seed's predictions in a run: reused from the cache when it holds them (online, only with
a passed causality check), else generated (the model fitted once, before its first
generation), checked for causality online and cached. What differs between fixed-length and
clip runs comes in as :class:`SeedSteps`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SeedSteps:
    """A run's steps for one model: ``fit(seed)``, ``generate(seed)`` -> predictions,
    ``digest(preds)`` -> sha256 hex, ``causality(preds, seed)`` -> report (online),
    ``save(path, preds, meta)`` (cache); ``fitted``: whether ``fit`` has run."""

    fit: Callable[[int], None]
    generate: Callable[[int], Any]
    digest: Callable[[Any], str]
    causality: Callable[[Any, int], dict]
    save: Callable[[Path, Any, dict], None]
    fitted: bool = False


def seed_predictions(steps: SeedSteps, cached: tuple[Any, dict] | None, *, seed: int,
                     path: Path, key: str, name: str, version: str, online: bool, cache: bool,
                     causality: dict | None, timings: dict[str, float],
                     log: Callable[[str], Any]) -> tuple[Any, dict, dict | None, bool]:
    """(predictions, meta, causality report, reused) of ``seed``: the ``cached`` entry
    (predictions, meta) when usable, else made by ``steps`` and cached at ``path`` when
    ``cache``. ``causality``: the report so far (kept when a cached entry has none);
    ``timings``: seconds added under "fit", "generate" and "causality"."""
    if cached is not None and online and not cached[1].get("causality", {}).get("passed"):
        cached = None
    if cached is not None:
        preds, meta = cached
        log(f"[{name}] seed {seed}: reusing cached predictions {path}")
        return preds, meta, meta.get("causality", causality), True
    if not steps.fitted:
        t0 = time.perf_counter()
        steps.fit(seed)
        timings["fit"] += time.perf_counter() - t0
        steps.fitted = True
    t0 = time.perf_counter()
    preds = steps.generate(seed)
    timings["generate"] += time.perf_counter() - t0
    meta = {"model": name, "version": version, "key": key, "content_sha256": steps.digest(preds)}
    if online:
        t0 = time.perf_counter()
        causality = steps.causality(preds, seed)
        timings["causality"] += time.perf_counter() - t0
        meta["causality"] = causality
    if cache:
        steps.save(path, preds, meta)
    return preds, meta, causality, False


__all__ = ["SeedSteps", "seed_predictions"]
