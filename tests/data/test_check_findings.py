"""Inputs the loader accepts but ``data check`` warns about, the interleaved neighbour-order
diagnostic, and shapes/headers the official code accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactbench.cli import main
from reactbench.data import layout, load_split
from reactbench.data.check import GROSS_RANGE_MARGIN, check_dataset, dataset_report, split_report
from reactbench.data.neighbour_check import ORDER_MIN_PAIRS, interleaved_signature
from reactbench.data.synthetic import TRUTH_FILE, truth_matrix
from reactbench.errors import DataError


def _first_clip(root):
    return layout.read_split_csv(root, "test")[0][0]


def _edit_emotion(root, edits):
    """Set cells of the first clip's Emotion CSV: {(frame, column): text}."""
    p = layout.emotion_path(root, "test", _first_clip(root))
    lines = p.read_text().splitlines()
    for (frame, col), text in edits.items():
        cells = lines[frame + 1].split(",")
        cells[col] = text
        lines[frame + 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p


def _interleave(nb):
    """A mirrored-order (2M, 2M) matrix rewritten in interleaved order (pair i at 2i, 2i+1)."""
    m = nb.shape[0] // 2
    rows = np.empty(2 * m, dtype=int)
    rows[0::2], rows[1::2] = np.arange(m), np.arange(m) + m
    return nb[np.ix_(rows, rows)]


def test_slightly_out_of_range_ground_truth_loads_and_warns(micro_copy):
    """FE summing to 0.97, VA 1.003 and an all-zero frame: the official code accepts any finite
    values, so the loader does (values unchanged) and ``data check`` only warns."""
    before = load_split(micro_copy, "test", audio=False, cache=False)
    fe = ["0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.2", "0.17"]  # sums to 0.97
    edits = {(3, 17 + i): v for i, v in enumerate(fe)}
    edits[5, 15] = "1.003"
    edits.update({(7, c): "0" for c in range(25)})
    p = _edit_emotion(micro_copy, edits)
    after = load_split(micro_copy, "test", audio=False, cache=False)
    want = before.speaker_emotion[0].copy()
    for (frame, col), text in edits.items():
        want[frame, col] = float(text)
    np.testing.assert_array_equal(after.speaker_emotion[0], want)
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    msgs = [m for f, m in report.warnings if f == str(p)]
    assert any("slightly outside [-1, 1], first 1.003 at frame 5 column 15" in m for m in msgs)
    assert any("2 frame(s) whose 8 FE probabilities do not sum to 1 (first: frame 3" in m
               for m in msgs), msgs
    assert main(["data", "check", str(micro_copy)]) == 0  # warnings do not fail the check


@pytest.mark.parametrize("col, value", [(2, 1 + GROSS_RANGE_MARGIN + 0.01), (15, -1.7),
                                        (20, 55.0)])
def test_grossly_out_of_range_ground_truth_is_refused(micro_copy, col, value):
    p = _edit_emotion(micro_copy, {(4, col): f"{value:g}"})
    with pytest.raises(DataError, match=f"first {value:g} at frame 4 column {col}") as info:
        load_split(micro_copy, "test", audio=False, cache=False)
    assert str(p) in str(info.value)
    assert any(f == str(p) and "outside" in m for f, m in check_dataset(micro_copy, n_jobs=1))


def test_pandas_default_header_is_a_header(micro_copy):
    p = layout.emotion_path(micro_copy, "test", _first_clip(micro_copy))
    lines = p.read_text().splitlines()
    before = layout.read_emotion(p)
    p.write_text("\n".join([",".join(str(i) for i in range(25))] + lines[1:]) + "\n")
    np.testing.assert_array_equal(layout.read_emotion(p), before)


def test_leading_singleton_3dmm_axis_is_squeezed(micro_copy):
    p = layout.face_path(micro_copy, "test", _first_clip(micro_copy))
    face = np.load(p)
    np.save(p, face[None])  # (1, T, 58), as the official .squeeze() accepts
    np.testing.assert_array_equal(layout.read_3dmm(p), face.astype(np.float32))
    d = load_split(micro_copy, "test", audio=False, cache=False)
    np.testing.assert_array_equal(d.speaker_3dmm[0], face.astype(np.float32))
    assert check_dataset(micro_copy, n_jobs=1) == []


def test_long_audio_warns_with_seconds_and_frames(micro_copy):
    import soundfile as sf

    p = layout.audio_path(micro_copy, "test", _first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, np.concatenate([y, y, y[: len(y) // 2]]), sr)  # 10 s for a 4 s clip
    load_split(micro_copy, "test", cache=False)  # accepted: cut to the clip
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    [(f, m)] = report.warnings
    assert f == str(p)
    assert "audio lasts 10.00 s (250 frames at 25 fps)" in m and "has 100 frames (4.00 s)" in m


def test_check_applies_frames_to_modality_lengths_like_the_loader(micro_copy):
    clip = _first_clip(micro_copy)
    fp = layout.face_path(micro_copy, "test", clip)
    face = np.load(fp)
    np.save(fp, np.concatenate([face, face[:20]]))  # 120 3DMM frames, 100 Emotion frames
    load_split(micro_copy, "test", frames=80, audio=False, cache=False)  # both cut to 80
    assert check_dataset(micro_copy, frames=80, n_jobs=1) == []
    assert any(f == str(fp) and "120 frames" in m for f, m in check_dataset(micro_copy, n_jobs=1))
    with pytest.raises(DataError, match="120 frames"):
        load_split(micro_copy, "test", frames=None, audio=False, cache=False)


def test_check_applies_frames_to_short_audio_like_the_loader(micro_copy):
    import soundfile as sf

    p = layout.audio_path(micro_copy, "test", _first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, y[: int(sr * 2.4)], sr)  # 60 frames of a 100-frame clip
    load_split(micro_copy, "test", frames=60, cache=False)
    assert check_dataset(micro_copy, frames=60, n_jobs=1) == []
    assert any(f == str(p) and "expected at least 3.20 s" in m
               for f, m in check_dataset(micro_copy, frames=80, n_jobs=1))


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


def test_repeated_clip_pairs_warn(micro_copy):
    pairs = layout.read_split_csv(micro_copy, "test")
    layout.write_split_csv(micro_copy, "test", [pairs[0], pairs[1], pairs[0][::-1]])
    csv_file = str(layout.split_csv_path(micro_copy, "test"))
    report = split_report(micro_copy, "test", n_jobs=1)
    [msg] = [m for f, m in report.warnings if f == csv_file]
    assert "pair 2" in msg and "repeats pair 0" in msg and "scored twice" in msg


def test_check_and_summary_accept_clips_all_shorter_than_frames(micro_copy, capsys):
    """No clip reaches --frames: the loader uses the clips' common length (100 here), so data
    check with that --frames finds no error, and data summary checks with its own --frames
    (a clip whose 3DMM is longer than its Emotion CSV is fine when both reach it)."""
    load_split(micro_copy, "test", frames=750, audio=False, cache=False)
    assert check_dataset(micro_copy, frames=750, n_jobs=1) == []
    fp = layout.face_path(micro_copy, "test", _first_clip(micro_copy))
    face = np.load(fp)
    np.save(fp, np.concatenate([face, face[:20]]))  # 120 3DMM frames, 100 Emotion frames
    load_split(micro_copy, "test", frames=80, audio=False, cache=False)
    assert main(["data", "summary", "--data", str(micro_copy), "--frames", "80"]) == 0
    assert "problem(s)" not in capsys.readouterr().out
    # clips of differing lengths, none reaching --frames: still an error, as in the loader
    np.save(fp, face[:90])
    with pytest.raises(DataError):
        load_split(micro_copy, "test", frames=750, audio=False, cache=False)
    assert any(f.endswith(".csv") and "90 frames, expected 100" in m
               for f, m in check_dataset(micro_copy, frames=750, n_jobs=1))


def test_unlistable_video_folder_is_a_warning(micro_copy, monkeypatch):
    """An unreadable (optional) frames folder is reported, not raised as a traceback."""
    import os

    from reactbench.data import check

    clip = _first_clip(micro_copy)
    vp = layout.video_path(micro_copy, "test", clip)
    vp.mkdir(parents=True, exist_ok=True)
    real = os.scandir

    def scandir(path="."):
        if Path(path) == vp:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(check.os, "scandir", scandir)
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    assert any(f == str(vp) and "cannot list the video frames folder (Permission denied)" in m
               for f, m in report.warnings), report.warnings


def test_neighbour_diagonal_zero_is_a_warning_the_loader_accepts(micro_copy):
    """The loader and the metrics accept a 0 on the diagonal (the official code includes self
    only through it), so data check warns instead of failing."""
    nb_file = layout.neighbour_path(micro_copy, "test")
    nb = np.load(nb_file)
    nb[1, 1] = 0
    nb[1, (1 + nb.shape[0] // 2) % nb.shape[0]] = 1  # the row keeps one appropriate reaction
    np.save(nb_file, nb)
    assert load_split(micro_copy, "test", audio=False, cache=False).neighbours[1, 1] == 0
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    assert any(f == str(nb_file) and "1 diagonal entr(y/ies) not 1 (first: row 1)" in m
               for f, m in report.warnings), report.warnings
