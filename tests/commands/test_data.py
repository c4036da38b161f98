"""``reactbench data synth|check|summary`` and the default dataset, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.cli import main
from reactbench.data import default_dataset, layout, resolve_data
from reactbench.data import synthetic as synth
from reactbench.errors import DataError


@pytest.fixture
def small_default(monkeypatch, tmp_path):
    """The default dataset shrunk to one 750-frame test pair, in a private cache."""
    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(synth, "DEFAULT_PAIRS", {"test": 1})
    return tmp_path / "cache"


def test_default_dataset_generated_once_and_reused(small_default):
    root = resolve_data(None)
    assert root == default_dataset()
    assert root.parent == small_default / "synthetic"
    assert root.name == f"{synth.GENERATOR_VERSION}-seed0"
    stamp = (root / synth.META_FILE).stat().st_mtime_ns
    assert default_dataset() == root and (root / synth.META_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_summary_on_default_dataset(small_default, capsys):
    assert main(["data", "summary"]) == 0
    out = capsys.readouterr().out
    assert "N = 2 mirrored rows" in out and "T = 750" in out and "neighbours mean" in out


def test_resolve_data_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        resolve_data(tmp_path / "missing")
    with pytest.raises(DataError, match="train.csv, val.csv or test.csv"):
        resolve_data(tmp_path)


def test_synth_check_summary(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "synth", "--out", str(out), "--pairs", "train=2,test=2", "--frames",
                 "100", "--seed", "5"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.csv")) == ["test.csv", "train.csv"]
    assert main(["data", "check", str(out)]) == 0
    assert "no problems" in capsys.readouterr().out
    assert main(["data", "summary", "--data", str(out), "--split", "test"]) == 0
    assert "M = 2 pairs" in capsys.readouterr().out
    # damage two files: check lists both and exits 1
    np.save(layout.neighbour_path(out, "test"), np.eye(3))
    face = layout.face_path(out, "train", layout.read_split_csv(out, "train")[0][0])
    np.save(face, np.zeros((100, 3)))
    assert main(["data", "check", str(out)]) == 1
    text = capsys.readouterr().out
    assert str(face) in text and "neighbour_emotion_test.npy" in text and "2 problem(s)" in text
    assert main(["data", "summary", "--data", str(out)]) == 1


def test_synth_refuses_existing_and_bad_pairs(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    assert main(["data", "synth", "--out", str(tmp_path / "x")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "synth", "--out", str(tmp_path / "y"), "--pairs", "dev=1"]) == 2
    assert "unknown split" in capsys.readouterr().err


@pytest.mark.parametrize("argv, match", [
    (["--pairs", ""], "--pairs ''"), (["--pairs", "test=2,test=3"], "given twice"),
    (["--contexts", "0"], "--contexts 0"), (["--contexts", "-1"], "--contexts -1"),
    (["--frames", "100000000000"], "expected at most 90000 frames"),
    (["--pairs", "train=100000000000"], "expected at most 100000 pairs per split")])
def test_synth_bad_arguments_exit_2(tmp_path, capsys, argv, match):
    assert main(["data", "synth", "--out", str(tmp_path / "d"), "--frames", "100", *argv]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("frames", ["0", "-5"])
def test_check_and_summary_refuse_bad_frames(tmp_path, capsys, frames):
    assert main(["data", "check", str(tmp_path), "--frames", frames]) == 2
    assert f"--frames {frames}" in capsys.readouterr().err
    assert main(["data", "summary", "--data", str(tmp_path), "--frames", frames]) == 2


@pytest.mark.parametrize(("out", "needle"), [
    ("file/sub", "cannot be created, "), ("", "--out is empty")])
def test_synth_bad_out_exit_2(tmp_path, capsys, monkeypatch, out, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("")
    assert main(["data", "synth", "--out", out, "--frames", "100", "--pairs", "test=1"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
