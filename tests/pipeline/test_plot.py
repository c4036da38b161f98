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
