"""Atomic writes: the target is replaced only on success and no temporary file is left."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.atomic import atomic_path, atomic_savez


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_savez_writes_exactly_the_named_path(tmp_path):
    target = tmp_path / "sub" / "cache.bin"
    atomic_savez(target, {"a": np.arange(3)})
    assert sorted(p.name for p in target.parent.iterdir()) == ["cache.bin"]
    with np.load(target) as z:
        np.testing.assert_array_equal(z["a"], np.arange(3))
