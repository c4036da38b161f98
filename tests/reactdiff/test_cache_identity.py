"""What a ReactDiff result and its cached predictions are tied to: the training data recorded
in results (``model.trained_on``) and the contents of ``file:`` feature streams in the
predictions cache key (``ReactDiff.cache_identity``)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from reactbench.reactdiff import plugin
from reactbench.reactdiff.config import StreamSpec
from reactbench.reactdiff.streams import feature_files_identity

from reactbench.cli import main
from reactbench.harness.cache import code_files
from reactbench.predictions import load_predictions
from reactbench.results import read_result

from .fakes import tiny_config


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("REACTBENCH_CACHE", str(path))
    return path


def write_features(root, ids, width, value=None, seed=0, frames=40):
    rng = np.random.default_rng(seed)
    for cid in ids:
        path = root / "feats" / f"{cid}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (frames, width)
        arr = rng.standard_normal(shape) if value is None else np.full(shape, value)
        np.save(path, arr.astype(np.float32))


def test_feature_files_identity_follows_contents(tmp_path, private_cache):
    ids = ["a/1", "a/2", "b/1"]
    specs = [StreamSpec("au", "emotion:au"), StreamSpec("afr", "file:feats", "audio", width=3)]
    assert feature_files_identity(specs[:1], ids, tmp_path) is None  # no file streams
    write_features(tmp_path / "d", ids, 3)
    first = feature_files_identity(specs, ids + ids[:1], tmp_path / "d")  # mirrored: repeats
    assert first["afr"]["files"] == 3 and first["afr"]["source"] == "file:feats"
    assert set(first) == {"afr"}
    assert feature_files_identity(specs, ids, tmp_path / "d") == first
    assert list((private_cache / "features").glob("*.json"))  # memoised by file stats
    # a copy of the same bytes (other paths and mtimes) keeps the identity
    shutil.copytree(tmp_path / "d", tmp_path / "copy")
    assert feature_files_identity(specs, ids, tmp_path / "copy") == first
    # regenerated features (other bytes, same size) change it
    path = tmp_path / "d" / "feats" / "a/2.npy"
    before = path.stat().st_mtime_ns
    np.save(path, np.zeros((40, 3), np.float32))
    os.utime(path, ns=(before + 10**9, before + 10**9))
    changed = feature_files_identity(specs, ids, tmp_path / "d")
    assert changed["afr"]["sha256"] != first["afr"]["sha256"]
    # a missing file is part of the identity, not an error here (generation reports it)
    path.unlink()
    missing = feature_files_identity(specs, ids, tmp_path / "d")
    assert missing["afr"]["sha256"] not in (first["afr"]["sha256"], changed["afr"]["sha256"])


def test_trained_on_comes_from_the_checkpoint(tiny_model, fake_splits, tmp_path):
    train, val = fake_splits
    model = plugin.ReactDiff(checkpoint=str(tiny_model))
    assert model.info.trained_on == {"train": train.identity, "val": val.identity}
    assert model.info.trained_on["train"]["split"] == "train"
    # no file streams: nothing beyond the package's sources, which the harness hashes
    assert model.cache_identity(val) is None
    names = {p.name for p in code_files(plugin.ReactDiff)}
    assert {"plugin.py", "sample.py", "online.py", "cpu_unet.py"} <= names
    shipped = plugin.ReactDiff().info.trained_on
    assert shipped["train"]["generator"]["version"].startswith("synth-")
    assert plugin.ReactDiff(checkpoint=str(tmp_path / "none.pt")).info.trained_on is None


def run_args(data, out, ckpt):
    return ["run", "--model", "reactdiff", "--model-arg", f"checkpoint={ckpt}", "--data",
            str(data), "--split", "test", "--samples", "2", "--out", str(out), "--no-progress",
            "--jobs", "1", "--metrics", "FRCorr"]


def test_changed_feature_files_are_generated_again(tiny_dataset, tmp_path, private_cache,
                                                   capsys):
    """A model with a ``file:`` stream: rewriting its feature files must not reuse the cached
    predictions made from the old ones; the result says what the model was trained on."""
    from reactbench.data import dataset_identity, load_split

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    for split in ("train", "val", "test"):
        s = load_split(data, split, audio=False)
        write_features(data, sorted(set(s.speaker_ids) | set(s.listener_ids)), 4,
                       seed=len(split), frames=s.frames)
    cfg = tiny_config().to_dict()
    cfg["model"]["diffusion_steps"] = 4  # three runs sample the test split: a short schedule
    cfg["model"]["streams"] = [
        {"name": "au", "source": "emotion:au", "group": "video"},
        {"name": "afr", "source": "file:feats", "group": "audio", "width": 4},
    ]
    (tmp_path / "cfg.json").write_text(json.dumps({"model": cfg["model"],
                                                   "train": cfg["train"]}))
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "reactdiff", "--data", str(data), "--out", str(run_dir),
                 "--config", str(tmp_path / "cfg.json"), "--epochs", "1", "--no-progress"]) == 0
    ckpt = run_dir / "model.pt"
    capsys.readouterr()
    test = load_split(data, "test", audio=False)
    preds, reused = {}, {}
    for i in range(3):
        if i == 2:  # the user re-extracts the test features
            write_features(data, test.speaker_ids, 4, value=2.0, frames=test.frames)
        out = tmp_path / f"r{i}"
        assert main(run_args(data, out, ckpt)) == 0, capsys.readouterr().err
        text = capsys.readouterr().out
        rec = read_result(next(out.glob("*.json")))
        reused[i] = rec["predictions"][0]["reused"]
        assert reused[i] is ("reusing cached predictions" in text)
        preds[i] = load_predictions(rec["predictions"][0]["path"]).emotion
    assert reused == {0: False, 1: True, 2: False}
    assert not np.allclose(preds[0], preds[2])
    trained = rec["model"]["trained_on"]
    assert set(trained) == {"train", "val"}
    assert trained["train"]["split"] == "train"
    assert trained["train"]["content_hash"] == dataset_identity(data, "train")["content_hash"]
