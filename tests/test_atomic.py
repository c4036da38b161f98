"""Atomic writes: the target is replaced only on success and no temporary file is left;
bad targets and (with overwrite=False) existing files are refused with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.atomic import atomic_path, atomic_savez, check_target
from reactbench.errors import ReactbenchError


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


def test_bad_targets_are_clear_errors_before_writing(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "out.txt").mkdir()
    with pytest.raises(ReactbenchError, match=r"out\.txt is a directory"):
        check_target(tmp_path / "out.txt")
    with pytest.raises(ReactbenchError, match=r"afile is a file, not a directory"), \
            atomic_path(tmp_path / "afile" / "sub" / "t.md"):
        pass
    assert (tmp_path / "afile").read_text() == "x"


def test_no_overwrite_refuses_existing_and_late_files(tmp_path):
    target = tmp_path / "t.md"
    target.write_text("old")
    with pytest.raises(ReactbenchError, match=r"t\.md already exists; not replaced \(use -f\)"):
        check_target(target, overwrite=False, hint="use -f")
    target.unlink()
    with pytest.raises(ReactbenchError, match="already exists"), \
            atomic_path(target, overwrite=False) as tmp:
        tmp.write_text("new")
        target.write_text("appeared meanwhile")
    assert target.read_text() == "appeared meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]


def test_written_files_get_the_permissions_of_a_plain_open(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
        (tmp_path / "b.txt").write_text("x")
    finally:
        os.umask(umask)
    mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644
