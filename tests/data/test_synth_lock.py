"""Dataset generation has one writer per folder: a second ``data synth`` into the same --out
is refused while the first writes, the default dataset waits for the process generating it
and reuses its copy, and temporary folders left by a killed generation are removed on the
next run. A folder that cannot be written (read-only, full) is one clear error, with nothing
left behind."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pytest
import soundfile

from reactbench.atomic import exclusive_lock
from reactbench.data import resolve, synthetic
from reactbench.errors import DataError

SMALL = {"pairs": {"train": 2, "val": 2, "test": 2}, "frames": 100, "n_jobs": 1}


def test_a_second_writer_is_refused_while_the_first_writes(tmp_path):
    out = tmp_path / "data"
    with exclusive_lock(out, wait=False, error=DataError):
        with pytest.raises(DataError, match=r"data is being written by another process now"):
            synthetic.generate(out, **SMALL)
        assert not out.exists()
    assert synthetic.generate(out, **SMALL) == out  # free again: the lock file is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_two_synth_commands_into_one_folder(tmp_path):
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "reactbench", "data", "synth", "--out", str(out),
           "--pairs", "train=2,val=2,test=2", "--frames", "100"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    done = [(p.wait(120), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in done) == [0, 2], done
    (loser,) = [err for rc, err in done if rc == 2]
    assert ("being written by another process" in loser
            or "already exists and is not empty" in loser), loser
    assert "Traceback" not in loser
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no lock, no temporary
    assert json.loads((out / synthetic.META_FILE).read_text())["frames"] == 100


def test_temporaries_of_a_killed_generation_are_removed(tmp_path, capsys):
    out = tmp_path / "data"
    stale = tmp_path / ".data.tmp-4242-1"
    (stale / "train").mkdir(parents=True)
    (stale / "train" / "half.npy").write_bytes(b"x" * 1000)
    synthetic.generate(out, **SMALL)
    assert not stale.exists()
    assert f"removing {stale}" in capsys.readouterr().err


def test_the_default_dataset_waits_for_its_generator(tmp_path, monkeypatch):
    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path))
    target = tmp_path / "synthetic" / f"{synthetic.GENERATOR_VERSION}-seed0"
    target.parent.mkdir(parents=True)
    held = threading.Event()

    def other_process():
        with exclusive_lock(target, wait=False, error=DataError):
            held.set()
            time.sleep(0.5)
            target.mkdir()
            (target / synthetic.META_FILE).write_text("{}")

    monkeypatch.setattr(synthetic, "generate", lambda *a, **k: pytest.fail("generated twice"))
    t = threading.Thread(target=other_process)
    t.start()
    held.wait(5)
    assert resolve.default_dataset() == target
    t.join()


def test_a_read_only_cache_for_the_default_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path / "cache"))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("reactbench.atomic.tempfile.mkstemp", read_only)
    with pytest.raises(DataError) as err:
        resolve.default_dataset()
    msg = str(err.value)
    assert "cache folder" in msg and str(tmp_path / "cache") in msg and "\n" not in msg
    assert "Read-only file system" in msg and "REACTBENCH_CACHE" in msg
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("fault", ["enospc", "libsndfile"])
def test_a_full_disk_during_synth(tmp_path, monkeypatch, fault):
    out = tmp_path / "data"
    if fault == "enospc":
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(np, "save", full)
    else:  # libsndfile reports a full disk as "System error."; the disk says it is full
        filled, real = [], os.statvfs

        def full(*args, **kwargs):
            filled.append(True)
            raise soundfile.LibsndfileError(2, "System error.")
        monkeypatch.setattr(soundfile, "write", full)
        monkeypatch.setattr(os, "statvfs", lambda p: types.SimpleNamespace(
            f_flag=real(p).f_flag, f_bavail=0 if filled else 1 << 30, f_frsize=4096))
    with pytest.raises(DataError, match=rf"cannot write the dataset into {out} \(No space left "
                                        r"on device\); nothing was left there"):
        synthetic.generate(out, **SMALL)
    assert list(tmp_path.iterdir()) == []  # no dataset, no temporary folder, no lock


def test_a_full_disk_is_found_before_writing(tmp_path, monkeypatch):
    out = tmp_path / "data"
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda p: types.SimpleNamespace(
        f_flag=real(p).f_flag, f_bavail=0, f_frsize=4096))
    with pytest.raises(DataError, match=rf"out {out}: cannot write there \(No space left on "
                                        r"device\); free space on the disk holding"):
        synthetic.generate(out, **SMALL)
    assert list(tmp_path.iterdir()) == []
