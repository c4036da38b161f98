"""`reactbench score` on saved predictions: the options it checks, what it records, and result
files it will not replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactbench.data import load_split
from reactbench.results import read_result
from tests.helpers.quick_runs import ALPHA
from tests.helpers.runs import mime, score_args


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return load_split(tiny_dataset, "test", audio=False)


def test_score_refuses_existing_result(split, tiny_dataset, tmp_path, cli):
    np.save(tmp_path / "p.npy", mime(split))
    assert cli(*score_args(tiny_dataset, tmp_path / "p.npy", tmp_path / "o"))[0] == 0
    (res,) = (tmp_path / "o").glob("*.json")
    before = res.read_bytes()
    code, _, err = cli(*score_args(tiny_dataset, tmp_path / "p.npy", tmp_path / "o"))
    assert code == 2 and "already holds a result" in err
    assert res.read_bytes() == before
    assert Path(res).parent.joinpath(res.name).exists()


def test_score_names_the_predictions_alpha_for_frdiv(tiny_dataset, tmp_path, cli):
    n = load_split(tiny_dataset, "test", audio=False, neighbours=False).n
    preds = np.full((n, 1, 120, 25), 0.5, dtype=np.float32)
    np.save(tmp_path / "p.npy", preds)
    code, _, err = cli("score", "--predictions", tmp_path / "p.npy", "--data", tiny_dataset,
                       "--metrics", "FRDiv", "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2 and "predictions with alpha (the second axis) >= 2 (got 1)" in err, err
    np.save(tmp_path / "c.npy", preds.astype(np.complex64))
    code, _, err = cli("score", "--predictions", tmp_path / "c.npy", "--data", tiny_dataset,
                       "--metrics", "FRCorr", "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2 and "got dtype complex64 (complex)" in err, err


def _score(data: Path, pred: Path, out: Path, *extra: str) -> tuple:
    return ("score", "--predictions", pred, "--data", data, "--out", out, "--no-progress",
            "--jobs", "1", "--metrics", "FRCorr", *extra)


@pytest.fixture
def mime_file(tiny_dataset, tmp_path) -> Path:
    split = load_split(tiny_dataset, "test", audio=False, neighbours=False)
    path = tmp_path / "p.npy"
    np.save(path, np.repeat(split.speaker_emotion[:, None], ALPHA, axis=1))
    return path


def test_score_online_records_the_declared_window(tiny_dataset, tmp_path, cli, mime_file):
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "a", "--task", "online"))
    assert code == 2 and "score --task online needs --window W" in err, err
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "b", "--window", "25"))
    assert code == 2 and "--window 25 applies to --task online only" in err, err
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "c", "--task", "online",
                               "--window", "0"))
    assert code == 2 and "--window must be an integer >= 1 frame (got 0)" in err, err
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "d", "--task", "online",
                               "--window", "25"))
    assert code == 0, err
    rec = read_result(next((tmp_path / "d").glob("*.json")))
    assert rec["task"] == "online" and rec["window"] == 25 and rec["causality"] is None


def test_score_refuses_a_whole_clip_window_and_a_negative_seed(tiny_dataset, tmp_path, cli,
                                                                mime_file):
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "a", "--task", "online",
                               "--window", "500"))
    assert code == 2 and "--window 500: the clips of test hold T = 120 frames" in err, err
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "b", "--seed", "-1",
                               "--bootstrap", "3"))
    assert code == 2 and "--seed -1: the bootstrap seed must be an integer >= 0" in err, err
    for name in ("", "  "):
        code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "c", "--name", name))
        assert code == 2 and f"--name {name!r}: expected a model name with some text" in err, err
    assert not list(tmp_path.glob("*/*.json"))


def test_score_records_the_bootstrap_seed_and_b(tiny_dataset, tmp_path, cli, mime_file):
    code, _, err = cli(*_score(tiny_dataset, mime_file, tmp_path / "o", "--seed", "7",
                               "--bootstrap", "3"))
    assert code == 0, err
    rec = read_result(next((tmp_path / "o").glob("*.json")))
    assert rec["bootstrap_seed"] == 7 and rec["bootstrap"] == 3
    assert rec["metrics"]["FRCorr"]["ci"] is not None


def test_score_names_clash_and_long_names(tiny_dataset, tmp_path, cli, mime_file):
    out = tmp_path / "o"
    assert cli(*_score(tiny_dataset, mime_file, out, "--name", "my model"))[0] == 0
    code, _, err = cli(*_score(tiny_dataset, mime_file, out, "--name", "my-model"))
    assert code == 2 and "already holds a result of model 'my model'" in err, err
    assert "maps to the same file name as 'my-model'" in err
    long_name = "model-" * 60
    code, _, err = cli(*_score(tiny_dataset, mime_file, out, "--name", long_name))
    assert code == 0, err
    (path,) = [p for p in out.glob("*.json") if p.name.startswith("model-")]
    assert len(path.name) < 150 and read_result(path)["model"]["name"] == long_name
