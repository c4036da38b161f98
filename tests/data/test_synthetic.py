"""Properties of the synthetic generator: layout, ranges, FE sums, binary AUs, determinism."""

from __future__ import annotations

import filecmp
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactbench.data import layout, load_split
from reactbench.data.synthetic import (
    GENERATOR_VERSION,
    META_FILE,
    generate,
    parse_pairs,
    read_meta,
    read_truth,
    truth_matrix,
)
from reactbench.errors import DataError

FAST = settings(max_examples=4, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _all_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@FAST
@given(seed=st.integers(0, 2**31 - 1), pairs=st.integers(1, 3), frames=st.integers(100, 160))
def test_values_are_in_range(seed, pairs, frames):
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "d", pairs={"test": pairs}, frames=frames, seed=seed,
                        n_jobs=1)
        d = load_split(root, "test", frames=frames, cache=False)
        for emo in (d.speaker_emotion, d.listener_emotion):
            assert emo.shape == (2 * pairs, frames, 25)
            au, va, fe = emo[..., :15], emo[..., 15:17], emo[..., 17:]
            assert set(np.unique(au)) <= {0.0, 1.0}  # binary AUs
            assert np.all(np.abs(va) <= 1.0)
            assert np.all(fe >= 0) and np.allclose(fe.sum(-1), 1.0, atol=1e-3)
            assert np.all((au.max(axis=1) == 0).sum(axis=1) >= 1)  # some AUs never active
        assert d.speaker_3dmm.shape == (2 * pairs, frames, 58)
        assert np.isfinite(d.speaker_3dmm).all()
        assert np.all(np.diag(d.neighbours) == 1)
        np.testing.assert_array_equal(d.neighbours, read_truth(root, "test"))


@FAST
@given(seed=st.integers(0, 10**6))
def test_same_seed_same_files_other_seed_differs(seed):
    with tempfile.TemporaryDirectory() as tmp:
        kw = {"pairs": {"val": 1, "test": 2}, "frames": 100, "n_jobs": 1}
        a = generate(Path(tmp) / "a", seed=seed, **kw)
        b = generate(Path(tmp) / "b", seed=seed, **kw)
        c = generate(Path(tmp) / "c", seed=seed + 1, **kw)
        files = _all_files(a)
        assert files == _all_files(b) == _all_files(c)
        assert all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)
        data = [f for f in files if f.suffix in (".csv", ".npy", ".wav") and "Emotion" in str(f)]
        assert not all(filecmp.cmp(a / f, c / f, shallow=False) for f in data)


def test_official_layout_and_metadata(tiny_dataset, tiny_frames):
    import soundfile as sf

    meta = read_meta(tiny_dataset)
    assert meta["version"] == GENERATOR_VERSION and meta["frames"] == tiny_frames
    for split in ("train", "val", "test"):
        pairs = layout.read_split_csv(tiny_dataset, split)
        M = len(pairs)
        assert len(meta["rows"][split]["context"]) == 2 * M
        truth = read_truth(tiny_dataset, split)
        assert truth.shape == (2 * M, 2 * M) and np.array_equal(truth, truth.T)
        clip = pairs[0][0]
        info = sf.info(layout.audio_path(tiny_dataset, split, clip))
        assert info.samplerate == 16000 and info.channels == 1
        assert info.frames == tiny_frames * 640
    assert not layout.neighbour_path(tiny_dataset, "train").exists()
    assert json.loads((tiny_dataset / META_FILE).read_text())["truth"]["file"]


def test_au_sparsity_at_full_length(tmp_path):
    """30 s clips: 1 to about half of the 15 AUs never active in a clip, not most of them."""
    root = generate(tmp_path / "d", pairs={"test": 3}, frames=750, seed=11, n_jobs=1)
    au = load_split(root, "test", audio=False, cache=False).speaker_emotion[..., :15]
    never = (au.max(axis=1) == 0).sum(axis=1)
    assert np.all(never >= 1) and never.mean() <= 7
    assert 0.03 < au.mean() < 0.3


def test_truth_matrix_mirrored_order():
    t = truth_matrix(np.array([0, 1, 0]))
    # rows 0 and 2 share context 0 in the same orientation; row 3 (= pair 0 mirrored) does not
    assert t[0, 2] == 1 and t[3, 5] == 1 and t[0, 3] == 0 and t[0, 1] == 0
    assert np.all(np.diag(t) == 1)


def test_listener_reacts_to_speaker_with_lag(tiny_dataset):
    """Lagged speaker -> listener cross-correlation beats the zero-lag one (reactions lag)."""
    d = load_split(tiny_dataset, "train", audio=False)
    s = d.speaker_emotion[..., 15:17] - d.speaker_emotion[..., 15:17].mean(1, keepdims=True)
    li = d.listener_emotion[..., 15:17] - d.listener_emotion[..., 15:17].mean(1, keepdims=True)

    def xc(lag):
        return float((s[:, : s.shape[1] - lag] * li[:, lag:]).mean())

    assert max(xc(lag) for lag in range(5, 50)) > xc(0)


def test_bad_arguments(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DataError, match="not empty"):
        generate(tmp_path / "full", pairs={"test": 1}, frames=100)
    with pytest.raises(DataError, match="at least 100 frames"):
        generate(tmp_path / "a", pairs={"test": 1}, frames=50)
    with pytest.raises(DataError, match="unknown split"):
        parse_pairs("dev=3")
    with pytest.raises(DataError, match="split=COUNT"):
        parse_pairs("train")
    with pytest.raises(DataError, match="integer"):
        parse_pairs("train=x")
    with pytest.raises(DataError, match="positive"):
        parse_pairs("train=0")
    assert parse_pairs("train=5, test=2") == {"train": 5, "test": 2}
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("text, match", [("test=2,test=3", "given twice"),
                                         ("", "expected split=COUNT"), (",", "expected split")])
def test_parse_pairs_refuses_duplicates_and_nothing(text, match):
    with pytest.raises(DataError, match=match):
        parse_pairs(text)


@pytest.mark.parametrize("kw, match", [({"contexts": -1}, "contexts=-1: expected 1 to 2"),
                                       ({"contexts": 0}, "contexts=0: expected 1 to 2"),
                                       ({"contexts": 3}, "contexts=3: expected 1 to 2"),
                                       ({"seed": -1}, "seed=-1")])
def test_bad_contexts_and_seed(tmp_path, kw, match):
    with pytest.raises(DataError, match=match):
        generate(tmp_path / "d", pairs={"test": 2}, frames=100, n_jobs=1, **kw)
    assert not (tmp_path / "d").exists()
