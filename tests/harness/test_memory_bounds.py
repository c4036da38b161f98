"""Absurd sizes are refused before any memory is spent: predictions whose .npy headers (of a
file, or of the members of an .npz that expands far beyond its size) declare more than the
memory this process may use, and ``run --samples`` whose predictions and generation buffers
would not fit. The bound is the smaller of physical memory and the room under the process's
cgroup memory limit (v2 ``memory.max``/``memory.current``, v1 ``memory.limit_in_bytes``)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from reactbench import memory, predictions
from reactbench.errors import ReactbenchError
from reactbench.harness import check_prediction_memory
from reactbench.predictions import PredictionsError, load_predictions, predictions_size

MIB = 2**20
N, T = 8, 120  # rows and frames of tiny_dataset's test split


def _fake_cgroup(monkeypatch, tmp_path: Path, *, limit: str, used: int, v1: bool = False,
                 own: str = "/") -> Path:
    """A cgroup tree under ``tmp_path`` read instead of /sys/fs/cgroup; returns the file
    that holds the limit."""
    root = tmp_path / "cgroup"
    base = root / "memory" if v1 else root
    folder = base / own.strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    names = ("memory.limit_in_bytes", "memory.usage_in_bytes") if v1 else \
        ("memory.max", "memory.current")
    (folder / names[0]).write_text(f"{limit}\n")
    (folder / names[1]).write_text(f"{used}\n")
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(f"4:memory:{own}\n0::/\n" if v1 else f"0::{own}\n")
    monkeypatch.setattr(memory, "CGROUP_ROOT", root)
    monkeypatch.setattr(memory, "PROC_CGROUP", proc)
    return folder / names[0]


def _crafted_npz(path: Path, shape: tuple[int, ...]) -> Path:
    """An .npz whose emotion member's header declares ``shape`` float32 but holds 1 kB."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    buf.write(b"\0" * 1024)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("emotion.npy", buf.getvalue())
    return path


def _score(cli, data: Path, preds: Path, out: Path):
    return cli("score", "--predictions", preds, "--data", data, "--out", out, "--jobs", "1",
               "--no-progress", "--metrics", "FRCorr,FRDist")


def _never_loaded(monkeypatch):
    def refuse(path):
        raise AssertionError(f"{path} was loaded")
    monkeypatch.setattr(predictions, "_load_file", refuse)


# ----------------------------------------------------------------------------- the bound
def test_cgroup_v2_limit_bounds_available_memory(monkeypatch, tmp_path):
    where = _fake_cgroup(monkeypatch, tmp_path, limit=str(2 * 2**30), used=2**29)
    limit = memory.available_memory()
    assert limit.available == 3 * 2**29
    assert limit.source == (f"the 1.5 GiB left under this process's cgroup memory limit "
                            f"({where}: 2.0 GiB, 512.0 MiB in use)")


def test_cgroup_v1_limit_of_the_process_cgroup_bounds_available_memory(monkeypatch, tmp_path):
    where = _fake_cgroup(monkeypatch, tmp_path, limit=str(64 * MIB), used=16 * MIB, v1=True,
                         own="/jobs/42")
    (tmp_path / "cgroup" / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712")
    limit = memory.cgroup_memory()
    assert limit.available == 48 * MIB and str(where) in limit.source
    assert memory.available_memory() == limit


def test_the_tightest_cgroup_above_the_process_counts(monkeypatch, tmp_path):
    _fake_cgroup(monkeypatch, tmp_path, limit="max", used=0, own="/a/b")
    (tmp_path / "cgroup" / "a" / "memory.max").write_text(str(32 * MIB))
    (tmp_path / "cgroup" / "a" / "memory.current").write_text(str(8 * MIB))
    limit = memory.cgroup_memory()
    assert limit.available == 24 * MIB
    assert str(tmp_path / "cgroup" / "a" / "memory.max") in limit.source


@pytest.mark.parametrize(("limit", "v1"), [("max", False), ("9223372036854771712", True)])
def test_an_unlimited_cgroup_leaves_physical_memory(monkeypatch, tmp_path, limit, v1):
    _fake_cgroup(monkeypatch, tmp_path, limit=limit, used=MIB, v1=v1)
    monkeypatch.setattr(memory, "physical_memory", lambda: 4 * 2**30)
    assert memory.cgroup_memory() is None
    assert memory.available_memory() == memory.MemoryLimit(
        4 * 2**30, "this machine's 4.0 GiB of memory")


# ----------------------------------------------------------------------------- score
def test_predictions_expanding_beyond_the_cgroup_limit_are_refused_unloaded(
        tiny_dataset, tmp_path, cli, monkeypatch):
    preds = tmp_path / "expands.npz"  # 34 kB on disk, 9.2 MiB of float32 once loaded
    np.savez_compressed(preds, emotion=np.zeros((N, 100, T, 25), np.float32))
    assert preds.stat().st_size < 100_000
    where = _fake_cgroup(monkeypatch, tmp_path, limit=str(12 * MIB), used=8 * MIB)
    _never_loaded(monkeypatch)
    code, _, err = _score(cli, tiny_dataset, preds, tmp_path / "out")
    assert code == 2, err
    line = err.strip()
    assert "\n" not in line
    assert line == (
        f"reactbench score: error: --predictions {preds}: the predictions, emotion (8, 100, "
        "120, 25) float32, would take 9.2 MiB of memory once loaded, more than the 4.0 MiB "
        f"left under this process's cgroup memory limit ({where}: 12.0 MiB, 8.0 MiB in use); "
        "nothing was loaded (save fewer generations per speaker: alpha, the second axis)")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.json"))


def test_the_same_predictions_score_within_the_limit(tiny_dataset, tmp_path, cli, monkeypatch):
    preds = tmp_path / "fits.npz"
    rng = np.random.default_rng(0)
    np.savez_compressed(preds, emotion=rng.uniform(0, 1, (N, 2, T, 25)).astype(np.float32))
    _fake_cgroup(monkeypatch, tmp_path, limit=str(512 * MIB), used=8 * MIB)
    code, _, err = _score(cli, tiny_dataset, preds, tmp_path / "out")
    assert code == 0, err
    assert len(list((tmp_path / "out").glob("*.json"))) == 1


def test_a_crafted_header_claiming_a_huge_shape_is_refused_from_the_header(
        tiny_dataset, tmp_path, cli, monkeypatch):
    preds = _crafted_npz(tmp_path / "crafted.npz", (N, 10**9, T, 25))
    assert preds.stat().st_size < 2000
    _never_loaded(monkeypatch)
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * 2**30)
    monkeypatch.setattr(memory, "cgroup_memory", lambda: None)
    code, _, err = _score(cli, tiny_dataset, preds, tmp_path / "out")
    assert code == 2
    assert (f"--predictions {preds}: the predictions, emotion (8, 1000000000, 120, 25) "
            "float32, would take 89407.0 GiB of memory once loaded") in err, err
    assert "more than this machine's 16.0 GiB of memory; nothing was loaded" in err, err


