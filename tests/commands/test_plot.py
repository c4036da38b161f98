"""`reactbench plot`: a PNG for one speaker row, from a result file or a predictions file."""

from __future__ import annotations

import numpy as np

from reactbench.data import load_split

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_from_result_and_from_predictions(tiny_dataset, tmp_path, cli):
    code, _, err = cli("run", "--model", "b_nn", "--data", tiny_dataset, "--samples", "2",
                       "--out", tmp_path / "r", "--no-progress", "--jobs", "1")
    assert code == 0, err
    (res,) = (tmp_path / "r").glob("*.json")
    code, out, err = cli("plot", res, "--speaker", "3", "--out", tmp_path / "a.png")
    assert code == 0, err
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG

    split = load_split(tiny_dataset, "test", audio=False)
    np.save(tmp_path / "p.npy", np.repeat(split.speaker_emotion[:, None], 2, axis=1))
    code, _, err = cli("plot", tmp_path / "p.npy", "--data", tiny_dataset, "--speaker", "0",
                       "--out", tmp_path / "b.png")
    assert code == 0, err
    assert (tmp_path / "b.png").read_bytes()[:8] == PNG


def test_plot_bad_row(tiny_dataset, tmp_path, cli):
    split = load_split(tiny_dataset, "test", audio=False)
    np.save(tmp_path / "p.npy", np.repeat(split.speaker_emotion[:, None], 2, axis=1))
    code, _, err = cli("plot", tmp_path / "p.npy", "--data", tiny_dataset, "--speaker", "99",
                       "--out", tmp_path / "b.png")
    assert code == 2 and "--speaker 99: the split has rows 0..7" in err
    assert not (tmp_path / "b.png").exists()
    code, _, err = cli("plot", tmp_path / "p.npy", "--data", tiny_dataset, "--speaker", "0",
                       "--out", "")
    assert code == 2 and "--out is empty; give a PNG path, or omit --out for p_speaker0.png" in err


def _preds(tiny_dataset, tmp_path, split="test", **extra):
    """A predictions .npz of the split's speaker behaviour (alpha 2), with its speaker ids."""
    data = load_split(tiny_dataset, split, audio=False)
    emo = np.repeat(data.speaker_emotion[:, None], 2, axis=1)
    path = tmp_path / f"{split}.npz"
    np.savez(path, emotion=emo, speaker_ids=np.asarray(data.speaker_ids), **extra)
    return path, emo


def test_plot_never_replaces_a_png_without_force(tiny_dataset, tmp_path, cli, monkeypatch):
    path, _ = _preds(tiny_dataset, tmp_path)
    (tmp_path / "a.png").write_bytes(b"old")
    args = ("plot", path, "--data", tiny_dataset, "--speaker", "0")
    code, _, err = cli(*args, "--out", tmp_path / "a.png")
    assert code == 2 and "a.png already exists; not replaced (pass --force" in err
    assert (tmp_path / "a.png").read_bytes() == b"old"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test_speaker0.png").write_bytes(b"old")  # the default name
    code, _, err = cli(*args)
    assert code == 2 and "test_speaker0.png already exists" in err
    code, _, err = cli(*args, "--out", tmp_path / "a.png", "--force")
    assert code == 0, err
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG
    code, _, err = cli(*args, "--out", tmp_path)
    assert code == 2 and "is a directory" in err
    code, _, err = cli(*args, "--out", tmp_path / "a.png" / "b.png")
    assert code == 2 and "a.png is a file, not a directory" in err


def test_plot_refuses_predictions_that_do_not_fit_the_split(tiny_dataset, tmp_path, cli):
    path, emo = _preds(tiny_dataset, tmp_path)
    base = ("plot", "--data", tiny_dataset, "--speaker", "0", "--out", tmp_path / "x.png")
    code, _, err = cli(*base[:1], path, *base[1:], "--split", "val")  # test rows, val speakers
    assert code == 2 and "speaker_ids do not match the split" in err
    np.save(tmp_path / "short.npy", emo[:, :, :-10])
    code, _, err = cli(*base[:1], tmp_path / "short.npy", *base[1:])
    assert code == 2 and f"{emo.shape[2] - 10} frames per clip" in err
    emo[3, 1, 5, 16] = np.nan
    np.save(tmp_path / "nan.npy", emo)
    code, _, err = cli(*base[:1], tmp_path / "nan.npy", *base[1:])
    assert code == 2 and "NaN/inf" in err
    for g, needle in (("0", "draw at least 1"), ("-3", "draw at least 1"),
                      ("5", "the predictions hold only 2")):
        code, _, err = cli(*base[:1], path, *base[1:], "--generations", g)
        assert code == 2 and f"--generations {g}: {needle}" in err
    assert not (tmp_path / "x.png").exists()


def test_default_png_names_of_long_model_names_and_stems_are_bounded(tiny_dataset, tmp_path,
                                                                      cli, monkeypatch):
    from reactbench.results import NAME_PART_MAX, write_result
    from tests.helpers.records import record, values

    long_stem = "p" * 250  # + "_speaker0.png" would pass the usual 255-byte name limit
    path, _ = _preds(tiny_dataset, tmp_path)
    path = path.rename(tmp_path / f"{long_stem}.npz")
    rec = record("m" * 300, values(1, 2, 3, 4, 5, 6, 7))
    frames = load_split(tiny_dataset, "test", audio=False).frames
    rec["dataset"].update(root=str(tiny_dataset), frames=frames)
    rec["predictions"] = [{"seed": 0, "path": str(path), "key": "k", "reused": False}]
    result = write_result(rec, tmp_path / "r.json")
    (tmp_path / "plots").mkdir()
    monkeypatch.chdir(tmp_path / "plots")  # default PNG names land here
    for args in ((path, "--data", tiny_dataset), (result,)):
        code, _, err = cli("plot", *args, "--speaker", "0")
        assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert [n[0] for n in names] == ["m", "p"]
    assert all(n.endswith("_speaker0.png") and len(n) <= NAME_PART_MAX + 13 for n in names)


def test_without_matplotlib_plot_names_the_extra_before_reading_data(tiny_dataset, tmp_path, cli,
                                                                      monkeypatch):
    import sys

    split = load_split(tiny_dataset, "test", audio=False)
    np.save(tmp_path / "p.npy", np.repeat(split.speaker_emotion[:, None], 2, axis=1))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    calls = []
    monkeypatch.setattr("reactbench.plotting.load_split", lambda *a, **k: calls.append(a))
    code, _, err = cli("plot", tmp_path / "p.npy", "--data", tiny_dataset, "--speaker", "0",
                       "--out", tmp_path / "b.png")
    assert code == 2 and "pip install 'reactbench[plot]'" in err and "matplotlib" in err
    assert not calls and not (tmp_path / "b.png").exists()
