"""Checkpoints are read as data only and checked against their digest: a file whose pickle
would run code is refused unread (by the model, ``train --resume`` and ``--stage1-from``), a
file with flipped bytes is refused before anything is trained on it, and files without a
digest (older files, the shipped checkpoint) still load."""

from __future__ import annotations

import errno
import struct
import zipfile

import pytest
import torch
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff import plugin
from reactbench.reactdiff.calibrate import write_sampling

from reactbench.cli import main as cli
from reactbench.errors import ModelError

from .conftest import train_tiny


class _Payload:
    """Pickles as a call of ``open(marker, "w")``: loading it unrestricted creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile(path, marker, **extra):
    """A .pt that looks like a ReactDiff checkpoint but whose pickle would create ``marker``."""
    torch.save({"format": ck.FORMAT, "config": {}, "widths": {}, "stages_done": [1, 2],
                "model": {"w": torch.zeros(2)}, "payload": _Payload(marker), **extra}, path)
    return path


def _flip(path, n=50):
    """Flip ``n`` bytes in the middle of the largest tensor stored in ``path`` (a torch zip)."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 4
    for i in range(start, start + min(n, info.file_size // 2)):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_code_running_model_file_is_refused_unread(tmp_path, fake_splits):
    marker = tmp_path / "marker"
    evil = _hostile(tmp_path / "evil.pt", marker)
    for load in (lambda: ck.read_checkpoint(evil),
                 lambda: plugin.ReactDiff(checkpoint=str(evil)).fit(fake_splits[0]),
                 lambda: write_sampling(evil, 0.3, "by hand")):
        with pytest.raises(ModelError, match=r"refused to load .*evil\.pt.*data only"):
            load()
    assert ck.read_metadata(evil) is None
    assert not marker.exists()


def test_model_arg_checkpoint_on_the_command_line(tmp_path, tiny_dataset, capsys):
    marker = tmp_path / "marker"
    evil = _hostile(tmp_path / "evil.pt", marker)
    rc = cli(["run", "--model", "reactdiff", "--data", str(tiny_dataset), "--samples", "2",
              "--model-arg", f"checkpoint={evil}", "--out", str(tmp_path / "res"),
              "--no-progress", "--jobs", "1"])
    err = capsys.readouterr().err
    assert rc != 0 and "refused to load" in err and str(evil) in err
    assert not marker.exists()


def test_resume_and_stage1_from_refuse_a_code_running_file(tmp_path, tiny_dataset, capsys):
    marker = tmp_path / "marker"
    out = tmp_path / "run"
    out.mkdir()
    _hostile(out / "checkpoint.pt", marker, state={"stage": 1})
    rc = cli(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out),
              "--resume", "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "refused to load the training checkpoint" in err and str(out) in err
    evil = _hostile(tmp_path / "evil.pt", marker)
    rc = cli(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--stage", "2",
              "--out", str(tmp_path / "s2"), "--stage1-from", str(evil), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "refused to load" in err and str(evil) in err
    assert not marker.exists() and not (tmp_path / "s2").exists()


def test_flipped_bytes_stop_resume_and_generation(fake_splits, tiny_stage1_run):
    out = tiny_stage1_run[1]  # train_tiny(out, stage="1")
    ckpt = out / "checkpoint.pt"
    saved = torch.load(ckpt, weights_only=True)
    assert saved[ck.DIGEST] == ck.tensor_digest(saved)
    _flip(ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(ModelError, match=r"the training checkpoint .*checkpoint\.pt is corrupted"):
        train_tiny(out, splits=fake_splits, stage="2")
    assert ckpt.read_bytes() == before  # not resumed, not overwritten
    best = out / "stage1_best.pt"
    _flip(best)
    with pytest.raises(ModelError, match=r"stage1_best\.pt is corrupted"):
        ck.read_checkpoint(best)


def test_digest_follows_rewrites_and_digestless_files_load(tmp_path, tiny_model):
    model = tmp_path / "model.pt"
    model.write_bytes(tiny_model.read_bytes())
    write_sampling(model, 0.3, "by hand")  # rewritten: its digest is recomputed
    assert ck.read_checkpoint(model)["sampling"]["temperature"] == 0.3
    plain = {k: v for k, v in ck.read_checkpoint(model).items() if k not in (ck.DIGEST, "path")}
    torch.save(plain, tmp_path / "old.pt")  # a file written before digests existed
    old = ck.read_checkpoint(tmp_path / "old.pt")
    assert ck.DIGEST not in old
    _, net = ck.build_network(old)  # matched to the network by name and shape
    assert ck.read_checkpoint(ck.SHIPPED)["format"] == ck.FORMAT


def test_metadata_follows_rewrites_and_every_reader_gets_its_own_copy(tmp_path, tiny_model):
    model = tmp_path / "model.pt"
    model.write_bytes(tiny_model.read_bytes())
    first = ck.read_metadata(model)
    first["config"]["model"]["window"] = -1  # a reader's change stays its own
    assert ck.read_metadata(model)["config"]["model"]["window"] > 0
    write_sampling(model, 0.3, "by hand")  # replaced (atomically): read again
    assert ck.read_metadata(model)["sampling"]["temperature"] == 0.3
    write_sampling(model, 0.6, "by hand")
    assert ck.read_metadata(model)["sampling"]["temperature"] == 0.6
    model.unlink()
    assert ck.read_metadata(model) is None


def test_a_read_only_out_fails_before_training(tmp_path, tiny_dataset, capsys, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("reactbench.atomic.tempfile.mkstemp", read_only)
    out = tmp_path / "run"
    rc = cli(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out),
              "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--out {out}: cannot write there (Read-only file system)" in err
    assert "choose a writable location" in err and not out.exists()


def test_a_full_disk_at_a_checkpoint_is_one_clear_error(tmp_path, fake_splits, monkeypatch):
    """torch reports a full disk as a RuntimeError; the disk's free space says what it was."""
    import os
    import types

    filled, real = [], os.statvfs

    def full(obj, f, *args, **kwargs):
        filled.append(True)
        open(f, "wb").write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")

    monkeypatch.setattr(torch, "save", full)
    monkeypatch.setattr(os, "statvfs", lambda p: types.SimpleNamespace(
        f_flag=real(p).f_flag, f_bavail=0 if filled else 1 << 30, f_frsize=4096))
    out = tmp_path / "run"
    with pytest.raises(Exception, match=r"run/\S+\.pt: cannot write it \(No space left on "
                                        r"device\); free space on the disk holding"):
        train_tiny(out, splits=fake_splits, stage="1")
    assert not [p for p in out.iterdir() if p.suffix in (".pt", ".tmp")]


def test_corrupt_training_checkpoint_is_a_clear_error(tmp_path, fake_splits):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x80\x02 truncated")
    with pytest.raises(ModelError, match="cannot read the training checkpoint"):
        train_tiny(out, splits=fake_splits, resume=True)
