"""``check_dataset`` and ``data check`` (reactbench.data.check): every problem the loader refuses
is listed with its file, and the same frame rules apply; inputs the loader accepts are warned
about; shapes and headers the official code accepts pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactbench.cli import main
from reactbench.data import layout, load_split
from reactbench.data.check import GROSS_RANGE_MARGIN, check_dataset, dataset_report, split_report
from reactbench.errors import DataError
from tests.data.damage import (
    BAD_INPUTS,
    clip_files,
    face_wrong_width,
    first_clip,
    neighbour_wrong_size,
)


def _edit_emotion(root, edits):
    """Set cells of the first clip's Emotion CSV: {(frame, column): text}."""
    p = layout.emotion_path(root, "test", first_clip(root))
    lines = p.read_text().splitlines()
    for (frame, col), text in edits.items():
        cells = lines[frame + 1].split(",")
        cells[col] = text
        lines[frame + 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p


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


def test_leading_singleton_3dmm_axis_is_squeezed(micro_copy):
    p = layout.face_path(micro_copy, "test", first_clip(micro_copy))
    face = np.load(p)
    np.save(p, face[None])  # (1, T, 58), as the official .squeeze() accepts
    np.testing.assert_array_equal(layout.read_3dmm(p), face.astype(np.float32))
    d = load_split(micro_copy, "test", audio=False, cache=False)
    np.testing.assert_array_equal(d.speaker_3dmm[0], face.astype(np.float32))
    assert check_dataset(micro_copy, n_jobs=1) == []


def test_long_audio_warns_with_seconds_and_frames(micro_copy):
    import soundfile as sf

    p = layout.audio_path(micro_copy, "test", first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, np.concatenate([y, y, y[: len(y) // 2]]), sr)  # 10 s for a 4 s clip
    load_split(micro_copy, "test", cache=False)  # accepted: cut to the clip
    report = dataset_report(micro_copy, n_jobs=1)
    assert report.errors == []
    [(f, m)] = report.warnings
    assert f == str(p)
    assert "audio lasts 10.00 s (250 frames at 25 fps)" in m and "has 100 frames (4.00 s)" in m


def test_check_applies_frames_to_modality_lengths_like_the_loader(micro_copy):
    clip = first_clip(micro_copy)
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

    p = layout.audio_path(micro_copy, "test", first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, y[: int(sr * 2.4)], sr)  # 60 frames of a 100-frame clip
    load_split(micro_copy, "test", frames=60, cache=False)
    assert check_dataset(micro_copy, frames=60, n_jobs=1) == []
    assert any(f == str(p) and "expected at least 3.20 s" in m
               for f, m in check_dataset(micro_copy, frames=80, n_jobs=1))


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
    fp = layout.face_path(micro_copy, "test", first_clip(micro_copy))
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

    clip = first_clip(micro_copy)
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


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=lambda f: f.__name__)
def test_check_lists_the_problem_with_its_file(micro_copy, damage):
    path, expected = damage(micro_copy)
    problems = check_dataset(micro_copy, n_jobs=1)
    assert any(f == str(path) and expected in m for f, m in problems), problems


def test_check_lists_every_problem_not_just_the_first(micro_copy):
    paths = {str(f(micro_copy)[0]) for f in (face_wrong_width, neighbour_wrong_size)}
    p = layout.emotion_path(micro_copy, "test", layout.read_split_csv(micro_copy, "test")[1][1])
    lines = p.read_text().splitlines()
    cells = lines[4].split(",")
    cells[15] = "1.7"  # valence out of range
    lines[4] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    problems = check_dataset(micro_copy, n_jobs=1)
    files = {f for f, _ in problems}
    assert paths | {str(p)} <= files
    assert any("outside [-1, 1]" in m for f, m in problems if f == str(p))


def test_frame_mismatch_between_modalities(micro_copy):
    clip = first_clip(micro_copy)
    p = layout.face_path(micro_copy, "test", clip)
    np.save(p, np.load(p)[:80])
    problems = check_dataset(micro_copy, n_jobs=1)
    assert any(f == str(p) and "80 frames" in m for f, m in problems)
    with pytest.raises(DataError, match="80 frames"):
        load_split(micro_copy, "test", cache=False)


def test_short_audio(micro_copy):
    import soundfile as sf

    p = layout.audio_path(micro_copy, "test", first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, y[: sr], sr)  # 1 s of a 4 s clip
    with pytest.raises(DataError, match="expected at least 4.00 s"):
        load_split(micro_copy, "test", cache=False)
    assert any(f == str(p) and "audio lasts 1.00 s" in m for f, m in check_dataset(micro_copy))


def test_missing_directory_and_split(tmp_path):
    with pytest.raises(DataError, match="dataset directory not found"):
        load_split(tmp_path / "nope", "test")
    with pytest.raises(DataError, match="split list not found"):
        load_split(tmp_path, "test")
    with pytest.raises(DataError, match="unknown split"):
        load_split(tmp_path, "dev")
    assert check_dataset(tmp_path / "nope") == [(str(tmp_path / "nope"),
                                                 "dataset directory not found")]
    assert "no split list" in check_dataset(tmp_path)[0][1]


def test_clean_dataset_has_no_problems(micro_dataset, tiny_dataset):
    from reactbench.data.check import dataset_report

    for root in (micro_dataset, tiny_dataset):
        report = dataset_report(root, n_jobs=1)
        assert report.errors == [] and report.warnings == [], report


def test_video_frames_are_optional_and_only_noted(micro_copy):
    """Missing frame folders, .mp4 files or an empty Video_files are no problem (nothing reads
    pixels); a frames folder shorter than the Emotion CSV is a warning."""
    from reactbench.data.check import dataset_report

    (micro_copy / "test" / layout.VIDEO_DIR).mkdir()  # empty Video_files
    assert check_dataset(micro_copy) == []
    pairs = layout.read_split_csv(micro_copy, "test")
    clips = [c for p in pairs for c in p]
    mp4 = layout.video_path(micro_copy, "test", clips[0]).with_suffix(".mp4")
    mp4.parent.mkdir(parents=True)
    mp4.write_bytes(b"")
    for c in clips[1:]:
        v = layout.video_path(micro_copy, "test", c)
        v.mkdir(parents=True)
        for i in range(1, 101):
            (v / f"{i}.png").write_bytes(b"")
    short = layout.video_path(micro_copy, "test", clips[1])
    (short / "100.png").unlink()
    report = dataset_report(micro_copy)
    assert report.errors == []
    assert [f for f, _ in report.warnings] == [str(short)]
    assert "99 video frames, expected at least 100" in report.warnings[0][1]
    assert any("video frames folders for 3 of 4 clips" in m for _, m in report.notes)
    assert load_split(micro_copy, "test", cache=False).video_dirs is None  # not all present


@pytest.mark.parametrize("longer", ["face", "emotion"])
def test_modalities_of_different_lengths_are_not_trimmed(micro_copy, longer):
    """Emotion and 3DMM of different lengths: both are cut when both reach --frames (the
    official [:750] cut); otherwise one would be trimmed to match the other, an error naming
    both files."""
    ep, fp = clip_files(micro_copy)
    if longer == "face":
        face = np.load(fp)
        np.save(fp, np.concatenate([face, face[:20]]))
        counts, frames = ("120 frames", "has 100"), None
    else:
        lines = ep.read_text().splitlines()
        ep.write_text("\n".join(lines[:91]) + "\n")  # header + 90 frames
        counts, frames = ("100 frames", "has 90"), 95
    cut = load_split(micro_copy, "test", frames=80, audio=False, cache=False)
    assert cut.frames == 80
    with pytest.raises(DataError) as info:
        load_split(micro_copy, "test", frames=frames, audio=False, cache=False)
    msg = str(info.value)
    assert str(ep) in msg and str(fp) in msg and all(c in msg for c in counts), msg
    assert any(f == str(fp) for f, _ in check_dataset(micro_copy, n_jobs=1))


@pytest.mark.parametrize("frames", [0, -5, 2.5])
def test_frames_must_be_positive(micro_dataset, frames):
    with pytest.raises(DataError, match="frames="):
        load_split(micro_dataset, "test", frames=frames, audio=False, cache=False)
    with pytest.raises(DataError, match="frames="):
        check_dataset(micro_dataset, frames=frames)
