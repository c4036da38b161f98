"""The neighbour-order diagnostic (reactbench.data.neighbour_check): an interleaved neighbour matrix
is recognised by its signature and warned about by ``data check``."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.cli import main
from reactbench.data import layout
from reactbench.data.check import dataset_report
from reactbench.data.neighbour_check import ORDER_MIN_PAIRS, interleaved_signature
from reactbench.data.synthetic import TRUTH_FILE, truth_matrix


def _interleave(nb):
    """A mirrored-order (2M, 2M) matrix rewritten in interleaved order (pair i at 2i, 2i+1)."""
    m = nb.shape[0] // 2
    rows = np.empty(2 * m, dtype=int)
    rows[0::2], rows[1::2] = np.arange(m), np.arange(m) + m
    return nb[np.ix_(rows, rows)]


def _many_pairs(root, m):
    """Rewrite the micro dataset's test split as ``m`` pairs (its two pairs repeated), with a
    mirrored-order truth matrix of shuffled contexts (as the generator draws them); returns
    that matrix."""
    pairs = layout.read_split_csv(root, "test")
    layout.write_split_csv(root, "test", [pairs[i % 2] for i in range(m)])
    truth = truth_matrix(np.random.default_rng(1).permutation(np.arange(m) % 4))
    np.save(root / TRUTH_FILE.format(split="test"), truth)
    np.save(layout.neighbour_path(root, "test"), truth)
    return truth


def test_interleaved_neighbour_matrix_warns(micro_copy, capsys):
    truth = _many_pairs(micro_copy, ORDER_MIN_PAIRS)
    csv_file = str(layout.split_csv_path(micro_copy, "test"))  # repeated pairs: warned there
    assert [w for w in dataset_report(micro_copy, n_jobs=1).warnings if w[0] != csv_file] == []
    nb_file = layout.neighbour_path(micro_copy, "test")
    np.save(nb_file, _interleave(truth))
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    [(f, m)] = [w for w in report.warnings if w[0] != csv_file]
    assert f == str(nb_file) and "rows look interleaved" in m and "mirrored order" in m
    assert main(["data", "check", str(micro_copy)]) == 0
    assert f"{nb_file}: warning: rows look interleaved" in capsys.readouterr().out


def _official_like(rng, m, w=400, density=0.05):
    """A split matrix cut from a random global matrix in the four official blocks, the global
    matrix linking each clip to its role-swapped twin (i, i + W/2)."""
    g = (rng.random((w, w)) < density).astype(float)
    np.fill_diagonal(g, 1)
    g[np.arange(w // 2), np.arange(w // 2) + w // 2] = 1
    g[np.arange(w // 2) + w // 2, np.arange(w // 2)] = 1
    i = rng.choice(w // 2, m, replace=False)
    j = i + w // 2
    return np.block([[g[np.ix_(i, i)], g[np.ix_(i, j)]], [g[np.ix_(j, i)], g[np.ix_(j, j)]]])


@pytest.mark.parametrize("m", [ORDER_MIN_PAIRS, 40, 281])
def test_order_signature_on_known_structures(m):
    rng = np.random.default_rng(m)
    known = [_official_like(rng, m, w=4 * m)]
    if m >= 40:  # the synthetic truth's pattern is too faint to tell apart in fewer pairs
        known.append(truth_matrix(rng.permutation(np.arange(m) % (m // 4))))
    for nb in known:
        assert interleaved_signature(nb) is None
        assert "interleaved partner" in interleaved_signature(_interleave(nb))


def test_order_signature_ignores_unstructured_and_adjacent_rows():
    rng = np.random.default_rng(0)
    for _ in range(300):
        m = int(rng.integers(ORDER_MIN_PAIRS, 60))
        a = (rng.random((2 * m, 2 * m)) < rng.choice([0.02, 0.1, 0.3, 0.6])).astype(float)
        np.fill_diagonal(a, 1)
        assert interleaved_signature(a) is None
        assert interleaved_signature(np.maximum(a, a.T)) is None
    n = 2 * ORDER_MIN_PAIRS * 2  # consecutive CSV rows alike (clips of one session)
    adjacent = np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    assert interleaved_signature(adjacent) is None
    small = _interleave(truth_matrix(np.arange(ORDER_MIN_PAIRS - 1) % 3))
    assert interleaved_signature(small) is None  # too few pairs to tell
