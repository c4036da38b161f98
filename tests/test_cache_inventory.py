"""The cache inventory (reactbench.cache_inventory): ages, kinds, selection and sizes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reactbench.cache_inventory import (
    Entry,
    Inventory,
    clear,
    human_bytes,
    inventory,
    parse_age,
    prediction_model,
    select,
)
from reactbench.errors import ReactbenchError

DAY = 86400.0


def test_ages():
    assert parse_age("7d") == 7 * DAY and parse_age("12h") == 12 * 3600
    assert parse_age("1.5W") == 1.5 * 7 * DAY and parse_age("90s") == 90
    assert parse_age("0m") == 0
    with pytest.raises(ReactbenchError, match="older_than=1y"):
        parse_age("1y")


def test_selection_by_kind_model_and_age():
    now = 1e9
    entries = [Entry(Path("/c/predictions/a.npz"), "predictions", 10, now - 2 * DAY, "a"),
               Entry(Path("/c/predictions/b.npz"), "predictions", 20, now - 9 * DAY, "b"),
               Entry(Path("/c/splits/t.npz"), "datasets", 30, now - 9 * DAY),
               Entry(Path("/c/x.txt"), "other", 40, now - 9 * DAY)]
    inv = Inventory(Path("/c"), entries)
    assert [e.model for e in select(inv, now=now)] == ["a", "b"]
    assert [e.model for e in select(inv, older_than=7 * DAY, now=now)] == ["b"]
    assert [e.model for e in select(inv, model="a", now=now)] == ["a"]
    assert len(select(inv, everything=True, now=now)) == 3  # never "other"
    assert len(select(inv, everything=True, model="b", now=now)) == 1
    assert inv.bytes == 100 and [len(v) for v in inv.by_kind().values()] == [1, 2, 0, 1]


def test_sizes_links_and_names(tmp_path):
    cache = tmp_path / "c"
    (cache / "splits").mkdir(parents=True)
    (cache / "splits" / "t.npz").write_bytes(b"x" * 2048)
    (cache / "predictions").mkdir()
    target = tmp_path / "big.bin"
    target.write_bytes(b"y" * 10**6)
    os.symlink(target, cache / "predictions" / f"m-{'0' * 20}.npz")
    inv = inventory(cache)
    sizes = {e.path.name: (e.kind, e.bytes, e.model) for e in inv.entries}
    assert sizes["t.npz"] == ("datasets", 2048, None)
    assert sizes[f"m-{'0' * 20}.npz"][2] == "m"  # named by its file name when unreadable
    assert sizes[f"m-{'0' * 20}.npz"][1] < 1000  # the link, not its target
    assert prediction_model(Path("my-model-x.npz")) == "my-model-x"
    assert human_bytes(0) == "0 B" and human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 2**40) == "3.0 TiB"
    assert inventory(tmp_path / "none").entries == []


def test_clear_refuses_entries_outside_the_cache(tmp_path):
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"z")
    (tmp_path / "c").mkdir()
    inv = Inventory(tmp_path / "c", [Entry(outside, "predictions", 1, time.time() - DAY)])
    done = clear(inv)
    assert outside.exists() and not done.removed and "not inside" in done.failed[0][1]