def test_a_crafted_header_that_would_fit_is_read_normally(tmp_path):
    # the header check only bounds the size; a short member is still reported by the loader
    preds = _crafted_npz(tmp_path / "short.npz", (2, 2, 4, 25))
    assert predictions_size(preds)[0] == 2 * 2 * 4 * 25 * 4
    with pytest.raises(PredictionsError, match="cannot read predictions"):
        load_predictions(preds)


def test_float64_predictions_count_their_float32_copy(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, np.zeros((N, 3, T, 25)))
    size, what = predictions_size(path)
    assert size == N * 3 * T * 25 * (8 + 4) and what == "array (8, 3, 120, 25) float64"


def test_a_per_speaker_folder_counts_every_file_and_the_stacked_copy(tmp_path, monkeypatch):
    folder = tmp_path / "per_speaker"
    for i in range(4):
        (folder / f"s{i}").mkdir(parents=True)
        np.save(folder / f"s{i}" / "1.npy", np.zeros((50, T, 25), np.float32))
    size, what = predictions_size(folder)
    assert size == 2 * 4 * 50 * T * 25 * 4
    assert what == "4 per-speaker files (e.g. array (50, 120, 25) float32) stacked into one"
    monkeypatch.setattr(memory, "available_memory",
                        lambda: memory.MemoryLimit(4 * MIB, "a test limit of 4.0 MiB"))
    with pytest.raises(PredictionsError, match=r"would take 4\.6 MiB of memory once loaded, "
                                               r"more than a test limit of 4\.0 MiB"):
        load_predictions(folder, speaker_ids=[f"s{i}/1" for i in range(4)])


def test_unreadable_headers_leave_the_loader_s_message(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    assert predictions_size(bad) is None
    with pytest.raises(PredictionsError, match="cannot read predictions"):
        load_predictions(bad)


# ----------------------------------------------------------------------------- run
def _run(cli, data: Path, out: Path, *extra: str):
    return cli("run", "--data", data, "--out", out, "--no-progress", "--jobs", "1",
               "--metrics", "FRCorr,FRDist", "--model", "b_mime", *extra)


def test_samples_beyond_the_cgroup_limit_are_refused_before_generating(
        tiny_dataset, tmp_path, cli, monkeypatch):
    where = _fake_cgroup(monkeypatch, tmp_path, limit=str(24 * MIB), used=8 * MIB)
    code, _, err = _run(cli, tiny_dataset, tmp_path / "o", "--samples", "1000")
    assert code == 2
    assert err.strip() == (
        "reactbench run: error: --samples 1000: the predictions (N, alpha, T, 25) = (8, 1000, "
        "120, 25) float32 need 91.6 MiB, more than the 16.0 MiB left under this process's "
        f"cgroup memory limit ({where}: 24.0 MiB, 8.0 MiB in use); use fewer --samples (the "
        "protocol uses 10)")
    assert not list((tmp_path / "o").glob("*.json"))


def test_generation_buffers_and_3dmm_count(tiny_dataset, tmp_path, cli, monkeypatch):
    _fake_cgroup(monkeypatch, tmp_path, limit=str(24 * MIB), used=8 * MIB)
    # 9.2 MiB of predictions fit in 16 MiB, not with one batch of model output as large
    code, _, err = _run(cli, tiny_dataset, tmp_path / "o", "--samples", "100")
    assert code == 2
    assert "(8, 100, 120, 25) float32 need 9.2 MiB plus 9.2 MiB for one batch of model " \
        "output, more than the 16.0 MiB left" in err, err
    # batches of 1 row: the buffers shrink to 1.1 MiB and the run goes on
    code, _, err = _run(cli, tiny_dataset, tmp_path / "o", "--samples", "100",
                        "--batch-size", "1")
    assert code == 0, err
    with pytest.raises(ReactbenchError, match=r"alpha=100: the predictions \(N, alpha, T, 25\) "
                                              r"= \(8, 100, 120, 25\) and 3DMM \(N, alpha, T, "
                                              r"58\) float32 need 30.4 MiB"):
        check_prediction_memory(N, 100, T, keep_face=True, batch_size=1)
