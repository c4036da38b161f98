"""The split cache (``<cache>/splits/<split>-<key>.npz``) heals itself: an entry that is
truncated, bit-flipped, not a zip at all or another entry's file is noticed on reading,
removed with a one-line note and rebuilt; a cache folder that cannot be written leaves the
split usable (uncached) with a one-line note."""

from __future__ import annotations

import errno
import shutil
import zipfile

import numpy as np
import pytest

from reactbench.data.loader import load_split
from reactbench.paths import cache_dir


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entry(split: str):
    (path,) = (cache_dir() / "splits").glob(f"{split}-*.npz")
    return path


def _truncate(path, other):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _bit_flip(path, other):
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("face.npy")
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 200] ^= 0x10  # inside face.npy's data: its CRC no longer matches
    path.write_bytes(bytes(raw))


def _not_a_zip(path, other):
    path.write_bytes(b"this is not a zip file\n" * 10)


def _swapped(path, other):
    shutil.copyfile(other, path)


@pytest.mark.parametrize("damage", [_truncate, _bit_flip, _not_a_zip, _swapped])
def test_a_damaged_entry_is_removed_and_rebuilt(own_cache, tiny_dataset, capsys, damage):
    good = load_split(tiny_dataset, "test", n_jobs=1)
    load_split(tiny_dataset, "val", n_jobs=1)
    entry, other = _entry("test"), _entry("val")
    damage(entry, other)
    capsys.readouterr()
    again = load_split(tiny_dataset, "test", n_jobs=1)
    err = capsys.readouterr().err
    assert f"the split cache {entry} is damaged" in err and "rebuilding it" in err
    assert len(err.strip().splitlines()) == 1
    np.testing.assert_array_equal(again.speaker_emotion, good.speaker_emotion)
    np.testing.assert_array_equal(again.listener_3dmm, good.listener_3dmm)
    assert _entry("test") == entry  # healed: read back silently now
    load_split(tiny_dataset, "test", n_jobs=1)
    assert capsys.readouterr().err == ""


def test_an_unwritable_cache_leaves_the_split_usable(own_cache, tiny_dataset, capsys,
                                                     monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    split = load_split(tiny_dataset, "test", n_jobs=1)
    err = capsys.readouterr().err
    assert split.speaker_emotion.shape[0] == 8
    assert "No space left on device" in err and "continuing without the split cache" in err
    assert list((own_cache / "splits").iterdir()) == []  # no partial or temporary file
