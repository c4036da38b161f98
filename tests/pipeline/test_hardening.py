"""Bad input to `reactbench run` / `score` that once slipped through: dtypes, ModelInfo,
repeated options, online frame counts, stale --skip-existing results, the predictions cache
key, and flags checked before any data is loaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from reactbench.registry import parse_model_args
from reactbench.results import read_result

PLUGINS = Path(__file__).resolve().parent / "hardening_plugins.py"
ALPHA = 2


def run_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--data", str(data), "--samples", str(ALPHA), "--out", str(out),
            "--no-progress", "--jobs", "1", "--metrics", "FRCorr,FRDist", *extra]


@pytest.mark.parametrize(("cls", "needle"), [
    ("Complex", "got dtype complex64 (complex)"),
    ("Text", "(text)"),
    ("Bools", "got dtype bool (bool)"),
])
def test_reactions_of_a_non_real_dtype_are_refused(tiny_dataset, tmp_path, cli, cls, needle):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:{cls}"))
    assert code == 2 and "must be real numbers" in err and needle in err, err
    assert not list(tmp_path.glob("*.json"))


def test_online_mode_checks_the_frames_offline_generate_returns(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:ExtraFrames",
                                 "--task", "online", "--window", "40"))
    assert code == 2 and "'extra_frames': generate returned reactions of shape" in err, err
    assert "for a prefix of 40 speaker frames" in err


@pytest.mark.parametrize(("cls", "needle"), [
    ("DictInfo", "`info` is a dict; expected reactbench.models.ModelInfo("),
    ("EmptyName", "ModelInfo.name must be a non-empty string"),
    ("IntVersion", "ModelInfo.version must be a non-empty string such as '1'; got 2"),
    ("NanParam", "ModelInfo.params.gain is nan, not a finite number"),
    ("ObjectParam", "ModelInfo.params.fn holds <object object"),
])
def test_a_malformed_model_info_is_refused_before_any_work(tiny_dataset, tmp_path, cli, cls,
                                                           needle):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:{cls}"))
    assert code == 2 and needle in err, err
    assert "data:" not in err and not tmp_path.exists() or not list(tmp_path.iterdir())


def test_a_plain_class_without_fit_or_info_runs(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path,
                                 "--model", f"{PLUGINS}:PlainClass,{PLUGINS}:NoInfo"))
    assert code == 0, err
    names = sorted(read_result(p)["model"]["name"] for p in tmp_path.glob("*.json"))
    assert names == ["NoInfo", "PlainClass"]


def test_repeated_model_args_are_refused_and_model_form_wins():
    spec = f"{PLUGINS}:Scaled"
    with pytest.raises(ValueError, match="already set by 'gain=1'; give each option once"):
        parse_model_args(["gain=1", "gain=2"], [spec])
    with pytest.raises(ValueError, match="already set by"):
        parse_model_args([f"{spec}@gain=1", f"{spec}@gain=2"], [spec])
    both = [f"{spec}@gain=3", "gain=2"], ["gain=2", f"{spec}@gain=3"]
    for args in both:
        assert parse_model_args(args, [spec]) == {spec: {"gain": "3"}}


def test_score_names_the_predictions_alpha_for_frdiv(tiny_dataset, tmp_path, cli):
    from reactbench.data import load_split

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


def test_realism_features_recorded_only_with_frrea(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", "b_mime",
                                 "--realism-3dmm"))
    assert code == 0, err
    assert read_result(next(tmp_path.glob("*.json")))["realism_features"] is None


@pytest.mark.parametrize("command", ["run", "score"])
def test_out_naming_a_file_is_refused_before_any_work(tiny_dataset, tmp_path, cli, command):
    out = tmp_path / "afile"
    out.write_text("not a directory")
    args = [command, "--data", str(tiny_dataset), "--out", str(out), "--jobs", "1"]
    args += ["--model", "b_mime"] if command == "run" else ["--predictions", str(tmp_path)]
    code, _, err = cli(*args)
    assert code == 2 and f"results directory {out} is an existing file" in err, err
    assert out.read_text() == "not a directory"


def _score(data: Path, pred: Path, out: Path, *extra: str) -> tuple:
    return ("score", "--predictions", pred, "--data", data, "--out", out, "--no-progress",
            "--jobs", "1", "--metrics", "FRCorr", *extra)


@pytest.fixture
def mime_file(tiny_dataset, tmp_path) -> Path:
    from reactbench.data import load_split

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


def test_predictions_that_are_no_regular_file_are_clear_errors(tmp_path):
    from reactbench.predictions import PredictionsError, load_predictions

    os.mkfifo(tmp_path / "fifo.npy")  # reading it would block forever
    with pytest.raises(PredictionsError, match="fifo.npy: not a regular file"):
        load_predictions(tmp_path / "fifo.npy")
    (tmp_path / "loop.npz").symlink_to(tmp_path / "loop.npz")
    with pytest.raises(PredictionsError, match="symbolic link to a missing file"):
        load_predictions(tmp_path / "loop.npz")


