"""`reactbench score` on saved predictions: the options it checks, what it records, and result
files it will not replace."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from reactbench.cli import main as cli_main
from reactbench.clip_predictions import RaggedPredictions, save_ragged
from reactbench.data import load_split
from reactbench.data import mars_layout as ml
from reactbench.data.mars import load_clips
from reactbench.data.targets import ids_sha256
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


# ----------------------------------------------------------------------------- --targets
@pytest.fixture(scope="module")
def mars(tmp_path_factory, cli_module):
    """A tiny MARS-layout synthetic dataset made by `reactbench data synth --layout mars`
    (2 sessions, 2 test dyads each, 58..300 frames)."""
    out = tmp_path_factory.mktemp("mars-score") / "mars"
    code, _, err = cli_module("data", "synth", "--layout", "mars", "--out", out, "--sessions",
                              "2", "--dyads", "train=1,val=1,test=2", "--lengths", "58:300")
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def cli_module():
    """``cli`` for module-scoped fixtures: (exit code, stdout, stderr)."""

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main([str(a) for a in args])
        return code, out.getvalue(), err.getvalue()

    return run


@pytest.fixture(scope="module")
def mars_predictions(mars, tmp_path_factory) -> Path:
    """Saved predictions (alpha 3) for every sample of the test split under react2025."""
    data = load_clips(mars, "test", bidirectional=True, audio=False)
    rng = np.random.default_rng(0)
    preds = [np.clip(np.repeat(s[None], 3, axis=0)
                     + rng.normal(0, 0.2, (3, *s.shape)).astype(np.float32), 0, 1)
             for s in data.speaker_emotion]
    path = tmp_path_factory.mktemp("mars-pred") / "pred.npz"
    return save_ragged(path, RaggedPredictions(preds, None, data.sample_ids))


def _rescore(cli, mars, pred, out, *extra):
    return cli("score", "--protocol", "react2025", "--data", mars, "--predictions", pred,
               "--out", out, "--no-progress", "--jobs", "1", "--metrics", "FRCorr,FRDist,MAE",
               *extra)


def _write_doc(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_score_against_the_targets_of_an_earlier_run(cli, mars, mars_predictions, tmp_path):
    code, _, err = _rescore(cli, mars, mars_predictions, tmp_path / "first")
    assert code == 0, err
    (first,) = (tmp_path / "first").glob("*_react2025_a3.json")
    rec = read_result(first)
    tfile = tmp_path / "first" / rec["targets"]["file"]
    # by the targets file, and by the result file that names it: the same ids, the same numbers
    for i, given in enumerate((tfile, first)):
        code, out, err = _rescore(cli, mars, mars_predictions, tmp_path / f"again{i}",
                                  "--targets", given)
        assert code == 0, err
        again = read_result(next((tmp_path / f"again{i}").glob("*_react2025_a3.json")))
        assert again["targets"]["ids_sha256"] == rec["targets"]["ids_sha256"]
        assert again["targets"]["deviation"] == rec["targets"]["deviation"]
        assert {m: e["value"] for m, e in again["metrics"].items()} == \
            {m: e["value"] for m, e in rec["metrics"].items()}
        assert again["command"][-2:] == ["--targets", str(given)]
    # other (valid) ids are used as given, not drawn again: MAE reads the first alpha targets
    doc = json.loads(tfile.read_text())
    for s in doc["samples"]:
        s["targets"] = s["targets"][:1] * len(s["targets"])  # the paired listener K times
    doc["ids_sha256"] = ids_sha256([s["targets"] for s in doc["samples"]])
    other = _write_doc(tmp_path / "other.targets.json", doc)
    code, _, err = _rescore(cli, mars, mars_predictions, tmp_path / "other", "--targets", other)
    assert code == 0, err
    rec2 = read_result(next((tmp_path / "other").glob("*_react2025_a3.json")))
    assert rec2["targets"]["ids_sha256"] == doc["ids_sha256"] != rec["targets"]["ids_sha256"]
    assert rec2["metrics"]["MAE"]["value"] != rec["metrics"]["MAE"]["value"]
    written = json.loads((tmp_path / "other" / rec2["targets"]["file"]).read_text())
    assert [s["targets"] for s in written["samples"]] == [s["targets"] for s in doc["samples"]]


def test_score_refuses_targets_of_another_dataset_split_or_clip_list(cli, mars,
                                                                     mars_predictions, tmp_path):
    code, _, err = _rescore(cli, mars, mars_predictions, tmp_path / "first")
    assert code == 0, err
    first = next((tmp_path / "first").glob("*_react2025_a3.json"))
    tfile = tmp_path / "first" / read_result(first)["targets"]["file"]
    doc = json.loads(tfile.read_text())

    def refused(out: str, *extra, data=mars, protocol="react2025") -> str:
        code, _, err = cli("score", "--protocol", protocol, "--data", data, "--predictions",
                           mars_predictions, "--out", tmp_path / out, "--no-progress",
                           "--jobs", "1", "--metrics", "FRCorr", *extra)
        assert code == 2, err
        assert not (tmp_path / out).exists() or not any((tmp_path / out).iterdir())
        return err

    err = refused("split", "--targets", tfile, "--split", "val")
    assert f"--targets {tfile}: written for split 'test', not 'val'; pass --split test" in err
    err = refused("roles", "--targets", tfile, protocol="react2026")
    assert f"--targets {tfile}: lists {len(doc['samples'])} samples" in err
    assert "written under protocol 'react2025', scored under 'react2026'" in err
    copy = tmp_path / "copy"
    shutil.copytree(mars, copy)
    cid = doc["samples"][0]["targets"][1]
    path = ml.clip_path(copy, "test", ml.ATTRIBUTES_DIR, cid)
    x = np.load(path)
    x[5, 15] = -x[5, 15] if x[5, 15] else 0.5
    np.save(path, x)
    err = refused("data", "--targets", tfile, data=copy)
    assert f"--targets {tfile}: its clips' facial attributes in" in err
    assert "another dataset or changed attribute files" in err
    edited = json.loads(tfile.read_text())
    edited["samples"][0]["targets"][1] = edited["samples"][0]["targets"][0]  # hash not updated
    err = refused("edited", "--targets", _write_doc(tmp_path / "e.targets.json", edited))
    assert "(the file was edited); nothing was scored" in err
    moved = json.loads(tfile.read_text())
    moved["samples"] = moved["samples"][1:] + moved["samples"][:1]  # another clip order
    moved["ids_sha256"] = ids_sha256([s["targets"] for s in moved["samples"]])
    err = refused("order", "--targets", _write_doc(tmp_path / "o.targets.json", moved))
    assert "first difference at sample 0" in err
    err = refused("align", "--targets", tfile, "--gt-align", "emotionvae",
                  "--gt-align-checkpoint", tmp_path / "none.pth")
    assert "targets aligned with 'linear', not 'emotionvae'; pass --gt-align linear" in err
    err = refused("missing", "--targets", tmp_path / "nothing.json")
    assert f"--targets {tmp_path / 'nothing.json'}: file not found" in err
    err = refused("folder", "--targets", tmp_path / "first")
    assert f"--targets {tmp_path / 'first'}: is a folder; expected the .targets.json file" in err
    replaced = tmp_path / "run-copy"
    shutil.copytree(tmp_path / "first", replaced)
    _write_doc(replaced / tfile.name, moved | {"ids_sha256": "0" * 64})
    err = refused("replaced", "--targets", replaced / first.name)
    assert "the file was replaced or edited" in err
    err = refused("2024", "--targets", tfile, protocol="official")
    assert "scores against the neighbour matrix of the split" in err
