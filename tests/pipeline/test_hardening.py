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


def test_cached_predictions_never_cross_models_or_options(tiny_dataset, tmp_path, cli,
                                                          fresh_cache):
    """Two classes sharing a ModelInfo name and version, and one option the model leaves out
    of its params, each get their own predictions."""
    values = {}
    for i, (cls, extra) in enumerate([("Scaled", ["--model-arg", "gain=1.0"]),
                                      ("Scaled", ["--model-arg", "gain=0.2"]),
                                      ("Halved", [])]):
        out = tmp_path / str(i)
        code, text, err = cli(*run_args(tiny_dataset, out, "--model", f"{PLUGINS}:{cls}",
                                        *extra))
        assert code == 0, err
        assert "reusing cached predictions" not in text
        rec = read_result(next(out.glob("*.json")))
        with np.load(rec["predictions"][0]["path"]) as z:
            values[i] = z["emotion"].copy()
    assert not np.allclose(values[0], values[1]) and not np.allclose(values[0], values[2])
    # the same run again reuses its own predictions
    code, text, _ = cli(*run_args(tiny_dataset, tmp_path / "again", "--model",
                                  f"{PLUGINS}:Halved"))
    assert code == 0 and "reusing cached predictions" in text


def test_skip_existing_refuses_a_stored_result_of_another_run(tiny_dataset, tmp_path, cli):
    out = tmp_path / "res"
    assert cli(*run_args(tiny_dataset, out, "--model", "b_mime"))[0] == 0
    (stored,) = out.glob("*.json")
    before = stored.read_bytes()
    # another metric set, another frame count: both differ from the stored run
    code, _, err = cli(*run_args(tiny_dataset, out, "--model", "b_mime", "--skip-existing",
                                 "--metrics", "FRDist", "--frames", "100"))
    assert code == 2 and "is not the run asked for" in err, err
    assert "metrics: stored ['FRCorr', 'FRDist'], asked ['FRDist']" in err
    assert "frames: stored 120, asked 100" in err
    assert stored.read_bytes() == before
    # the same run is kept
    code, text, err = cli(*run_args(tiny_dataset, out, "--model", "b_mime", "--skip-existing"))
    assert code == 0 and "keeping existing result" in text, err
    assert stored.read_bytes() == before


@pytest.mark.parametrize(("flags", "needle"), [
    (["--frames", "-5"], "--frames must be >= 1 (got -5)"),
    (["--frames", "0"], "--frames must be >= 1 (got 0)"),
    (["--bootstrap", "-1"], "--bootstrap must be 0 (no intervals) or >= 2"),
    (["--bootstrap", "1"], "--bootstrap must be 0 (no intervals) or >= 2 resamples (got 1)"),
    (["--bootstrap", "10000000000000"], "--bootstrap 10000000000000: at most 100000"),
    (["--device", "bogus"], "--device must be cpu, cuda or cuda:N (got 'bogus')"),
    (["--jobs", "0"], "--jobs must be -1 (all cores) or >= 1"),
    (["--metrics", ","], "--metrics names no metric"),
    (["--metrics", "FRCorr,FRCorr"], "names ['FRCorr'] more than once"),
    (["--metrics", "FRCor"], "unknown metric(s) ['FRCor']"),
])
@pytest.mark.parametrize("command", ["run", "score"])
def test_shared_flags_are_checked_before_loading(tmp_path, cli, flags, needle, command):
    missing = tmp_path / "no_such_dataset"  # never reached: the flag error comes first
    args = [command, "--data", str(missing), "--out", str(tmp_path / "o"), "--no-progress",
            "--jobs", "1", *flags]
    args += ["--model", "b_mime"] if command == "run" else ["--predictions", str(tmp_path)]
    code, _, err = cli(*args)
    assert code == 2 and needle in err, err


def test_run_refuses_a_repeated_seed(tmp_path, cli):
    code, _, err = cli("run", "--model", "b_mime", "--data", str(tmp_path / "none"), "--out",
                       str(tmp_path / "o"), "--no-progress", "--seed", "0,1,0")
    assert code == 2 and "--seed names [0] more than once" in err, err
    code, _, err = cli("run", "--model", "b_mime", "--data", str(tmp_path / "none"), "--out",
                       str(tmp_path / "o"), "--no-progress", "--seed", "1,-3")
    assert code == 2 and "--seed -3: generation seeds must be integers >= 0" in err, err
    assert not (tmp_path / "o").exists()


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


def test_a_plugin_cannot_take_a_built_in_name(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:CallsItselfGT"))
    assert code == 2 and "calls itself 'gt', the name of the built-in model" in err, err
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model",
                                 "reactbench.baselines.gt:GroundTruth"))
    assert code == 0, err  # the built-in's own class, named by its module path


def test_models_whose_names_map_to_one_file_are_named(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model",
                                 f"{PLUGINS}:SpacedName,{PLUGINS}:DashedName"))
    assert code == 2 and "two models would write the same result file" in err, err
    assert "(model name 'my model')" in err and "(model name 'my-model')" in err
    assert "my-model_offline_test_official_a2_s0.json" in err
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


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


@pytest.mark.parametrize("window", ["120", "100000"])
def test_online_window_covering_the_whole_clip_is_refused(tiny_dataset, tmp_path, cli, window):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime", "--task",
                                 "online", "--window", window))
    assert code == 2 and f"--window {window}: the clips of test hold T = 120 frames" in err, err
    assert not list((tmp_path / "o").glob("*.json"))


def test_samples_beyond_memory_are_refused_before_generating(tiny_dataset, tmp_path, cli,
                                                              monkeypatch):
    from reactbench.harness import generate

    monkeypatch.setattr(generate, "physical_memory", lambda: 2**30)
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime"),
                       "--samples", "100000")
    assert code == 2 and "--samples 100000: the predictions (N, alpha, T, 25) = (8, 100000, " \
        "120, 25) float32 need 8.9 GiB, more than this machine's 1.0 GiB" in err, err
    assert not list((tmp_path / "o").glob("*.json"))
