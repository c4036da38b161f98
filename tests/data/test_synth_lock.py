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


# ``reactbench ARGS...`` twice at once: two processes forked from one interpreter that has
# imported the command's modules (once for both), each running the command's entry point
# (reactbench.cli:main) with its stdout discarded and its stderr sent back; prints
# [[exit status, stderr], ...]
TWO_COMMANDS = """
import json, os, sys, traceback
from reactbench.cli import main
from reactbench.data import synthetic
children = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.dup2(write, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        code = 1
        try:
            code = main(sys.argv[1:])
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(write)
    children.append((pid, read))
done = []
for pid, read in children:
    with os.fdopen(read) as err:
        text = err.read()
    done.append([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), text])
print(json.dumps(done))
"""


def test_two_synth_commands_into_one_folder(tmp_path):
    out = tmp_path / "data"
    args = ["data", "synth", "--out", str(out), "--pairs", "train=2,val=2,test=2",
            "--frames", "100"]
    both = subprocess.run([sys.executable, "-c", TWO_COMMANDS, *args], capture_output=True,
                          text=True, timeout=120)
    assert both.returncode == 0, both.stderr
    done = [tuple(d) for d in json.loads(both.stdout)]
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
