"""Session-pool target lists (ids identical to direct random.Random use), linear alignment."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactbench.data import mars_layout as ml
from reactbench.data.mars import load_clips
from reactbench.data.targets import (
    DEVIATIONS,
    align_linear,
    attributes_sha256,
    build_targets,
    ids_sha256,
    select_targets,
)
from reactbench.errors import DataError
from tests.data._mars import attributes, write_clip, write_tree


def _pools(sizes: dict[str, int]) -> dict[str, list[str]]:
    """Both roles of sessions with ``sizes[session]`` dyads (stems c00, c01, ...)."""
    return {f"{role}/{s}": [f"{role}/{s}/c{i:02d}" for i in range(n)]
            for s, n in sizes.items() for role in ml.ROLES}


def _reference(inputs: list[str], pools: dict[str, list[str]], seed: int = 1234
               ) -> list[list[str]]:
    """The documented rule written out with random.Random directly."""
    rng = random.Random(seed)
    out = []
    for cid in inputs:
        role, session, stem = cid.split("/")
        other_role = "listener" if role == "speaker" else "speaker"
        paired = f"{other_role}/{session}/{stem}"
        cands = [c for c in pools[f"{other_role}/{session}"] if c != paired]
        if len(cands) >= 9:
            out.append([paired] + rng.sample(cands, 9))
        elif cands:
            out.append([paired] + rng.choices(cands, k=9))
        else:
            out.append([paired] * 10)
    return out


SIZES = {"ses0": 14, "ses1": 4, "ses10": 1, "ses2": 10, "ses3": 2}


def test_ids_equal_direct_random_use():
    pools = _pools(SIZES)
    inputs = [c for s in sorted(SIZES) for c in pools[f"speaker/{s}"]]
    ids = select_targets(inputs, pools)
    assert ids == _reference(inputs, pools)
    for cid, row in zip(inputs, ids):
        assert len(row) == 10 and row[0] == cid.replace("speaker/", "listener/")
        assert cid not in row and all(r.startswith("listener/" + cid.split("/")[1]) for r in row)
    big = [r for c, r in zip(inputs, ids) if c.startswith("speaker/ses0/")]
    assert all(len(set(r)) == 10 for r in big)  # >= 9 others: no repeats
    lone = [r for c, r in zip(inputs, ids) if c.startswith("speaker/ses10/")]
    assert lone == [["listener/ses10/c00"] * 10]
    assert ids_sha256(ids) == hashlib.sha256(
        json.dumps(ids, separators=(",", ":")).encode()).hexdigest()


def test_bidirectional_inputs_draw_from_the_speaker_pool():
    pools = _pools(SIZES)
    inputs = [c for role in ml.ROLES for s in sorted(SIZES) for c in pools[f"{role}/{s}"]]
    ids = select_targets(inputs, pools)
    assert ids == _reference(inputs, pools)
    n = len(inputs) // 2
    assert all(r[0].startswith("speaker/") and all(x.startswith("speaker/") for x in r)
               for r in ids[n:])


def test_sample_order_decides_the_draws():
    pools = _pools(SIZES)
    inputs = [c for s in sorted(SIZES) for c in pools[f"speaker/{s}"]]
    ids = select_targets(inputs, pools)
    rev = select_targets(inputs[::-1], pools)
    assert rev == _reference(inputs[::-1], pools) and rev[::-1] != ids
    assert select_targets(inputs, pools, seed=7) == _reference(inputs, pools, seed=7) != ids


def test_file_creation_order_does_not_matter(tmp_path):
    """Pools are listed sorted, whatever order the files were written in."""
    dyads = {"ses0": [60] * 12, "ses1": [60] * 3}
    a = write_tree(tmp_path / "a", dyads)
    b = tmp_path / "b"
    order = [(s, i, r) for s, ls in dyads.items() for i in range(len(ls)) for r in ml.ROLES]
    random.Random(5).shuffle(order)
    for s, i, role in order:
        write_clip(b, "test", f"{role}/{s}/d{i}", 60, seed=i)
    ta, tb = (build_targets(load_clips(r, "test")) for r in (a, b))
    assert ta.ids == tb.ids and ta.metadata["ids_sha256"] == tb.metadata["ids_sha256"]
    pools = ml.session_pools(a, "test")
    assert ta.ids == _reference(load_clips(a, "test").sample_ids, pools)


def test_build_targets_shapes_and_metadata(tmp_path):
    root = write_tree(tmp_path / "m", {"ses0": [60, 90, 150], "ses1": [70]})
    d = load_clips(root, "test")
    t = build_targets(d)
    assert [x.shape for x in t.targets] == [(10, n, 25) for n in d.lengths]
    assert all(x.dtype == np.float32 for x in t.targets)
    for k in range(d.n):
        np.testing.assert_array_equal(t.targets[k][0], d.listener_emotion[k])
    assert t.metadata == {"rule": "session-pool", "seed": 1234, "k": 10, "gt_align": "linear",
                          "deviation": DEVIATIONS["linear"], "ids_sha256": ids_sha256(t.ids)}
    assert t.ids[3] == ["listener/ses1/d0"] * 10
    with pytest.raises(DataError, match="gt_align"):
        build_targets(d, gt_align="crop")
    with pytest.raises(DataError, match="checkpoint"):
        build_targets(d, gt_align="emotionvae")
    with pytest.raises(DataError, match="k=0"):
        build_targets(d, k=0)


def test_build_targets_from_given_ids_and_the_attributes_hash(tmp_path):
    root = write_tree(tmp_path / "m", {"ses0": [60, 90, 150]})
    d = load_clips(root, "test")
    drawn = build_targets(d)
    ids = [row[::-1] for row in drawn.ids]
    again = build_targets(d, ids=ids)
    assert again.ids == ids and again.metadata["ids_sha256"] == ids_sha256(ids)
    assert np.array_equal(again.targets[0][-1], drawn.targets[0][0])
    clips = sorted(d.attributes)
    h = attributes_sha256(d.attributes, clips)
    assert h == attributes_sha256(dict(reversed(list(d.attributes.items()))), clips + clips[:1])
    changed = dict(d.attributes)
    changed[clips[0]] = changed[clips[0]].copy()
    changed[clips[0]][3, 16] += 1e-3
    assert attributes_sha256(changed, clips) != h
    assert attributes_sha256(d.attributes, clips[1:]) != h


def test_linear_equal_length_is_unchanged():
    x = attributes(80, 1).astype(np.float32)
    y = align_linear(x, 80)
    assert y.dtype == np.float32 and np.array_equal(y, x) and y is not x


def test_linear_endpoints_and_midpoints():
    x = attributes(5, 2)
    y = align_linear(x, 9)  # positions 0, 0.5, 1, ..., 4
    np.testing.assert_allclose(y[::2, 15:], x[:, 15:].astype(np.float32), rtol=0, atol=0)
    np.testing.assert_allclose(y[1, 15:], ((x[0, 15:] + x[1, 15:]) / 2).astype(np.float32))
    assert np.array_equal(y[1, :15], ((x[0, :15] + x[1, :15]) / 2 >= 0.5).astype(np.float32))
    assert align_linear(x[:1], 4).shape == (4, 25)
    assert np.array_equal(align_linear(x, 1)[0, 15:], x[0, 15:].astype(np.float32))


@settings(max_examples=40, deadline=None)
@given(src=st.integers(1, 300), dst=st.integers(1, 300), seed=st.integers(0, 10_000))
def test_linear_alignment_properties(src, dst, seed):
    x = attributes(src, seed)
    y = align_linear(x, dst)
    assert y.shape == (dst, 25) and y.dtype == np.float32
    assert set(np.unique(y[:, :15])) <= {0.0, 1.0}
    np.testing.assert_allclose(y[:, 17:].sum(axis=1), 1.0, atol=1e-6)
    assert y[:, 15:17].min() >= x[:, 15:17].min() - 1e-6
    assert y[:, 15:17].max() <= x[:, 15:17].max() + 1e-6
