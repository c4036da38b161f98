"""Neighbour matrices from speaker similarity: properties, statistics, precision/recall, CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reactbench.cli import main
from reactbench.data import layout, load_split
from reactbench.data.appropriate import (
    appropriate_split,
    build_neighbours,
    neighbour_stats,
    neighbours_from_similarity,
    precision_recall,
    speaker_similarity,
    threshold_for_k,
)
from reactbench.data.synthetic import read_truth
from reactbench.errors import DataError


def _sym(n, seed):
    a = np.random.default_rng(seed).uniform(-1, 1, (n, n))
    s = (a + a.T) / 2
    np.fill_diagonal(s, 1.0)
    return s


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 1000), k=st.floats(1, 30))
def test_target_k_matrix_is_symmetric_with_unit_diagonal(n, seed, k):
    k = min(k, n)
    nb = neighbours_from_similarity(_sym(n, seed), target_k=k)
    st_ = neighbour_stats(nb)
    assert st_["symmetric"] and st_["diagonal_ones"] and st_["min"] >= 1
    assert set(np.unique(nb)) <= {0.0, 1.0} and nb.dtype == np.float64
    assert abs(st_["mean"] - k) <= 2.0 / n + 1e-9  # one pair more or less than the target


@settings(max_examples=20, deadline=None)
@given(x=arrays(np.float64, (6, 30, 4), elements=st.floats(-5, 5)))
def test_similarity_is_bounded_symmetric(x):
    s = speaker_similarity(x)
    assert s.shape == (6, 6) and np.allclose(s, s.T)
    assert np.all(np.diag(s) == 1) and np.all(np.abs(s) <= 1 + 1e-9)


def test_similar_speakers_are_neighbours():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 100, 25))
    x = np.concatenate([base[0] + 0.1 * rng.normal(size=(3, 100, 25)),
                        base[1] + 0.1 * rng.normal(size=(3, 100, 25))])
    nb = neighbours_from_similarity(speaker_similarity(x), target_k=3)
    truth = np.kron(np.eye(2), np.ones((3, 3)))
    assert precision_recall(nb, truth)["precision"] == 1.0
    np.testing.assert_array_equal(nb, truth)


def test_threshold_and_errors():
    s = _sym(5, 1)
    nb = neighbours_from_similarity(s, threshold=1.0)
    np.testing.assert_array_equal(nb, np.eye(5))
    np.testing.assert_array_equal(neighbours_from_similarity(s), (s >= 0.5) | np.eye(5, dtype=bool))
    np.testing.assert_array_equal(neighbours_from_similarity(s, target_k=1), np.eye(5))
    assert threshold_for_k(s, 1) > s[~np.eye(5, dtype=bool)].max()
    with pytest.raises(DataError, match="not both"):
        neighbours_from_similarity(s, threshold=0.1, target_k=2)
    with pytest.raises(DataError, match=r"\[-1, 1\]"):
        neighbours_from_similarity(s, threshold=2.0)
    with pytest.raises(DataError, match="between 1 and N = 5"):
        neighbours_from_similarity(s, target_k=9)
    with pytest.raises(DataError, match="square"):
        neighbours_from_similarity(np.ones((2, 3)))


def test_precision_recall_by_hand():
    truth = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    nb = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1]])
    r = precision_recall(nb, truth)
    assert r["precision"] == pytest.approx(0.5) and r["recall"] == 1.0
    with pytest.raises(DataError, match="shape"):
        precision_recall(nb, np.eye(2))


def test_build_on_tiny_dataset(tiny_dataset):
    d = load_split(tiny_dataset, "test", neighbours=False)
    nb = build_neighbours(d, target_k=2)
    assert nb.shape == (d.n, d.n) and neighbour_stats(nb)["symmetric"]


def test_appropriate_split_writes_and_refuses_overwrite(tiny_dataset, tmp_path):
    import shutil

    root = shutil.copytree(tiny_dataset, tmp_path / "d")
    target = layout.neighbour_path(root, "test")
    with pytest.raises(DataError, match="pass force to replace it"):
        appropriate_split(root, "test", target_k=2)
    rep = appropriate_split(root, "test", target_k=2, force=True)
    assert rep["written"] and rep["truth"]["precision"] >= 0.0
    np.testing.assert_array_equal(np.load(target), rep["neighbours"])
    # train has no neighbour file: written at the official name
    rep = appropriate_split(root, "train", threshold=0.3)
    assert layout.neighbour_path(root, "train").is_file()
    assert rep["truth"] is not None and rep["stats"]["n"] == 12
    assert load_split(root, "train").neighbours.shape == (12, 12)


def test_cli_appropriate(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "nb.npy"
    code = main(["appropriate", "--data", str(tiny_dataset), "--split", "val", "--target-k", "2",
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and out.is_file()
    assert "precision" in text and "symmetric: yes" in text
    assert np.load(out).shape == read_truth(tiny_dataset, "val").shape
    code = main(["appropriate", "--data", str(tiny_dataset), "--split", "val", "--no-write"])
    assert code == 0 and "not written" in capsys.readouterr().out
    code = main(["appropriate", "--data", str(tiny_dataset), "--split", "val"])
    assert code == 2 and "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(("kw", "needle"), [
    ({"threshold": 5.0}, "threshold=5.0: expected a similarity in [-1, 1]"),
    ({"target_k": 0.5}, "target_k=0.5: expected a number of neighbours >= 1"),
    ({"threshold": 0.5, "target_k": 3}, "not both"),
])
def test_bad_threshold_arguments_fail_before_loading(tmp_path, kw, needle):
    missing = tmp_path / "no_dataset"  # never loaded: the argument error comes first
    with pytest.raises(DataError, match=re.escape(needle)):
        appropriate_split(missing, "test", write=False, **kw)


@pytest.mark.parametrize(("target", "kw", "needle"), [
    ("dir", {"force": True}, "is a directory; expected a file path"),
    ("file/x.npy", {}, "cannot be created, "),
    ("x.npy", {"write": False}, "contradict each other"),
])
def test_bad_out_fails_before_loading(tmp_path, target, kw, needle):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match=re.escape(needle)):
        appropriate_split(tmp_path / "no_dataset", "test", out=tmp_path / target, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]
    assert not any((tmp_path / "dir").iterdir())
