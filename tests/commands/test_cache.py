"""``reactbench cache info|clear``: what the cache holds, by kind and model, and pruning it
without touching anything else."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from reactbench.cache_inventory import inventory
from reactbench.predictions import Predictions, save_predictions

DAY = 86400.0


def _age(path, days: float) -> None:
    t = time.time() - days * DAY
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(folder, name), (t, t), follow_symlinks=False)
    os.utime(path, (t, t), follow_symlinks=False)


def _prediction(cache, model: str, key: str, days: float, packed: bool = True):
    emo = np.zeros((2, 2, 30, 25), np.float32)
    path = save_predictions(cache / "predictions" / f"{model}-{key}.npz", Predictions(emo),
                            {"model": model, "key": key}, packed=packed)
    _age(path, days)
    return path


@pytest.fixture
def filled(fresh_cache, tmp_path):
    """A cache with predictions of two models (one old file in the plain form), a dataset,
    a split cache, numba kernels, a stray file, a lock, a write in progress, and a link to a
    file outside the cache."""
    c = fresh_cache
    files = {
        "old_mime": _prediction(c, "b_mime", "a" * 20, 10, packed=False),
        "new_mime": _prediction(c, "b_mime", "b" * 20, 1),
        "mine": _prediction(c, "my-model", "c" * 20, 30),
    }
    data = c / "synthetic" / "synth-2-seed0"
    (data / "test").mkdir(parents=True)
    (data / "test" / "a.csv").write_text("x" * 1000)
    os.symlink(tmp_path, data / "test" / "escape")
    _age(data, 20)
    (c / "splits").mkdir()
    (c / "splits" / "test-1.npz").write_bytes(b"y" * 500)
    (c / "numba" / "metrics_1").mkdir(parents=True)
    (c / "numba" / "metrics_1" / "k.nbi").write_bytes(b"z" * 300)
    (c / "notes.txt").write_text("mine")
    (c / "predictions" / ".b_mime-x.npz.lock").write_text("")
    (c / "predictions" / ".b_mime-y.npz.abc.tmp").write_bytes(b"w" * 10)
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"keep me")
    os.symlink(outside, c / "predictions" / "link-dddddddddddddddddddd.npz")
    return c, files, outside


def test_info_lists_kinds_models_and_ages(filled, cli):
    cache, _, _ = filled
    code, out, err = cli("cache", "info")
    assert code == 0, err
    assert f"cache: {cache}" in out
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():  # the kinds table, then the models table
        if line.strip():
            rows.setdefault(line.split()[0], line.split())
    assert rows["datasets"][1] == "2" and rows["numba"][2] == "1"
    assert rows["predictions"][1] == "6"  # 3 files, a lock, a write in progress, a link
    assert rows["other"][1] == "1"
    assert rows["b_mime"][1] == "2" and rows["my-model"][1] == "1"
    inv = inventory(cache)
    assert inv.bytes == sum(e.bytes for e in inv.entries)
    models = inv.by_model()
    assert [e.path.name for e in models["my-model"]] == [f"my-model-{'c' * 20}.npz"]
    assert time.strftime("%Y-%m-%d", time.localtime(time.time() - 30 * DAY)) in out


def test_info_of_a_missing_cache(fresh_cache, cli):
    code, out, _ = cli("cache", "info")
    assert code == 0 and "does not exist yet" in out


def test_clear_removes_only_predictions_and_never_outside(filled, cli):
    cache, files, outside = filled
    code, out, err = cli("cache", "clear")
    assert code == 0, err
    assert all(not p.exists() for p in files.values())
    assert not (cache / "predictions" / f"link-{'d' * 20}.npz").is_symlink()
    assert outside.read_bytes() == b"keep me"  # a link is removed, never its target
    assert (cache / "predictions" / ".b_mime-x.npz.lock").exists()
    assert (cache / "predictions" / ".b_mime-y.npz.abc.tmp").exists()  # being written
    assert (cache / "synthetic" / "synth-2-seed0" / "test" / "a.csv").exists()
    assert "removed 4 prediction entries, freed" in out
    assert "kept predictions/.b_mime-x.npz.lock" in out


def test_clear_older_than_model_and_dry_run(filled, cli):
    cache, files, _ = filled
    code, out, err = cli("cache", "clear", "--older-than", "7d", "--dry-run")
    assert code == 0, err
    assert all(p.exists() for p in files.values())
    assert "would remove 2 prediction entries" in out and "b_mime-aaaa" in out
    code, out, _ = cli("cache", "clear", "--older-than", "7d", "--model", "b_mime")
    assert code == 0 and "removed 1 prediction entry" in out
    assert not files["old_mime"].exists()
    assert files["new_mime"].exists() and files["mine"].exists()
    code, out, _ = cli("cache", "clear", "--model", "nobody")
    assert code == 0 and "removed 0 prediction entries" in out
    assert "no cached predictions of model 'nobody'" in out and "my-model" in out


def test_clear_all_keeps_unknown_files_and_does_not_follow_links(filled, tmp_path, cli):
    cache, files, outside = filled
    code, out, err = cli("cache", "clear", "--all", "--older-than", "12h")
    assert code == 0, err
    assert not (cache / "synthetic" / "synth-2-seed0").exists()
    assert (cache / "splits" / "test-1.npz").exists()  # written just now
    assert files["new_mime"].exists() is False and outside.exists() and tmp_path.is_dir()
    assert (cache / "notes.txt").exists() and "left 1 item(s) reactbench does not know" in out
    code, out, _ = cli("cache", "clear", "--all")
    assert code == 0
    assert not (cache / "splits" / "test-1.npz").exists()
    assert not (cache / "numba" / "metrics_1").exists()
    assert (cache / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("bad", ["7", "d", "-1d", "7 days", "1.d", ""])
def test_a_bad_age_is_refused_by_flag(fresh_cache, cli, bad):
    code, _, err = cli("cache", "clear", f"--older-than={bad}")
    assert code == 2 and "--older-than" in err and "e.g. 7d, 12h" in err
