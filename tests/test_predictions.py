"""Predictions (reactbench.predictions): saved predictions and generated reactions are checked
before any metric runs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from reactbench.data import load_split
from reactbench.predictions import (
    Predictions,
    PredictionsError,
    check_predictions,
    load_predictions,
    save_predictions,
)
from reactbench.results import read_result
from tests.helpers.quick_runs import PLUGINS, run_args
from tests.helpers.runs import mime, score_args


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return load_split(tiny_dataset, "test", audio=False)


def test_score_npy_npz_and_directory_agree(split, tiny_dataset, tmp_path, cli):
    pred = mime(split)
    np.save(tmp_path / "p.npy", pred)
    save_predictions(tmp_path / "p.npz", Predictions(pred, speaker_ids=split.speaker_ids))
    per = tmp_path / "per_speaker"
    for sid, p in zip(split.speaker_ids, pred):
        f = per / f"{sid}.npy"
        f.parent.mkdir(parents=True, exist_ok=True)
        np.save(f, p)
    values = []
    for i, src in enumerate((tmp_path / "p.npy", tmp_path / "p.npz", per)):
        code, out, err = cli(*score_args(tiny_dataset, src, tmp_path / f"o{i}", "--name", "m"))
        assert code == 0, err
        (res,) = (tmp_path / f"o{i}").glob("*.json")
        rec = read_result(res)
        assert rec["kind"] == "score" and rec["alpha"] == 2 and rec["model"]["name"] == "m"
        values.append({k: e["value"] for k, e in rec["metrics"].items()})
    assert values[0] == values[1] == values[2]
    assert values[0]["FRDiv"] == pytest.approx(0, abs=1e-9)


def test_wrong_order_is_reported_before_scoring(split, tiny_dataset, tmp_path, cli, monkeypatch):
    import reactbench.harness.scoring as scoring
    import reactbench.metrics as metrics

    def fail(*a, **k):
        raise AssertionError("a metric ran on invalid predictions")

    monkeypatch.setattr(metrics, "compute_metrics", fail)
    monkeypatch.setattr(scoring, "compute_metrics", fail)
    ids = list(split.speaker_ids)
    ids[0], ids[1] = ids[1], ids[0]
    save_predictions(tmp_path / "p.npz", Predictions(mime(split), speaker_ids=ids))
    code, _, err = cli(*score_args(tiny_dataset, tmp_path / "p.npz", tmp_path / "o"))
    assert code == 2
    assert "rows are in a different order than the split: row 0 holds speaker" in err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p[:4], "predictions have 4 rows; the split has N = 8 mirrored rows (it looks "
                          "like the CSV pairs only"),
        (lambda p: p[:, :, :100], "predictions have 100 frames per clip; the split was loaded "
                                  "with T = 120"),
        (lambda p: p[..., :20], "predictions have 20 columns; expected 25"),
        (lambda p: p[:, 0], "got an array of rank 3"),
        (lambda p: np.where(np.arange(25) == 16, np.nan, p),
         "holds 1920 NaN/inf values (first at index (0, 0, 0, 16))"),
        (lambda p: p + 2.0, "AU columns must lie in [0, 1]"),
    ],
)
def test_bad_predictions_files(mutate, needle, split, tiny_dataset, tmp_path, cli):
    np.save(tmp_path / "p.npy", mutate(mime(split)))
    code, _, err = cli(*score_args(tiny_dataset, tmp_path / "p.npy", tmp_path / "o"))
    assert code == 2
    assert needle in err, err
    assert not list(tmp_path.glob("o/*.json"))


def test_out_of_range_can_be_allowed(split, tiny_dataset, tmp_path, cli):
    np.save(tmp_path / "p.npy", np.clip(mime(split) + 0.01, None, 1.5))
    code, _, err = cli(*score_args(tiny_dataset, tmp_path / "p.npy", tmp_path / "o",
                                   "--allow-out-of-range"))
    assert code == 0, err


def test_per_speaker_directory_problems(split, tmp_path):
    per = tmp_path / "d"
    for sid in split.speaker_ids[1:]:
        f = per / f"{sid}.npy"
        f.parent.mkdir(parents=True, exist_ok=True)
        np.save(f, np.zeros((2, split.frames, 25), np.float32))
    np.save(per / "stray.npy", np.zeros(1))
    with pytest.raises(PredictionsError, match="1 speaker file\\(s\\) missing.*1 file\\(s\\) "
                                               "name no speaker"):
        load_predictions(per, speaker_ids=split.speaker_ids)


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(PredictionsError, match="cannot read predictions"):
        load_predictions(tmp_path / "bad.npy")
    with pytest.raises(PredictionsError, match="do not exist"):
        load_predictions(tmp_path / "missing.npz")
    np.savez(tmp_path / "two.npz", a=np.zeros(1), b=np.zeros(1))
    with pytest.raises(PredictionsError, match="no predictions array"):
        load_predictions(tmp_path / "two.npz")


def test_directory_with_both_whole_files_is_ambiguous(tmp_path):
    np.save(tmp_path / "predictions.npy", np.zeros((2, 1, 5, 25), np.float32))
    np.savez(tmp_path / "predictions.npz", emotion=np.ones((2, 1, 5, 25), np.float32))
    with pytest.raises(PredictionsError, match="holds both predictions.npz and predictions.npy"):
        load_predictions(tmp_path)
    (tmp_path / "predictions.npy").unlink()
    assert load_predictions(tmp_path).emotion.max() == 1


def test_3dmm_shape_checked(split):
    p = Predictions(mime(split), face_3dmm=np.zeros((8, 2, 120, 57), np.float32))
    with pytest.raises(PredictionsError, match=r"3DMM predictions have shape \(8, 2, 120, 57\)"):
        check_predictions(p, n=8, frames=120)


def test_a_results_directory_names_the_predictions_its_runs_saved(tiny_dataset, tmp_path, cli):
    runs = tmp_path / "runs"
    code, _, err = cli("run", "--model", "b_mime", "--data", tiny_dataset, "--samples", "2",
                       "--out", runs, "--no-progress", "--jobs", "1", "--metrics", "FRDist")
    assert code == 0, err
    (rec,) = [read_result(p) for p in runs.glob("*.json")]
    code, _, err = cli(*score_args(tiny_dataset, runs, tmp_path / "o"))
    assert code == 2
    assert f"{runs} holds result files, not predictions" in err
    assert f"b_mime seed 0: {rec['predictions'][0]['path']}" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli(*score_args(tiny_dataset, empty, tmp_path / "o"))
    assert code == 2 and "directory holds no .npy/.npz predictions" in err


@pytest.mark.parametrize(("cls", "needle"), [
    ("Complex", "got dtype complex64 (complex)"),
    ("Text", "(text)"),
    ("Bools", "got dtype bool (bool)"),
])
def test_reactions_of_a_non_real_dtype_are_refused(tiny_dataset, tmp_path, cli, cls, needle):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:{cls}"))
    assert code == 2 and "must be real numbers" in err and needle in err, err
    assert not list(tmp_path.glob("*.json"))


def test_predictions_that_are_no_regular_file_are_clear_errors(tmp_path):
    os.mkfifo(tmp_path / "fifo.npy")  # reading it would block forever
    with pytest.raises(PredictionsError, match="fifo.npy: not a regular file"):
        load_predictions(tmp_path / "fifo.npy")
    (tmp_path / "loop.npz").symlink_to(tmp_path / "loop.npz")
    with pytest.raises(PredictionsError, match="symbolic link to a missing file"):
        load_predictions(tmp_path / "loop.npz")


def test_packed_and_plain_files_load_bit_identically_and_score_the_same(split, tiny_dataset,
                                                                        tmp_path, cli):
    """save_predictions packs by default (binary AU columns as bits, byte planes); files in
    the plain form (``emotion`` float32, as older runs and other tools write them) still load
    and score the same."""
    import zipfile

    from reactbench.predictions import load_saved, predictions_size

    pred = mime(split)
    pred[:, 1, :, 3] = 0.5  # one AU column that is not binary
    face = np.random.default_rng(0).normal(size=(*pred.shape[:3], 58)).astype(np.float32)
    preds = Predictions(pred, face_3dmm=face, speaker_ids=split.speaker_ids)
    packed = save_predictions(tmp_path / "packed.npz", preds, {"model": "m"})
    plain = save_predictions(tmp_path / "plain.npz", preds, {"model": "m"}, packed=False)
    with zipfile.ZipFile(packed) as zf:
        assert "emotion.npy" not in zf.namelist() and "layout.npy" in zf.namelist()
    with np.load(plain) as z:
        np.testing.assert_array_equal(z["emotion"], pred)
    small = save_predictions(tmp_path / "e.npz", Predictions(pred))  # binary AUs as bits
    assert small.stat().st_size < 0.5 * pred.nbytes
    for path in (packed, plain):
        back, meta = load_saved(path)
        assert meta == {"model": "m"} and back.speaker_ids == list(split.speaker_ids)
        for got, want in ((back.emotion, pred), (back.face_3dmm, face)):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
        size, what = predictions_size(path)
        assert size >= pred.nbytes + face.nbytes and str(pred.shape) in what
    values = []
    for i, src in enumerate((packed, plain)):
        code, _, err = cli(*score_args(tiny_dataset, src, tmp_path / f"o{i}", "--name", "m"))
        assert code == 0, err
        (res,) = (tmp_path / f"o{i}").glob("*.json")
        values.append({k: e["value"] for k, e in read_result(res)["metrics"].items()})
    assert values[0] == values[1]


def test_damaged_packed_file_is_a_clear_error(split, tmp_path):
    path = save_predictions(tmp_path / "p.npz", Predictions(mime(split)))
    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    members["emotion.b3"] = members["emotion.b3"][:-3]
    with open(path, "wb") as fh:
        np.savez(fh, **members)
    with pytest.raises(PredictionsError, match=r"p\.npz: cannot read predictions .*emotion\.b3"):
        load_predictions(path)
